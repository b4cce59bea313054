//! One consistent look at the host: the selected sockets, filtered, and (when asked) who
//! holds them.

use crate::filter::{Expr, Pred, eval};
use crate::model::{Netid, Owner, OwnerIndex, Socket};
use crate::netlink::NetlinkError;
use crate::netlink::request::Extensions;
use crate::procfs::ProcError;
use crate::select::Selection;
use serde::Serialize;
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

/// How the socket → (process, fd) index is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OwnerWalk {
    /// The kernel's task_file iterator on a host with many open files (see
    /// `procfs::fdscan`), where it loads and its pids are /proc's (see `fd_iterator`); else
    /// /proc/*/fd. Both give the same index.
    #[default]
    Auto,
    /// The kernel's iterator whatever the number of files, where it loads and its pids are
    /// /proc's; else /proc/*/fd.
    Kernel,
    /// Always a readlink of each /proc/PID/fd entry (and the cache of tables between walks).
    Proc,
}

/// Where the filter expression is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KernelFilter {
    /// In the kernel where it can be (inet_diag bytecode), and always again in user space.
    #[default]
    Auto,
    /// Only in user space.
    Off,
    /// Only in the kernel, without the user-space check (to test the kernel path).
    Only,
}

#[derive(Clone, Debug)]
pub struct SnapshotOptions {
    pub selection: Selection,
    pub source: Source,
    /// Build the inode → owners index (one pass over /proc/*/fd).
    pub owners: bool,
    /// List each thread as an owner (/proc/PID/task/TID/fd), as `ss -T`.
    pub threads: bool,
    pub owner_walk: OwnerWalk,
    pub extensions: Extensions,
    /// A resolved filter expression (see `filter::resolve`).
    pub filter: Option<Expr>,
    pub kernel_filter: KernelFilter,
    /// Root of procfs; `/proc` except in tests.
    pub proc_root: PathBuf,
    /// Network namespaces to read (`--netns`, `--all-netns`); empty: the caller's alone.
    pub namespaces: Vec<crate::model::Netns>,
    /// With namespaces: label each namespace and socket with its container (reads the
    /// owners' cgroup files and, for sockets without one, the cgroup tree).
    pub containers: bool,
    /// Read the TCP sockets from this raw sock_diag dump (`ss -D`, `sockscope -D`), as ss
    /// does when TCPDIAG_FILE is set, instead of asking the kernel.
    pub tcp_diag_file: Option<PathBuf>,
}

impl SnapshotOptions {
    pub fn new(selection: Selection) -> SnapshotOptions {
        SnapshotOptions {
            selection,
            source: Source::Auto,
            owners: false,
            threads: false,
            owner_walk: OwnerWalk::Auto,
            extensions: Extensions::default(),
            filter: None,
            kernel_filter: KernelFilter::Auto,
            proc_root: PathBuf::from("/proc"),
            namespaces: Vec::new(),
            containers: true,
            tcp_diag_file: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot read the TCP dump {path}: {why}")]
    DumpFile { path: PathBuf, why: String },
    #[error("{0}")]
    DumpWrite(String),
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub sockets: Vec<Socket>,
    pub owners: Option<OwnerIndex>,
    /// Things the user should know about how complete this is (interrupted dumps, refused
    /// filters).
    pub warnings: Vec<String>,
    /// Tables read from /proc/net because sock_diag could not dump them: complete, but
    /// without cookies, backlogs and Unix peers. The socket listing reports these.
    pub fallbacks: Vec<String>,
    /// The tables those are.
    pub fallback_tables: Vec<Netid>,
    /// Whether the kernel ran the filter program.
    pub kernel_filtered: bool,
    /// With a filter naming `autobound`: the cookies of the TCP and UDP sockets the kernel
    /// calls autobound, asked of it so that user space decides as the kernel does.
    pub autobound: Option<std::collections::HashSet<u64>>,
    /// The network namespaces read, when more than the caller's were asked for.
    pub namespaces: Vec<crate::model::Netns>,
}

impl Snapshot {
    /// Every (process, fd) holding this socket; empty when owners were not collected.
    pub fn owners_of<'a>(&'a self, socket: &Socket) -> impl Iterator<Item = Owner<'a>> + 'a {
        let inode = socket.inode;
        self.owners.iter().flat_map(move |idx| idx.owners(inode))
    }
}

/// What evaluating `f` over `snap`'s sockets needs beyond a socket: their owners, and when
/// `f` names `autobound`, the kernel's autobound sockets and the ephemeral port range (for
/// sockets read from /proc/net, which have no cookie).
pub fn eval_context<'a>(f: &Expr, snap: &'a Snapshot, proc_root: &std::path::Path) -> eval::Context<'a> {
    let autobound = f.preds().iter().any(|p| matches!(p, Pred::Autobound));
    let local_port_range = autobound.then(|| crate::procfs::sysctl::read_port_range(proc_root)).flatten();
    eval::Context {
        owners: snap.owners.as_ref(),
        local_port_range,
        autobound: snap.autobound.as_ref(),
        namespaces: &snap.namespaces,
    }
}
