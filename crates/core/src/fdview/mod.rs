//! Fd tables of many processes, joined with the sockets they hold and with the process and
//! fd at the other end of each pipe, Unix socket, loopback connection and shared eventfd.

mod options;
mod rows;
mod shared;

use crate::hosts::{FdTable, Host};
use crate::model::{FdEntry, FdKind, FdLimit, FdName, SockState, Socket, StateSet, SystemFiles};
pub use crate::procfs::fdtable::ReadOptions;
use crate::procfs::process::Unreadable;
use crate::select::Selection;
use crate::snapshot::{Snapshot, SnapshotOptions};
pub use rows::Rows;
use serde::Serialize;
use shared::PeerIndex;
pub use shared::{Peer, Shared, SharedKind, SharedObject};
use std::path::PathBuf;
use std::sync::Arc;

/// Which processes: all, or these pids and command names.
#[derive(Clone, Debug, Default)]
pub struct Which {
    pub pids: Vec<u32>,
    /// Exact command names (/proc/PID/comm).
    pub names: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct FdViewOptions {
    pub read: ReadOptions,
    /// Find the other end of pipes, sockets and eventfds.
    pub peers: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FdViewError {
    #[error("no process with pid {0}")]
    NoSuchPid(u32),
    #[error("no process is named '{0}' (names are matched exactly against /proc/PID/comm)")]
    NoSuchName(String),
    #[error("cannot list processes in {path}: {cause}")]
    Proc { path: PathBuf, cause: std::io::Error },
}

/// One fd's row, decoded from its process's packed `Rows` while it is looked at (rows are
/// never held as these).
#[derive(Clone, Debug, Serialize)]
pub struct FdRow<'a> {
    #[serde(flatten)]
    pub entry: FdEntry,
    /// The socket this fd is, when it lives in our network namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Shared with the other fds that hold the same socket (after fork), and not copied: at
    /// 100k sockets a copy per fd was a fifth of the command's memory.
    pub socket: Option<SocketRef>,
    /// What only some rows have (kept apart in `Rows`, lent here, not copied per look).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub more: Option<&'a RowMore>,
    /// With peers: the index in `FdView::shared` of the object whose holders are this fd's
    /// peers (for a pipe or eventfd, the object itself; for a socket, its other end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_group: Option<u32>,
    /// The options the process set on this socket, when asked for (`fds -o`, `--json`):
    /// every field null where it could not be read. Lent from the view's distinct sets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockopts: Option<&'a crate::sockopts::SockOpts>,
}

/// The parts of an fd's row that few rows have, or only some commands ask for.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RowMore {
    /// The socket's protocol as the kernel names it (system.sockprotoname), for sockets the
    /// dump does not list: of other namespaces, or not bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Box<str>>,
    /// A socket of this network namespace that sock_diag does not list: neither bound nor
    /// connected (a TCP or UDP socket straight from socket()).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unbound: bool,
}

impl FdRow<'_> {
    /// The protocol the kernel names for a socket the dump did not list.
    pub fn protocol(&self) -> Option<&str> {
        self.more?.protocol.as_deref()
    }

    /// Whether it is a socket of this namespace that is neither bound nor connected.
    pub fn unbound(&self) -> bool {
        self.more.is_some_and(|m| m.unbound)
    }

    /// The other fds at the far end of this one (itself left out), from `view.shared`.
    pub fn peers<'a>(&self, pid: u32, view: &'a FdView) -> impl Iterator<Item = Peer<'a>> + 'a {
        let me = match self.entry.fd {
            FdName::Number(n) => Some(n),
            FdName::Special(_) => None,
        };
        self.peer_group
            .and_then(|g| view.shared.get(g))
            .into_iter()
            .flat_map(|g| g.holders())
            .filter(move |h| !(h.pid == pid && Some(h.fd) == me))
    }
}

/// One socket of the view's socket list. Every fd that holds it points into the one list
/// (no copy per fd after fork, and no allocation per socket: at 200k sockets a separate
/// `Arc` per socket doubled the command's memory while the list was converted).
#[derive(Clone, Debug)]
pub struct SocketRef {
    all: Arc<Vec<Socket>>,
    index: u32,
}

impl std::ops::Deref for SocketRef {
    type Target = Socket;

    fn deref(&self) -> &Socket {
        &self.all[self.index as usize]
    }
}

