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

/// A socket in the table: who holds it (None: nobody this host lets us see), its state, and
/// the CLOCK_MONOTONIC time of the first table that held it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub holder: Option<Holder>,
    pub state: SockState,
    pub first_ns: u64,
}

pub struct SocketLookup {
    refresh: Box<dyn Refresh>,
    policy: LookupRefresh,
    snap: Option<Arc<Snapshot>>,
    listeners: HashMap<SocketAddr, Option<Holder>>,
    connections: HashMap<(SocketAddr, SocketAddr), Seen>,
    cookies: HashMap<u64, Seen>,
}

impl SocketLookup {
    /// The `netids` sockets of `host` in `states`, with their owners.
    pub fn new(host: &dyn Host, netids: &[Netid], states: StateSet) -> SocketLookup {
        SocketLookup::in_namespace(host, netids, states, None)
    }

    /// The same, in network namespace `ns` instead of the caller's.
    pub fn in_namespace(
        host: &dyn Host,
        netids: &[Netid],
        states: StateSet,
        ns: Option<&crate::model::Netns>,
    ) -> SocketLookup {
        let mut opts = SnapshotOptions::new(Selection::resolve(netids, &[], states));
        opts.owners = true;
        opts.proc_root = host.proc_root().to_path_buf();
        opts.namespaces = ns.into_iter().cloned().collect();
        SocketLookup {
            refresh: host.refresher(opts),
            policy: LookupRefresh::default(),
            snap: None,
            listeners: HashMap::new(),
            connections: HashMap::new(),
            cookies: HashMap::new(),
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
            if s.state == SockState::Listen {
                self.listeners.insert(local, holder.clone());
            } else if let Some(peer) = peer {
                let seen = Seen { holder: holder.clone(), state: s.state, first_ns: now };
                self.connections.insert((local, canonical(peer)), seen);
            }
            if let Some(cookie) = s.cookie {
                let seen =
                    self.cookies.entry(cookie.get()).or_insert(Seen { holder: None, state: s.state, first_ns: now });
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
        if let Some(found) = self.find_listener(local) {
            return Some(found);
        }
        if self.may_refresh() {
            return self.find_listener(local);
        }
        None
    }

    fn find_listener(&self, local: SocketAddr) -> Option<Option<Holder>> {
        listening_at(canonical(local)).iter().find_map(|a| self.listeners.get(a).cloned())
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
