//! One consistent look at the host: the selected sockets, filtered, and (when asked) who
//! holds them.

use crate::filter::bytecode::{self, Compiled};
use crate::filter::{Expr, Pred, eval};
use crate::model::{Endpoint, Netid, Owner, OwnerIndex, Socket};
use crate::netlink::request::Extensions;
use crate::netlink::{DiagSocket, NetlinkError, Query};
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
    pub extensions: Extensions,
    /// A resolved filter expression (see `filter::resolve`).
    pub filter: Option<Expr>,
    pub kernel_filter: KernelFilter,
    /// Root of procfs; `/proc` except in tests.
    pub proc_root: PathBuf,
}

impl SnapshotOptions {
    pub fn new(selection: Selection) -> SnapshotOptions {
        SnapshotOptions {
            selection,
            source: Source::Auto,
            owners: false,
            threads: false,
            extensions: Extensions::default(),
            filter: None,
            kernel_filter: KernelFilter::Auto,
            proc_root: PathBuf::from("/proc"),
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
    /// Whether the kernel ran the filter program.
    pub kernel_filtered: bool,
}

impl Snapshot {
    pub fn collect(opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError> {
        let mut snap = Snapshot::default();
        let sel = &opts.selection;
        let compiled = match (&opts.filter, opts.kernel_filter, opts.source) {
            (Some(f), KernelFilter::Auto | KernelFilter::Only, Source::Auto | Source::Netlink) => {
                Some(bytecode::compile(f))
            }
            _ => None,
        };
        if compiled == Some(Compiled::TooLong) {
            if opts.kernel_filter == KernelFilter::Only {
                return Err(SnapshotError::Unsupported(format!(
                    "this filter compiles to a kernel program longer than the {} bytes sock_diag can carry; drop --kernel-filter only to filter in user space",
                    bytecode::MAX_LEN
                )));
            }
            snap.warnings.push(format!(
                "the filter is too long for a kernel program (over {} bytes); filtering in user space",
                bytecode::MAX_LEN
            ));
        }
        let code = compiled.and_then(Compiled::program);
        if let Some(f) = &opts.filter {
            check_evaluable(f, code.is_some())?;
            if opts.kernel_filter == KernelFilter::Only && code.is_none() {
                return Err(SnapshotError::Unsupported(
                    "this filter cannot run in the kernel (it names Unix paths, states or owners)".into(),
                ));
            }
        }
        let needs_owners =
            opts.filter.as_ref().is_some_and(|f| f.preds().iter().any(|p| matches!(p, Pred::Pid(_) | Pred::Comm(_))));
        let scan = if opts.owners || opts.threads || needs_owners {
            Some(procfs::fdscan::SharedScan::prepare(&opts.proc_root, opts.threads)?)
        } else {
            None
        };
        // The /proc walk runs on its own threads while this one dumps the sockets: both are
        // mostly kernel time, and they touch different locks.
        let scanned = std::thread::scope(|sc| -> Result<_, SnapshotError> {
            let workers: Vec<_> = match &scan {
                Some(scan) => (0..scan.workers().saturating_sub(1).max(1)).map(|_| sc.spawn(|| scan.work())).collect(),
                None => Vec::new(),
            };
            if !sel.is_empty() {
                let net_dir = procfs::net_dir(&opts.proc_root);
                match opts.source {
                    Source::Proc => procfs::net::collect(&net_dir, sel, None, &mut snap.sockets)?,
                    Source::Netlink | Source::Auto => snap.collect_netlink(opts, code.as_deref(), &net_dir)?,
                }
            }
            fill_unix_peer_names(&mut snap.sockets);
            // This thread helps once the dump is done, then (alone by now) reads what the
            // walk could not open for lack of fds.
            let mine = scan.as_ref().map(|scan| scan.work());
            let mut found = Vec::with_capacity(workers.len() + 1);
            for w in workers {
                found.push(w.join().map_err(|_| SnapshotError::Unsupported("the /proc walk panicked".into()))?);
            }
            if let (Some(scan), Some(mut last)) = (&scan, mine) {
                scan.finish(&mut last);
                found.push(last);
            }
            Ok(scan.is_some().then(|| procfs::fdscan::merge(found)))
        })?;
        snap.owners = scanned;
        if let Some(f) = &opts.filter
            && opts.kernel_filter != KernelFilter::Only
        {
            let ctx = eval_context(f, snap.owners.as_ref(), &opts.proc_root);
            snap.sockets.retain(|s| f.keeps(s, ctx));
        }
        Ok(snap)
    }

    fn collect_netlink(
        &mut self,
        opts: &SnapshotOptions,
        code: Option<&[u8]>,
        net_dir: &std::path::Path,
    ) -> Result<(), SnapshotError> {
        let sel = &opts.selection;
        let mut diag = match DiagSocket::open() {
            Ok(d) => d,
            Err(e) if opts.source == Source::Auto => {
                self.warnings
                    .push(format!("{e}; reading /proc/net instead (no cookies, listener backlogs or Unix peers)"));
                procfs::net::collect(net_dir, sel, None, &mut self.sockets)?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let mut query = Query { selection: *sel, extensions: opts.extensions, bytecode: code };
        let mut result = diag.collect(&query, &mut self.sockets);
        if code.is_some() && refused_program(&result) {
            // The kernel would not run our program (fwmark needs CAP_NET_ADMIN; an old
            // kernel may lack an op). Filtering in user space instead is the same answer
            // only when user space can decide every condition: never widen the selection.
            let why = match &result {
                Err(e) => e.to_string(),
                Ok(failed) => failed.first().map(|(_, e)| e.to_string()).unwrap_or_default(),
            };
            if opts.kernel_filter == KernelFilter::Only {
                return Err(SnapshotError::Unsupported(format!(
                    "the kernel refused the filter program ({why}), and --kernel-filter only forbids filtering in user space"
                )));
            }
            if let Some(f) = &opts.filter {
                check_evaluable(f, false).map_err(|_| {
                    SnapshotError::Unsupported(format!(
                        "the kernel refused the filter program ({why}); its fwmark or cgroup conditions cannot be decided in user space (they need CAP_NET_ADMIN)"
                    ))
                })?;
            }
            self.warnings.push(format!("the kernel refused the filter program ({why}); filtering in user space"));
            self.sockets.clear();
            query.bytecode = None;
            result = diag.collect(&query, &mut self.sockets);
        } else {
            self.kernel_filtered = code.is_some();
        }
        let failed = result?;
        if diag.interrupted {
            self.warnings.push(
                "the kernel reported that sockets changed during the dump; some may be missing or doubled".into(),
            );
        }
        if let Some((_, e)) = failed.first()
            && opts.source == Source::Netlink
        {
            return Err(SnapshotError::Unsupported(format!("{e} (and --source netlink forbids reading /proc/net)")));
        }
        if !failed.is_empty() {
            let tables: Vec<Netid> = failed.iter().map(|(n, _)| *n).collect();
            let mut seen = Vec::new();
            for (_, e) in &failed {
                let msg = e.to_string();
                if !seen.contains(&msg) {
                    self.fallbacks.push(format!("{msg}; read from /proc/net instead"));
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

fn refused_program(result: &Result<Vec<(Netid, NetlinkError)>, NetlinkError>) -> bool {
    let refused = |e: &NetlinkError| match e {
        NetlinkError::Io { errno, .. } | NetlinkError::Unsupported { errno, .. } => {
            *errno == rustix::io::Errno::PERM || *errno == rustix::io::Errno::INVAL
        }
        _ => false,
    };
    match result {
        Err(e) => refused(e),
        Ok(failed) => failed.iter().any(|(n, e)| matches!(n, Netid::Tcp | Netid::Udp | Netid::Raw) && refused(e)),
    }
}

/// Conditions only the kernel can decide must reach it.
fn check_evaluable(f: &Expr, in_kernel: bool) -> Result<(), SnapshotError> {
    if in_kernel {
        return Ok(());
    }
    for p in f.preds() {
        let what = match p {
            Pred::Fwmark { .. } => "fwmark",
            Pred::Cgroup { .. } => "cgroup",
            _ => continue,
        };
        return Err(SnapshotError::Unsupported(format!(
            "'{what}' is decided by the kernel's filter: use it with sock_diag (not --source proc, not --kernel-filter off) and with conditions the kernel understands (no Unix paths, states, --pid or --comm in the same filter)"
        )));
    }
    Ok(())
}

/// What evaluating `f` needs beyond a socket: its owners, and the ephemeral port range when
/// `f` names `autobound` (read only then).
pub fn eval_context<'a>(f: &Expr, owners: Option<&'a OwnerIndex>, proc_root: &std::path::Path) -> eval::Context<'a> {
    let local_port_range =
        f.preds().iter().any(|p| matches!(p, Pred::Autobound)).then(|| read_port_range(proc_root)).flatten();
    eval::Context { owners, local_port_range }
}

/// The kernel's default net.ipv4.ip_local_port_range, for when it cannot be read.
pub const DEFAULT_PORT_RANGE: (u16, u16) = (32768, 60999);

/// net.ipv4.ip_local_port_range, which is per network namespace.
pub fn read_port_range(proc_root: &std::path::Path) -> Option<(u16, u16)> {
    let text = std::fs::read_to_string(proc_root.join("sys/net/ipv4/ip_local_port_range")).ok()?;
    let mut f = text.split_whitespace().map(str::parse::<u16>);
    Some((f.next()?.ok()?, f.next()?.ok()?))
}

/// A connected Unix socket's peer end is shown by the peer's bound name when the peer is in
/// the snapshot (the client of /run/x.sock has /run/x.sock as its peer).
fn fill_unix_peer_names(sockets: &mut [Socket]) {
    let named: HashMap<u64, Box<crate::model::UnixName>> = sockets
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
