//! The process at the other end of a loopback TCP connection when it is not traced: from the
//! core's socket table with its owners (the collector), looked up lazily and cached.
//!
//! A client's other end is whoever listens on the port it connected to: one lookup per
//! port. A server's other end (a client not traced) is another socket each time; the table
//! is taken again for it at most once a second and at most 2% of the time, and a
//! connection the table has not seen yet goes unnamed.

use sockscope_core::model::{Endpoint, SockState, StateSet};
use sockscope_core::{Collector, LookupRefresh, Netid, Selection, Snapshot, SnapshotOptions};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The process at the other end of a local connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Peer {
    pub pid: i32,
    pub comm: String,
}

pub struct Outside {
    collector: Collector,
    /// The table, taken again for a connection it does not hold as `LookupRefresh` allows.
    table: Option<Arc<Snapshot>>,
    refresh: LookupRefresh,
    /// Listening endpoint → the process listening there (None: nobody sockscope can see).
    listeners: HashMap<SocketAddr, Option<Peer>>,
    /// Whether a process shares sockscope's network namespace (only then is sockscope's
    /// table the one its connections are in).
    same_netns: HashMap<i32, bool>,
}

impl Default for Outside {
    fn default() -> Self {
        let mut opts = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], StateSet::ALL));
        opts.owners = true;
        Outside {
            collector: Collector::new(opts),
            table: None,
            refresh: LookupRefresh::default(),
            listeners: HashMap::new(),
            same_netns: HashMap::new(),
        }
    }
}

impl Outside {
    /// The process holding the other end of `tgid`'s connection `local` → `remote`.
    pub fn peer(&mut self, tgid: i32, local: SocketAddr, remote: SocketAddr) -> Option<Peer> {
        if !remote.ip().to_canonical().is_loopback() || !self.in_our_netns(tgid) {
            return None;
        }
        if let Some(known) = self.listeners.get(&remote) {
            return known.clone();
        }
        let mut found = self.find(local, remote);
        if found.is_none() && self.refresh.due() {
            let started = Instant::now();
            self.table = Some(self.collector.collect().ok()?);
            self.refresh.taken(started);
            found = self.find(local, remote);
        }
        let (pid, comm, listening) = found?;
        let peer = Peer { pid, comm };
        if listening {
            self.listeners.insert(remote, Some(peer.clone()));
        }
        Some(peer)
    }

    /// In the current table: the owner of the socket at `remote` connected to `local`, and
    /// whether `remote` is a listening port (then every connection to it has that owner).
    fn find(&self, local: SocketAddr, remote: SocketAddr) -> Option<(i32, String, bool)> {
        let snap = self.table.as_ref()?;
        let is = |e: &Endpoint, a: SocketAddr| matches!(e, Endpoint::Inet { address, port } if *port == a.port() && address.to_canonical() == a.ip().to_canonical());
        let owner = |s: &sockscope_core::Socket| {
            snap.owners_of(s).next().map(|o| (i32::try_from(o.process.pid).unwrap_or(0), o.process.command.to_string()))
        };
        if let Some(s) = snap.sockets.iter().find(|s| is(&s.local, remote) && is(&s.peer, local))
            && let Some((pid, comm)) = owner(s)
        {
            let listening = snap.sockets.iter().any(|l| l.state == SockState::Listen && is(&l.local, remote));
            return Some((pid, comm, listening));
        }
        // Not accepted yet (no file holds it), or gone: whoever listens there.
        let l = snap.sockets.iter().find(|l| {
            l.state == SockState::Listen
                && matches!(&l.local, Endpoint::Inet { address, port } if *port == remote.port() && (address.is_unspecified() || address.to_canonical() == remote.ip().to_canonical()))
        })?;
        let (pid, comm) = owner(l)?;
        Some((pid, comm, true))
    }

    fn in_our_netns(&mut self, tgid: i32) -> bool {
        *self.same_netns.entry(tgid).or_insert_with(|| {
            let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/net")).ok();
            ns(&tgid.to_string()).is_some_and(|theirs| Some(theirs) == ns("self"))
        })
    }
}
