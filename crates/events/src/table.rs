//! The followed network namespaces' socket table with owners (the core's collector), taken
//! lazily and again only when something is not found in it: at most once a second, and never
//! more than 2% of the time (taking it on a host with 100k sockets takes a fifth of a
//! second). It names the owners of sockets the tracepoints cannot (listeners that existed
//! before sockscope started, connections first seen in softirq), tells in which followed
//! namespace a socket is, if any, and gives the first time a socket was seen when only
//! destroy records are available.

use crate::Owner;
use sockscope_core::hosts::LiveHost;
use sockscope_core::lookup::{Holder, SEVERAL, SocketLookup};
use sockscope_core::model::{Netns, StateSet};
use sockscope_core::{Netid, SockState};
use std::net::SocketAddr;

/// A socket in the table: who holds it, in which state it was, and in which namespace.
#[derive(Clone, Debug)]
pub struct Seen {
    pub owner: Option<Owner>,
    pub state: SockState,
    /// CLOCK_MONOTONIC ns of the first table that held it.
    pub first_ns: u64,
    /// Its network namespace's inode; None when its ends are in several namespaces' tables.
    pub netns: Option<u64>,
}

/// The followed namespaces' TCP (and UDP) sockets, through core's lookup.
pub struct Table(SocketLookup);

fn owner(h: Holder) -> Owner {
    Owner { pid: h.pid, comm: Some(h.command) }
}

fn seen(s: sockscope_core::lookup::Seen) -> Seen {
    let netns = (s.netns != SEVERAL).then_some(s.netns);
    Seen { owner: s.holder.map(owner), state: s.state, first_ns: s.first_ns, netns }
}

impl Table {
    /// The table of the network namespaces `namespaces` (empty: this process's).
    pub fn new(udp: bool, namespaces: Vec<Netns>) -> Table {
        let netids: &[Netid] = if udp { &[Netid::Tcp, Netid::Udp] } else { &[Netid::Tcp] };
        // TIME-WAIT sockets have no owner and are never asked about; a busy host holds tens of
        // thousands, so the kernel is asked to leave them out.
        let states = StateSet(StateSet::ALL.0 & !SockState::TimeWait.bit());
        Table(SocketLookup::in_namespaces(&LiveHost::default(), netids, states, namespaces))
    }

    /// Follows these namespaces from the next table on.
    pub fn set_namespaces(&mut self, namespaces: Vec<Netns>) {
        self.0.set_namespaces(namespaces);
    }

    /// Takes the table now (for the first look, and for the periodic looks of the
    /// destroy-records-only mode).
    pub fn refresh(&mut self) {
        self.0.refresh();
    }

    /// The namespaces listening where a connection to `local` can have been accepted, with
    /// the owner of each listener (None when it cannot be seen); with `may_look`, the table
    /// is taken again when none does.
    pub fn listeners(&mut self, local: SocketAddr, may_look: bool) -> Vec<(u64, Option<Owner>)> {
        let found = if may_look { self.0.listeners(local) } else { self.0.known_listeners(local) };
        found.into_iter().map(|(ns, h)| (ns, h.map(owner))).collect()
    }

    /// A connection with these ends (looked up again when absent).
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
