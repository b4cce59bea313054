//! This network namespace's socket table with owners (the core's collector), taken lazily
//! and again only when something is not found in it: at most once a second, and never more
//! than 2% of the time (taking it on a host with 100k sockets takes a fifth of a second).
//! It names the owners of sockets the tracepoints cannot (listeners that existed before
//! sockscope started, connections first seen in softirq), tells whether a socket is in this
//! namespace at all, and gives the first time a socket was seen when only destroy records
//! are available.

use crate::Owner;
use sockscope_core::hosts::LiveHost;
use sockscope_core::lookup::{Holder, SocketLookup};
use sockscope_core::model::{Netns, StateSet};
use sockscope_core::{Netid, SockState};
use std::net::SocketAddr;

/// A socket in the table: who holds it, and in which state it was.
#[derive(Clone, Debug)]
pub struct Seen {
    pub owner: Option<Owner>,
    pub state: SockState,
    /// CLOCK_MONOTONIC ns of the first table that held it.
    pub first_ns: u64,
}

/// This network namespace's TCP (and UDP) sockets, through core's lookup.
pub struct Table(SocketLookup);

fn owner(h: Holder) -> Owner {
    Owner { pid: h.pid, comm: Some(h.command) }
}

fn seen(s: sockscope_core::lookup::Seen) -> Seen {
    Seen { owner: s.holder.map(owner), state: s.state, first_ns: s.first_ns }
}

impl Table {
    /// The table of network namespace `ns` (None: this process's).
    pub fn new(udp: bool, ns: Option<&Netns>) -> Table {
        let netids: &[Netid] = if udp { &[Netid::Tcp, Netid::Udp] } else { &[Netid::Tcp] };
        // TIME-WAIT sockets have no owner and are never asked about; a busy host holds tens of
        // thousands, so the kernel is asked to leave them out.
        let states = StateSet(StateSet::ALL.0 & !SockState::TimeWait.bit());
        Table(SocketLookup::in_namespace(&LiveHost::default(), netids, states, ns))
    }

    /// Takes the table now (for the first look, and for the periodic looks of the
    /// destroy-records-only mode).
    pub fn refresh(&mut self) {
        self.0.refresh();
    }

    /// The owner of the listener a connection to `local` was accepted from: Some(None) when
    /// this namespace listens there but the owner cannot be seen, None when it does not
    /// listen there.
    pub fn listener(&mut self, local: SocketAddr) -> Option<Option<Owner>> {
        self.0.listener(local).map(|h| h.map(owner))
    }

    /// A connection in this namespace with these ends (looked up again when absent).
    pub fn connection(&mut self, local: SocketAddr, peer: SocketAddr) -> Option<Seen> {
        self.0.connection(local, peer).map(seen)
    }

    /// What the table knew of a socket by its cookie (taken out: the socket is gone).
    pub fn take_cookie(&mut self, cookie: u64) -> Option<Seen> {
        self.0.take_cookie(cookie).map(seen)
    }

    /// Forgets cookies of sockets not in the last table that no destroy record claimed.
    pub fn prune(&mut self) {
        self.0.prune();
    }
}