impl Serialize for SocketRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ProcessFds {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: String,
    /// The exact bytes, when the name is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_bytes: Option<Vec<u8>>,
    pub uid: u32,
    pub limit: FdLimit,
    /// Open fds (numbered ones; cwd/rtd/txt/mem not counted).
    pub open: usize,
    pub highest_fd: Option<u32>,
    /// Packed; `fds.iter()` decodes them one at a time.
    pub fds: Rows,
}

impl ProcessFds {
    /// open / soft limit, when the soft limit is finite and non-zero.
    pub fn usage(&self) -> Option<f64> {
        self.limit.soft.filter(|s| *s > 0).map(|s| self.open as f64 / s as f64)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Unread {
    pub pid: u32,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct FdView {
    pub processes: Vec<ProcessFds>,
    pub system: Option<SystemFiles>,
    /// Processes that could not be read, with why.
    pub unreadable: Vec<Unread>,
    /// Processes that exited while being read (skipped).
    pub vanished: u32,
    /// What makes the view less certain (given by the JSON envelope, not as a field here).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// With peers: the objects several fds share, referenced by `FdRow::peer_group`.
    pub shared: Shared,
}

impl FdView {
    /// The fd tables of the processes `which` names on `host`, each socket fd joined with
    /// its socket, and with `opts.peers` each shared object with its holders.
    pub fn collect(host: &dyn Host, which: &Which, opts: &FdViewOptions) -> Result<FdView, FdViewError> {
        let all = host.pids().map_err(|e| match e {
            crate::ProcError::Read { path, cause } => FdViewError::Proc { path, cause },
            other => FdViewError::Proc {
                path: host.proc_root().to_path_buf(),
                cause: std::io::Error::other(other.to_string()),
            },
        })?;
        let pids = select_pids(&all, which, |pid| host.command(pid))?;
        let system = match (host.text_of("sys/fs/file-nr"), host.text_of("sys/fs/nr_open")) {
            (Some(file_nr), Some(nr_open)) => SystemFiles::from_texts(&file_nr, &nr_open),
            _ => None,
        };
        let everyone = which.pids.is_empty() && which.names.is_empty();
        let mut view = FdView { system, vanished: if everyone { host.vanished() } else { 0 }, ..FdView::default() };

        // Sockets of the tables' namespace, by inode, to show each socket fd as a socket line:
        // dumped on a thread of its own while the fd tables are read.
        // TIME-WAIT and request sockets are left out: no fd holds them (5% of a busy host's
        // sockets, kept for nothing).
        let held = StateSet(StateSet::ALL.0 & !StateSet::of(&[SockState::TimeWait, SockState::NewSynRecv]).0);
        let mut snap_opts = SnapshotOptions::new(Selection::resolve(&[], &[], held));
        snap_opts.proc_root = host.proc_root().to_path_buf();
        let (tables, snap) = std::thread::scope(|sc| {
            let dump = sc.spawn(|| host.snapshot(&snap_opts));
            let tables = host.fd_tables(&pids, opts.read);
            (tables, dump.join())
        });
        view.warnings.extend(host.fd_notes(opts.read));
        let snap = snap
            .unwrap_or_else(|_| Err(crate::snapshot::SnapshotError::Unsupported("the socket dump panicked".into())));
        let sockets = view.socket_list(snap);
        // The tables just read serve the peers' index when they are every process's: it is
        // filled in the same pass that joins them with their sockets.
        let mut index = (opts.peers && pids.len() == all.len()).then(PeerIndex::default);
        for (pid, table) in pids.iter().zip(tables) {
            match table {
                Ok(t) => view.processes.push(process_fds(t, &sockets, host, index.as_mut())),
                Err(Unreadable::Gone) if which.pids.contains(pid) => return Err(FdViewError::NoSuchPid(*pid)),
                Err(Unreadable::Gone) => view.vanished += 1,
                Err(Unreadable::Denied(reason)) => view.unreadable.push(Unread { pid: *pid, reason }),
            }
        }
        if opts.peers {
            let index = index.unwrap_or_else(|| {
                let mut index = PeerIndex::default();
                host.shared_fds(&all, &mut |pid, command, entry| index.add(pid, command, entry));
                index
            });
            let mut groups = index.groups(host, &sockets);
            for p in &mut view.processes {
                let of_rows: Vec<Option<u32>> =
                    p.fds.iter().map(|row| groups.of(&row.entry, row.socket.as_deref())).collect();
                p.fds.set_peer_groups(of_rows);
            }
            view.shared = groups.finish();
        }
        Ok(view)
    }

    /// The sockets of `snap` an fd can hold, sorted by inode (its warnings, or why there are
    /// none, go to the view's).
    fn socket_list(&mut self, snap: Result<Snapshot, crate::snapshot::SnapshotError>) -> Arc<Vec<Socket>> {
        let mut snap = match snap {
            Ok(s) => s,
            Err(e) => {
                self.warnings.push(format!("cannot read sockets ({e}); socket fds show their inode only"));
                Snapshot::default()
            }
        };
        self.warnings.append(&mut snap.warnings);
        let mut sockets = std::mem::take(&mut snap.sockets);
        sockets.retain(|s| s.inode != 0);
        // Held to the end: no spare capacity (152 bytes a socket).
        sockets.shrink_to_fit();
        // Sorted by inode and searched, instead of a hash map beside them (4.5 MB at 200k).
        // An MPTCP socket's first TCP subflow has its inode: the fd is the MPTCP socket.
        sockets.sort_unstable_by_key(|s| (s.inode, s.netid != crate::model::Netid::Mptcp));
        sockets.dedup_by_key(|s| s.inode);
        Arc::new(sockets)
    }
}

fn select_pids(all: &[u32], which: &Which, command: impl Fn(u32) -> Option<String>) -> Result<Vec<u32>, FdViewError> {
    if which.pids.is_empty() && which.names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut out: Vec<u32> = Vec::new();
    for pid in &which.pids {
        if !all.contains(pid) {
            return Err(FdViewError::NoSuchPid(*pid));
        }
        out.push(*pid);
    }
    for name in &which.names {
        let matching: Vec<u32> = all.iter().copied().filter(|p| command(*p).is_some_and(|c| &c == name)).collect();
        if matching.is_empty() {
            return Err(FdViewError::NoSuchName(name.clone()));
        }
        out.extend(matching);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A host's fd table as the view's rows, in one pass over its entries: how many fds are
/// open and the highest; each socket fd pointed at its socket in `sockets` (the view's
/// list), or, when the dump did not list it, given the protocol the kernel names and
/// whether its process shares our network namespace (asked once); and with `peers`, each
/// fd added to the peers' index.
fn process_fds(
    t: FdTable,
    sockets: &Arc<Vec<Socket>>,
    host: &dyn Host,
    mut peers: Option<&mut PeerIndex>,
) -> ProcessFds {
    let (mut open, mut highest_fd) = (0, None);
    let mut in_ours: Option<bool> = None;
    // Each row's place in `sockets`, made at the first socket listed.
    let (mut listed, mut unlisted): (Vec<Option<u32>>, _) = (Vec::new(), Vec::new());
    for (i, entry) in t.fds.iter().enumerate() {
        if let FdName::Number(n) = entry.fd {
            open += 1;
            highest_fd = highest_fd.max(Some(n));
        }
        if let Some(index) = peers.as_deref_mut() {
            index.add(t.pid, Some(&t.command), &entry);
        }
        if entry.kind != FdKind::Socket {
            continue;
        }
        let found = entry.inode.and_then(|inode| sockets.binary_search_by_key(&inode, |s| s.inode).ok());
        match found.and_then(|at| u32::try_from(at).ok()) {
            Some(at) => {
                if listed.is_empty() {
                    listed = vec![None; t.fds.len()];
                }
                listed[i] = Some(at);
            }
            None => {
                let name = host.socket_protocol(t.pid, &entry.fd).map(String::into_boxed_str);
                let unbound = *in_ours.get_or_insert_with(|| host.shares_netns(t.pid));
                if name.is_some() || unbound {
                    unlisted.push((i, name, unbound));
                }
            }
        }
    }
    let mut fds = Rows::new(t.fds);
    fds.set_sockets(listed, sockets);
    for (i, name, unbound) in unlisted {
        let more = fds.more_mut(i);
        (more.protocol, more.unbound) = (name, unbound);
    }
    let command_bytes = crate::text::raw_bytes(&t.command);
    ProcessFds { pid: t.pid, command: t.command, command_bytes, uid: t.uid, limit: t.limit, open, highest_fd, fds }
}

#[cfg(test)]
mod size_tests {
    /// Made once per fd per pass over the packed rows (never held): 168 bytes when every
    /// row was held whole, before the rarer parts went into `RowMore` and `FdEntry` lost
    /// its anonymous inode's name (301 MiB at a million sockets, then). 136 with its peer
    /// group and lent options, each kept packed in `Rows`.
    #[test]
    fn a_row_is_136_bytes() {
        assert_eq!(std::mem::size_of::<super::FdRow>(), 136);
    }
}
