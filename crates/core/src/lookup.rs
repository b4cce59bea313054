//! "Which socket, and whose, is this?" for a connection's two ends or a listening address,
//! from a host's socket table with owners — the one lookup `trace` (the process at the other
//! end of a loopback connection) and `events` (owners the tracepoints cannot name) share.
//!
//! The table is taken lazily, and again only when something asked for is not in it, at most
//! as `LookupRefresh` allows (once a second, and never more than 2% of the time: taking it
//! on a host with 100k sockets takes a fifth of a second). Addresses are compared in their
//! canonical form, so an IPv4-mapped IPv6 address is its IPv4 address.

use crate::collector::LookupRefresh;
use crate::hosts::{Host, Refresh};
use crate::model::{Netid, SockState, StateSet};
use crate::select::Selection;
use crate::snapshot::{Snapshot, SnapshotOptions};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The process holding a socket (the first, when several do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
}

/// A socket in the table: who holds it (None: nobody this host lets us see), its state, the
/// CLOCK_MONOTONIC time of the first table that held it, and the inode of its network
/// namespace (`SEVERAL`: ends found in more than one, so neither whose nor where is known).
#[derive(Clone, Debug)]
pub struct Seen {
    pub holder: Option<Holder>,
    pub state: SockState,
    pub first_ns: u64,
    pub netns: u64,
}

/// `Seen::netns` of ends that more than one namespace's table holds.
pub const SEVERAL: u64 = 0;

pub struct SocketLookup {
    host: crate::hosts::LiveHost,
    opts: SnapshotOptions,
    refresh: Box<dyn Refresh>,
    policy: LookupRefresh,
    snap: Option<Arc<Snapshot>>,
    /// The namespace of sockets the dump does not label (one namespace read).
    default_netns: u64,
    /// Listening address → the namespaces listening there, with their holders.
    listeners: HashMap<SocketAddr, Vec<(u64, Option<Holder>)>>,
    connections: HashMap<(SocketAddr, SocketAddr), Seen>,
    cookies: HashMap<u64, Seen>,
}

impl SocketLookup {
    /// The `netids` sockets of `host` in `states`, with their owners.
    pub fn new(host: &crate::hosts::LiveHost, netids: &[Netid], states: StateSet) -> SocketLookup {
        SocketLookup::in_namespaces(host, netids, states, Vec::new())
    }

    /// The same, in the network namespaces `namespaces` (one table for them all: one walk of
    /// /proc for the owners) instead of the caller's (empty).
    pub fn in_namespaces(
        host: &crate::hosts::LiveHost,
        netids: &[Netid],
        states: StateSet,
        namespaces: Vec<crate::model::Netns>,
    ) -> SocketLookup {
        let mut opts = SnapshotOptions::new(Selection::resolve(netids, &[], states));
        opts.owners = true;
        opts.proc_root = host.proc_root().to_path_buf();
        let default_netns = match namespaces.as_slice() {
            [one] => one.inode,
            _ => crate::netns::own(&opts.proc_root).unwrap_or(SEVERAL),
        };
        opts.namespaces = namespaces;
        SocketLookup {
            host: host.clone(),
            refresh: host.refresher(opts.clone()),
            opts,
            policy: LookupRefresh::default(),
            snap: None,
            default_netns,
            listeners: HashMap::new(),
            connections: HashMap::new(),
            cookies: HashMap::new(),
        }
    }

    /// Reads these namespaces from the next table on (namespaces appeared or went away).
    pub fn set_namespaces(&mut self, namespaces: Vec<crate::model::Netns>) {
        let same = namespaces.len() == self.opts.namespaces.len()
            && namespaces.iter().zip(&self.opts.namespaces).all(|(a, b)| a.inode == b.inode);
        if !same {
            self.opts.namespaces = namespaces;
            self.refresh = self.host.refresher(self.opts.clone());
        }
    }

