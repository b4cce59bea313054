//! The trait every host answers through, and the plain data its answers are made of.

use crate::capture::fdlist::FdList;
use crate::model::Netns;
use crate::model::{FdEntry, FdLimit, FdName, SecondLook, Socket};
use crate::procfs::fdtable::ReadOptions;
use crate::procfs::process::Unreadable;
use crate::snapshot::{Snapshot, SnapshotError, SnapshotOptions};
use crate::sockopts::{Report as OptionReport, SockOpts, Unreadable as OptionUnreadable};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// One process's fd table as a host gives it: who the process is, its limit, and its fds,
/// packed (a host holds every process's table at once).
#[derive(Clone, Debug)]
pub struct FdTable {
    pub pid: u32,
    pub command: String,
    pub uid: u32,
    pub limit: FdLimit,
    pub fds: FdList,
}

/// A host to read: its sockets, processes and kernel files, at one moment.
pub trait Host: Send + Sync {
    /// The sockets `opts` selects and filters, with their owners when asked.
    fn snapshot(&self, opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError>;

    /// The same sockets handed to `sink` one at a time as they are read, never all kept:
    /// returns the snapshot's notes with no sockets, or None when this host or `opts` cannot
    /// be streamed (then take a snapshot). A capture holds its sockets anyway: None.
    fn stream(
        &self,
        _opts: &SnapshotOptions,
        _sink: &mut dyn FnMut(Socket),
    ) -> Result<Option<Snapshot>, SnapshotError> {
        Ok(None)
    }

    /// A source of repeated snapshots of `opts` (`watch`, `serve`): live, one collector that
    /// keeps its caches between looks; from a capture, its look each time.
    fn refresher(&self, opts: SnapshotOptions) -> Box<dyn Refresh>;

    /// A kernel text file by its path under /proc (`net/netstat`: the network namespace the
    /// tables are of; `sys/fs/file-nr`).
    fn text_of(&self, path: &str) -> Option<String>;

    /// The kernel's counters (netstat, snmp, snmp6) of the tables' namespace, or with
    /// `namespaces` their sums; `notes` gets what the user should know of how far they reach.
    fn counters(&self, namespaces: &[Netns], notes: &mut Vec<String>) -> HashMap<String, u64>;

    /// Every network namespace there is (`--all-netns`), the tables' own among them.
    fn namespaces(&self) -> Result<Vec<Netns>, SnapshotError>;

    /// `namespaces`, with how many processes' namespaces could not be read and why (None
    /// when every one was, and for a capture), from the same look.
    fn namespaces_noting_unread(&self) -> Result<(Vec<Netns>, Option<crate::netns::Unread>), SnapshotError> {
        Ok((self.namespaces()?, None))
    }

    /// The namespaces `--netns SPEC…` names, the tables' own first.
    fn selected_namespaces(&self, specs: &[String]) -> Result<Vec<Netns>, crate::netns::NetnsError>;

    /// The inode of the network namespace the tables are of.
    fn own_netns(&self) -> Option<u64>;

    /// Every process seen, readable or not, ascending.
    fn pids(&self) -> Result<Vec<u32>, crate::ProcError>;

    /// A process's command name (comm), if it was seen and readable.
    fn command(&self, pid: u32) -> Option<String>;

    /// The fd tables of `pids`, in their order: read, or why not.
    fn fd_tables(&self, pids: &[u32], read: ReadOptions) -> Vec<Result<FdTable, Unreadable>>;

    /// Every fd of `pids` on something fds share (pipes, sockets, eventfds), with the
    /// command when it is at hand: what finds each fd's peers.
    fn shared_fds(&self, pids: &[u32], add: &mut dyn FnMut(u32, Option<&str>, &FdEntry));

    /// Each process's open fd count and limit (what the doctor's fd rules judge).
    fn fd_counts(&self) -> Vec<FdCount>;

    /// The protocol the kernel names for a socket fd the dump did not list.
    fn socket_protocol(&self, pid: u32, fd: &FdName) -> Option<String>;

    /// Whether process `pid` shares the tables' network namespace.
    fn shares_netns(&self, pid: u32) -> bool;

    /// Processes that exited while being read (counted by the look, not by the reader).
    fn vanished(&self) -> u32;

    /// What `read` asks of fd tables that this host cannot give, in a sentence.
    fn fd_notes(&self, read: ReadOptions) -> Vec<String>;

    /// procfs's `hidepid=` when it hides other users' processes.
    fn hidepid(&self) -> Option<String>;

    /// The options of `sockets` (and with `flows`, each TCP socket's traffic).
    fn socket_options(&self, snap: &Snapshot, sockets: &[&Socket], flows: bool) -> OptionReport;

    /// The options of socket fds, in their order (`fds -o`).
    fn fd_socket_options(&self, fds: &[FdSocket]) -> Vec<Result<SockOpts, OptionUnreadable>>;

    /// The doctor's second look, `window` after the first: TCP states and queues by cookie
    /// (of the sockets whose cookie `keep` accepts), and the counters again.
    fn second_look(
        &self,
        window: Duration,
        namespaces: &[Netns],
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<LaterLook, SnapshotError>;

    /// Unix socket files under `dirs` that no socket (of `snap`, or of any namespace) is
    /// bound to; `notes` gets what could not be searched.
    fn stale_sockets(&self, dirs: &[PathBuf], snap: &Snapshot, notes: &mut Vec<String>) -> Vec<PathBuf>;

    /// What is known of the file at `path` that Unix sockets may be bound to.
    fn unix_file(&self, path: &str) -> UnixFile;

    /// What a path given on the command line names here: a Unix socket file or another
    /// file, by its canonical path; `None` when `text` is not a path (a port).
    fn path(&self, text: &str) -> std::io::Result<Option<PathKind>>;

    /// The processes that hold the file at `path` open (fds, cwd, maps…).
    fn file_holders(&self, path: &Path) -> Result<FileHolders, SnapshotError>;

    /// cgroup id → path (`--cgroup`).
    fn cgroup_paths(&self) -> HashMap<u64, String>;

    /// Interface names by index in `ns` (the tables' own with `None`), when this host's
    /// names are the sockets' (never for a capture: its indexes are another host's).
    fn interfaces(&self, ns: Option<&Netns>) -> Option<crate::names::Interfaces>;

    /// When the look was taken, for a recorded one (a live host is read now).
    fn taken_at(&self) -> Option<std::time::SystemTime>;

    /// Destroys a socket (`SOCK_DESTROY`); only a live host's can be.
    fn destroy(&self, socket: &Socket) -> Result<(), String>;

    /// Whether process `pid` was seen.
    fn has_process(&self, pid: u32) -> bool;

    /// Where filter words naming interfaces and processes are resolved (live: procfs).
    fn proc_root(&self) -> &Path;
}

/// Repeated snapshots (see `Host::refresher`).
pub trait Refresh: Send {
    fn next(&mut self) -> Result<Arc<Snapshot>, SnapshotError>;
    /// How the last look found owners (live: processes read and taken from the cache).
    fn reuse(&self) -> crate::procfs::fdscan::Reuse {
        crate::procfs::fdscan::Reuse::default()
    }
}

/// A socket fd whose options are asked for: whose, which, the socket's inode and kind.
#[derive(Clone, Copy, Debug)]
pub struct FdSocket {
    pub pid: u32,
    pub fd: u32,
    pub inode: u64,
    pub kind: crate::sockopts::Kind,
}

/// A process's open fds and limit.
#[derive(Clone, Debug)]
pub struct FdCount {
    pub pid: u32,
    pub command: String,
    pub open: u64,
    pub limit: FdLimit,
}

/// The doctor's second look and the counters then.
#[derive(Clone, Debug, Default)]
pub struct LaterLook {
    pub second: SecondLook,
    pub counters: HashMap<String, u64>,
    /// How long after the first it was taken.
    pub window: Duration,
    pub notes: Vec<String>,
}

/// A Unix socket file, for `who PATH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnixFile {
    /// There is no file there (or the capture did not find it stale).
    Absent,
    /// A file is there; whether a socket of another namespace is bound to it (unknown
    /// without the privilege to look).
    Present { bound_elsewhere: Option<bool> },
}

/// What a path names (`Host::path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// A Unix socket file, as socket names read (lossless text).
    Socket(String),
    File(PathBuf),
}

/// Who holds a file open.
#[derive(Clone, Debug, Default)]
pub struct FileHolders {
    /// (pid, command, uid, fd).
    pub holders: Vec<(u32, String, u32, FdName)>,
    /// Processes that could not be read, with why.
    pub unreadable: Vec<(u32, String)>,
}
