//! The process at the other end of a loopback TCP connection when it is not traced: from the
//! core's socket table with its owners (the collector), looked up lazily and cached.
//!
//! A client's other end is whoever listens on the port it connected to: one lookup per
//! port. A server's other end (a client not traced) is another socket each time; the table
//! is taken again for it at most once a second and at most 2% of the time, and a
//! connection the table has not seen yet goes unnamed.

use sockscope_core::Netid;
use sockscope_core::hosts::LiveHost;
use sockscope_core::lookup::SocketLookup;
use sockscope_core::model::StateSet;
use sockscope_core::process::Processes;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The process at the other end of a local connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Peer {
    pub pid: i32,
    pub comm: String,
}

pub struct Outside {
    lookup: SocketLookup,
    processes: Processes,
    /// Listening endpoint → the process listening there (None: nobody sockscope can see).
    listeners: HashMap<SocketAddr, Option<Peer>>,
    /// Whether a process shares sockscope's network namespace (only then is sockscope's
    /// table the one its connections are in).
    same_netns: HashMap<i32, bool>,
}

impl Default for Outside {
    fn default() -> Self {
        Outside {
            lookup: SocketLookup::new(&LiveHost::default(), &[Netid::Tcp], StateSet::ALL),
            processes: Processes::default(),
            listeners: HashMap::new(),
            same_netns: HashMap::new(),
        }
    }
}

impl Outside {
    /// The process holding the other end of `tgid`'s connection `local` → `remote`: the
    /// socket at `remote` connected to `local`, else (not accepted yet, or gone) whoever
    /// listens at `remote` — then every connection to it has that owner.
    pub fn peer(&mut self, tgid: i32, local: SocketAddr, remote: SocketAddr) -> Option<Peer> {
        if !remote.ip().to_canonical().is_loopback() || !self.in_our_netns(tgid) {
            return None;
        }
        if let Some(known) = self.listeners.get(&remote) {
            return known.clone();
        }
        let as_peer =
            |h: sockscope_core::lookup::Holder| Peer { pid: i32::try_from(h.pid).unwrap_or(0), comm: h.command };
        if let Some(holder) = self.lookup.connection(remote, local).and_then(|s| s.holder) {
            return Some(as_peer(holder));
        }
        // A listener whose holder cannot be seen now may be seen at a later look.
        let peer = as_peer(self.lookup.listener(remote)??);
        self.listeners.insert(remote, Some(peer.clone()));
        Some(peer)
    }

    fn in_our_netns(&mut self, tgid: i32) -> bool {
        let processes = &self.processes;
        *self.same_netns.entry(tgid).or_insert_with(|| {
            let theirs = u32::try_from(tgid).ok().and_then(|p| processes.netns(p));
            theirs.is_some() && theirs == processes.own_netns()
        })
    }
}