    /// Takes the table now. Returns whether it could be taken.
    pub fn refresh(&mut self) -> bool {
        let started = Instant::now();
        let now = monotonic_ns();
        let Ok(snap) = self.refresh.next() else { return false };
        self.policy.taken(started);
        self.listeners.clear();
        self.connections.clear();
        for s in &snap.sockets {
            let holder =
                snap.owners_of(s).next().map(|o| Holder { pid: o.process.pid, command: o.process.command.to_string() });
            let (Some(local), peer) = (s.local.socket_addr(), s.peer.socket_addr()) else { continue };
            let local = canonical(local);
            let netns = s.netns.map_or(self.default_netns, |n| n.get());
            if s.state == SockState::Listen {
                let at = self.listeners.entry(local).or_default();
                if !at.iter().any(|(n, _)| *n == netns) {
                    at.push((netns, holder.clone()));
                }
            } else if let Some(peer) = peer {
                let seen = Seen { holder: holder.clone(), state: s.state, first_ns: now, netns };
                match self.connections.entry((local, canonical(peer))) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(seen);
                    }
                    // The same ends in two namespaces (loopback in two containers): which one
                    // is asked about is not known.
                    std::collections::hash_map::Entry::Occupied(mut o) if o.get().netns != netns => {
                        *o.get_mut() = Seen { holder: None, netns: SEVERAL, ..seen };
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                }
            }
            if let Some(cookie) = s.cookie {
                let seen = self.cookies.entry(cookie.get()).or_insert(Seen {
                    holder: None,
                    state: s.state,
                    first_ns: now,
                    netns,
                });
                seen.state = s.state;
                if holder.is_some() {
                    seen.holder = holder;
                }
            }
        }
        self.snap = Some(snap);
        true
    }

    /// Whether a miss may take the table again now.
    fn may_refresh(&mut self) -> bool {
        self.policy.due() && self.refresh()
    }

    /// Who listens where a connection to `local` can have been accepted (`local` itself, or
    /// the wildcard of its port): Some(None) when something listens there but its holder
    /// cannot be seen, None when nothing does.
    pub fn listener(&mut self, local: SocketAddr) -> Option<Option<Holder>> {
        self.listeners(local).into_iter().next().map(|(_, holder)| holder)
    }

    /// Every namespace with a listener where a connection to `local` can have been accepted,
    /// with its holder (the table is taken again when there is none).
    pub fn listeners(&mut self, local: SocketAddr) -> Vec<(u64, Option<Holder>)> {
        let found = self.find_listeners(local);
        if found.is_empty() && self.may_refresh() {
            return self.find_listeners(local);
        }
        found
    }

    /// The same from the table as it is (never taken again).
    pub fn known_listeners(&self, local: SocketAddr) -> Vec<(u64, Option<Holder>)> {
        self.find_listeners(local)
    }

    fn find_listeners(&self, local: SocketAddr) -> Vec<(u64, Option<Holder>)> {
        let mut found: Vec<(u64, Option<Holder>)> = Vec::new();
        for at in listening_at(canonical(local)).iter().filter_map(|a| self.listeners.get(a)) {
            for (netns, holder) in at {
                if !found.iter().any(|(n, _)| n == netns) {
                    found.push((*netns, holder.clone()));
                }
            }
        }
        found
    }

    /// The connected socket with these ends (the table is taken again when it is absent).
    pub fn connection(&mut self, local: SocketAddr, peer: SocketAddr) -> Option<Seen> {
        let key = (canonical(local), canonical(peer));
        if let Some(seen) = self.connections.get(&key) {
            return Some(seen.clone());
        }
        if self.may_refresh() {
            return self.connections.get(&key).cloned();
        }
        None
    }

    /// What the table knew of a socket by its cookie (taken out: the socket is gone).
    pub fn take_cookie(&mut self, cookie: u64) -> Option<Seen> {
        self.cookies.remove(&cookie)
    }

    /// Forgets cookies of sockets not in the last table that no one took.
    pub fn prune(&mut self) {
        if let Some(snap) = &self.snap {
            let live: HashSet<u64> = snap.sockets.iter().filter_map(|s| s.cookie.map(|c| c.get())).collect();
            if self.cookies.len() > 2 * live.len() + 1024 {
                self.cookies.retain(|c, _| live.contains(c));
            }
        }
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// The listening addresses a connection to `local` can have been accepted from: the address
/// itself, and the IPv4 and IPv6 wildcards of its port.
pub fn listening_at(local: SocketAddr) -> [SocketAddr; 3] {
    let port = local.port();
    [
        local,
        SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port),
        SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), port),
    ]
}

/// CLOCK_MONOTONIC now, in ns (what tracepoint records are stamped with).
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_and_its_listener_are_found_by_their_ends() {
        // The test's own sockets, in a table of this host (its namespace may be shared with
        // others: only what it made is asked for).
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = l.local_addr().unwrap();
        let c = std::net::TcpStream::connect(at).unwrap();
        let (_s, _) = l.accept().unwrap();
        let mine = c.local_addr().unwrap();
        let host = crate::hosts::LiveHost::default();
        let mut lookup = SocketLookup::new(&host, &[Netid::Tcp], StateSet::ALL);
        let me = std::process::id();
        let seen = lookup.connection(mine, at).expect("the client's socket");
        assert_eq!(seen.state, SockState::Established);
        assert_eq!(seen.holder.map(|h| h.pid), Some(me));
        assert_eq!(lookup.listener(at).flatten().map(|h| h.pid), Some(me));
        let mapped: SocketAddr = format!("[::ffff:127.0.0.1]:{}", at.port()).parse().unwrap();
        assert_eq!(lookup.listener(mapped).flatten().map(|h| h.pid), Some(me), "IPv4-mapped is IPv4");
        // A port nothing listens on: none, without a second look inside a second.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert!(lookup.listener(closed).is_none());
    }
}
