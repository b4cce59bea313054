//! This network namespace's socket table with owners (the core's collector), taken lazily
//! and again only when something is not found in it: at most once a second, and never more
//! than 2% of the time (taking it on a host with 100k sockets takes a fifth of a second).
//! It names the owners of sockets the tracepoints cannot (listeners that existed before
//! sockscope started, connections first seen in softirq), tells whether a socket is in this
//! namespace at all, and gives the first time a socket was seen when only destroy records
//! are available.

use crate::Owner;
use sockscope_core::model::StateSet;
use sockscope_core::{Collector, LookupRefresh, Netid, Selection, Snapshot, SnapshotOptions, SockState};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// A socket in the table: who holds it, and in which state it was.
#[derive(Clone, Debug)]
pub struct Seen {
    pub owner: Option<Owner>,
    pub state: SockState,
    /// CLOCK_MONOTONIC ns of the first table that held it.
    pub first_ns: u64,
}

pub struct Table {
    collector: Collector,
    refresh: LookupRefresh,
    snap: Option<Arc<Snapshot>>,
    listeners: HashMap<SocketAddr, Option<Owner>>,
    connections: HashMap<(SocketAddr, SocketAddr), Seen>,
    cookies: HashMap<u64, Seen>,
}

impl Table {
    pub fn new(udp: bool) -> Table {
        let netids: &[Netid] = if udp { &[Netid::Tcp, Netid::Udp] } else { &[Netid::Tcp] };
        // TIME-WAIT sockets have no owner and are never asked about; a busy host holds tens of
        // thousands, so the kernel is asked to leave them out.
        let states = StateSet(StateSet::ALL.0 & !SockState::TimeWait.bit());
        let mut opts = SnapshotOptions::new(Selection::resolve(netids, &[], states));
        opts.owners = true;
        Table {
            collector: Collector::new(opts),
            refresh: LookupRefresh::default(),
            snap: None,
            listeners: HashMap::new(),
            connections: HashMap::new(),
            cookies: HashMap::new(),
        }
    }

    /// Takes the table now (for the first look, and for the periodic looks of the
    /// destroy-records-only mode).
    pub fn refresh(&mut self) {
        let started = Instant::now();
        let now = crate::monotonic_ns();
        let Ok(snap) = self.collector.collect() else { return };
        self.refresh.taken(started);
        self.listeners.clear();
        self.connections.clear();
        for s in &snap.sockets {
            let owner = snap
                .owners_of(s)
                .next()
                .map(|o| Owner { pid: o.process.pid, comm: Some(o.process.command.to_string()) });
            let (Some(local), peer) = (s.local.socket_addr(), s.peer.socket_addr()) else { continue };
            if s.state == SockState::Listen {
                self.listeners.insert(local, owner.clone());
            } else if let Some(peer) = peer {
                self.connections.insert((local, peer), Seen { owner: owner.clone(), state: s.state, first_ns: now });
            }
            if let Some(cookie) = s.cookie {
                let seen =
                    self.cookies.entry(cookie.get()).or_insert(Seen { owner: None, state: s.state, first_ns: now });
                seen.state = s.state;
                if owner.is_some() {
                    seen.owner = owner;
                }
            }
        }
        self.snap = Some(snap);
    }

    /// The owner of the listener a connection to `local` was accepted from: Some(None) when
    /// this namespace listens there but the owner cannot be seen, None when it does not
    /// listen there.
    pub fn listener(&mut self, local: SocketAddr) -> Option<Option<Owner>> {
        if let Some(found) = self.find_listener(local) {
            return Some(found);
        }
        if self.refresh.due() {
            self.refresh();
            return self.find_listener(local);
        }
        None
    }

    fn find_listener(&self, local: SocketAddr) -> Option<Option<Owner>> {
        listening_at(local).iter().find_map(|a| self.listeners.get(a).cloned())
    }

    /// A connection in this namespace with these ends (looked up again when absent).
    pub fn connection(&mut self, local: SocketAddr, peer: SocketAddr) -> Option<Seen> {
        if let Some(seen) = self.connections.get(&(local, peer)) {
            return Some(seen.clone());
        }
        if self.refresh.due() {
            self.refresh();
            return self.connections.get(&(local, peer)).cloned();
        }
        None
    }

    /// What the table knew of a socket by its cookie (taken out: the socket is gone).
    pub fn take_cookie(&mut self, cookie: u64) -> Option<Seen> {
        self.cookies.remove(&cookie)
    }

    /// Forgets cookies of sockets not in the last table that no destroy record claimed.
    pub fn prune(&mut self) {
        if let Some(snap) = &self.snap {
            let live: std::collections::HashSet<u64> =
                snap.sockets.iter().filter_map(|s| s.cookie.map(|c| c.get())).collect();
            if self.cookies.len() > 2 * live.len() + 1024 {
                self.cookies.retain(|c, _| live.contains(c));
            }
        }
    }
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
