//! One consistent look at the host: the selected sockets, and (when asked) who holds them.

use crate::model::{Endpoint, Netid, Owner, OwnerIndex, Socket};
use crate::netlink::{DiagSocket, NetlinkError};
use crate::procfs::{self, ProcError};
use crate::select::Selection;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// Where socket tables are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// sock_diag, falling back to /proc/net for any table it cannot dump (with a warning).
    Auto,
    /// sock_diag only; fail if it is unavailable.
    Netlink,
    /// /proc/net only.
    Proc,
}

#[derive(Clone, Debug)]
pub struct SnapshotOptions {
    pub selection: Selection,
    pub source: Source,
    /// Build the inode → owners index (one pass over /proc/*/fd).
    pub owners: bool,
    /// Root of procfs; `/proc` except in tests.
    pub proc_root: PathBuf,
}

impl SnapshotOptions {
    pub fn new(selection: Selection) -> SnapshotOptions {
        SnapshotOptions { selection, source: Source::Auto, owners: false, proc_root: PathBuf::from("/proc") }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Proc(#[from] ProcError),
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub sockets: Vec<Socket>,
    pub owners: Option<OwnerIndex>,
    /// Things the user should know about how complete this is (fallbacks, interrupted dumps).
    pub warnings: Vec<String>,
}

impl Snapshot {
    pub fn collect(opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError> {
        let mut snap = Snapshot::default();
        let sel = &opts.selection;
        if !sel.is_empty() {
            let net_dir = opts.proc_root.join("net");
            match opts.source {
                Source::Proc => procfs::net::collect(&net_dir, sel, None, &mut snap.sockets)?,
                Source::Netlink => {
                    let failed = DiagSocket::open()?.collect(sel, &mut snap.sockets)?;
                    if let Some((_, e)) = failed.into_iter().next() {
                        return Err(e.into());
                    }
                }
                Source::Auto => snap.collect_auto(sel, &net_dir)?,
            }
        }
        fill_unix_peer_names(&mut snap.sockets);
        if opts.owners {
            snap.owners = Some(procfs::fdscan::scan(&opts.proc_root)?);
        }
        Ok(snap)
    }

    fn collect_auto(&mut self, sel: &Selection, net_dir: &std::path::Path) -> Result<(), SnapshotError> {
        let mut diag = match DiagSocket::open() {
            Ok(d) => d,
            Err(e) => {
                self.warnings
                    .push(format!("{e}; reading /proc/net instead (no cookies, listener backlogs or Unix peers)"));
                procfs::net::collect(net_dir, sel, None, &mut self.sockets)?;
                return Ok(());
            }
        };
        let failed = diag.collect(sel, &mut self.sockets)?;
        if diag.interrupted {
            self.warnings.push(
                "the kernel reported that sockets changed during the dump; some may be missing or doubled".into(),
            );
        }
        if !failed.is_empty() {
            let tables: Vec<Netid> = failed.iter().map(|(n, _)| *n).collect();
            let mut seen = Vec::new();
            for (_, e) in &failed {
                let msg = e.to_string();
                if !seen.contains(&msg) {
                    self.warnings.push(format!("{msg}; read from /proc/net instead"));
                    seen.push(msg);
                }
            }
            procfs::net::collect(net_dir, sel, Some(&tables), &mut self.sockets)?;
        }
        Ok(())
    }

    /// Every (process, fd) holding this socket; empty when owners were not collected.
    pub fn owners_of<'a>(&'a self, socket: &Socket) -> impl Iterator<Item = Owner<'a>> + 'a {
        let inode = socket.inode;
        self.owners.iter().flat_map(move |idx| idx.owners(inode))
    }
}

/// A connected Unix socket's peer end is shown by the peer's bound name when the peer is in
/// the snapshot (the server side of a connection to /run/x.sock shows /run/x.sock).
fn fill_unix_peer_names(sockets: &mut [Socket]) {
    let named: HashMap<u64, crate::model::UnixName> = sockets
        .iter()
        .filter_map(|s| match &s.local {
            Endpoint::Unix { name: Some(n), inode } => Some((*inode, n.clone())),
            _ => None,
        })
        .collect();
    if named.is_empty() {
        return;
    }
    for s in sockets.iter_mut() {
        if let Endpoint::Unix { name: name @ None, inode } = &mut s.peer
            && *inode != 0
        {
            *name = named.get(inode).cloned();
        }
    }
}
