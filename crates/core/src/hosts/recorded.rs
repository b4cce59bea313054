//! One look of a capture as a host: what the live readers answer from the kernel, answered
//! from the recorded frame — the snapshot a selection and filter give, fd tables, the
//! kernel's text files, options and the doctor's second look.

use super::host::{FdCount, FdSocket, FdTable, FileHolders, Host, LaterLook, PathKind, Refresh, UnixFile};
use crate::capture::fdlist::FdList;
use crate::capture::frame::{Frame, ProcessRecord, TableName, TableSource};
use crate::filter::Pred;
use crate::model::{FdEntry, FdName, Later, Netid, SecondLook, SockState, Socket};
use crate::netns::{Netns, NetnsError};
use crate::procfs::fdtable::ReadOptions;
use crate::procfs::process::Unreadable;
use crate::snapshot::{KernelFilter, Snapshot, SnapshotError, SnapshotOptions, eval_context};
use crate::sockopts::{Report as OptionReport, SockOpts, Unreadable as OptionUnreadable};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A capture's look, answering as the host did when it was taken.
#[derive(Clone, Debug)]
pub struct CaptureHost {
    frame: Arc<Frame>,
    /// Where filter words are resolved: this host's procfs (a capture's names are matched
    /// as text; nothing is read there).
    proc_root: PathBuf,
}

impl CaptureHost {
    pub fn new(frame: Arc<Frame>) -> CaptureHost {
        CaptureHost { frame, proc_root: PathBuf::from("/proc") }
    }

    pub fn frame(&self) -> &Arc<Frame> {
        &self.frame
    }

    fn record(&self, pid: u32) -> Option<&ProcessRecord> {
        let p = &self.frame.processes;
        p.binary_search_by_key(&pid, |p| p.pid).ok().map(|i| &p[i])
    }
}

/// The same look each time.
struct Again(CaptureHost, SnapshotOptions);

impl Refresh for Again {
    fn next(&mut self) -> Result<Arc<Snapshot>, SnapshotError> {
        self.0.snapshot(&self.1).map(Arc::new)
    }
}

const NOT_ALL_NETNS: &str =
    "the capture holds its own network namespace only (record it with --all-netns to see every one)";

impl Host for CaptureHost {
    fn snapshot(&self, opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError> {
        snapshot(&self.frame, opts)
    }

    fn refresher(&self, opts: SnapshotOptions) -> Box<dyn Refresh> {
        Box::new(Again(self.clone(), opts))
    }

    fn text_of(&self, path: &str) -> Option<String> {
        self.frame.file(path).map(str::to_string)
    }

    fn counters(&self, namespaces: &[Netns], notes: &mut Vec<String>) -> HashMap<String, u64> {
        if !namespaces.is_empty() {
            notes.push(
                "the kernel's counters are the recording namespace's: the counter rules judge it alone (the sockets are every namespace's)".into(),
            );
        }
        self.frame.counters()
    }

    fn namespaces(&self) -> Result<Vec<Netns>, SnapshotError> {
        let recorded = self.frame.netns_list();
        if recorded.is_empty() {
            return Err(SnapshotError::Unsupported(NOT_ALL_NETNS.into()));
        }
        Ok(recorded)
    }

    /// As live: the recording's own namespace first, then each one named.
    fn selected_namespaces(&self, specs: &[String]) -> Result<Vec<Netns>, NetnsError> {
        let recorded = self.frame.netns_list();
        if recorded.is_empty() {
            return Err(NetnsError::NotRecorded);
        }
        let mut out: Vec<Netns> =
            recorded.iter().filter(|ns| Some(ns.inode) == self.frame.own_netns).cloned().collect();
        for spec in specs {
            let found: Vec<_> = recorded.iter().filter(|ns| ns.matches(spec)).cloned().collect();
            if found.is_empty() {
                return Err(NetnsError::NotInCapture { spec: spec.clone() });
            }
            for ns in found {
                if !out.iter().any(|n| n.inode == ns.inode) {
                    out.push(ns);
                }
            }
        }
        Ok(out)
    }

    fn own_netns(&self) -> Option<u64> {
        self.frame.own_netns
    }

    /// Every process the recording saw: those it read, and those it could not.
    fn pids(&self) -> Result<Vec<u32>, crate::ProcError> {
        let f = &self.frame;
        let mut all: Vec<u32> = f.processes.iter().map(|p| p.pid).chain(f.unreadable.iter().map(|u| u.0)).collect();
        all.sort_unstable();
        Ok(all)
    }

    fn command(&self, pid: u32) -> Option<String> {
        self.record(pid).map(|p| p.command.clone())
    }

    /// A recorded process as a live read gives it, with what `read` asks for.
    fn fd_tables(&self, pids: &[u32], read: ReadOptions) -> Vec<Result<FdTable, Unreadable>> {
        let unread = |pid: u32| {
            self.frame
                .unreadable
                .iter()
                .find(|u| u.0 == pid)
                .map(|u| Unreadable::Denied(crate::text::escape(&u.1).into_owned()))
        };
        pids.iter()
            .map(|&pid| match self.record(pid) {
                Some(p) => Ok(table_of(p, read)),
                None => Err(unread(pid).unwrap_or(Unreadable::Gone)),
            })
            .collect()
    }

    fn shared_fds(&self, pids: &[u32], add: &mut dyn FnMut(u32, Option<&str>, &FdEntry)) {
        for p in pids.iter().filter_map(|&pid| self.record(pid)) {
            for e in p.fds.iter() {
                add(p.pid, Some(&p.command), &e);
            }
        }
    }

    fn fd_counts(&self) -> Vec<FdCount> {
        self.frame
            .processes
            .iter()
            .map(|p| FdCount { pid: p.pid, command: p.command.clone(), open: p.open_fds(), limit: p.limit })
            .collect()
    }

    fn socket_protocol(&self, pid: u32, fd: &FdName) -> Option<String> {
        let FdName::Number(n) = fd else { return None };
        self.record(pid)?.protocols.iter().find(|(f, _)| f == n).map(|(_, name)| name.clone())
    }

    fn shares_netns(&self, pid: u32) -> bool {
        self.record(pid).is_some_and(|p| p.in_our_netns)
    }

    fn vanished(&self) -> u32 {
        self.frame.vanished
    }

    fn fd_notes(&self, read: ReadOptions) -> Vec<String> {
        if read.fdinfo && !self.frame.full {
            vec!["the capture holds no fdinfo of socket fds, so their flags and offsets are blank (record --full records it)".into()]
        } else {
            Vec::new()
        }
    }

    /// Text from a file, which anyone may have written: escaped as a live name is.
    fn hidepid(&self) -> Option<String> {
        self.frame.hidepid.as_deref().map(|h| crate::text::escape(h).into_owned())
    }

    fn socket_options(&self, snap: &Snapshot, sockets: &[&Socket], _flows: bool) -> OptionReport {
        OptionReport::from_capture(&self.frame.options, snap, sockets)
    }

    fn fd_socket_options(&self, fds: &[FdSocket]) -> Vec<Result<SockOpts, OptionUnreadable>> {
        fds.iter().map(|f| self.frame.options.recorded(f.inode).cloned()).collect()
    }

    /// The second look the recording took a window after the first (`record --window`).
    fn second_look(
        &self,
        _window: Duration,
        namespaces: &[Netns],
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<LaterLook, SnapshotError> {
        let mut notes = Vec::new();
        Ok(match &self.frame.later {
            Some(l) => LaterLook {
                second: l
                    .tcp
                    .iter()
                    .filter(|l| keep(l.0))
                    .map(|&(cookie, state, recv_q, send_q)| {
                        (cookie, Later { state: SockState::from_kernel(state), recv_q, send_q })
                    })
                    .collect(),
                counters: crate::capture::frame::counters_of(&l.files),
                window: Duration::from_nanos(l.window_ns),
                notes,
            },
            None => {
                notes.push(
                    "the capture has no second look (recorded with --window 0): the rules that compare two looks (what persisted, counters that grew) stay silent".into(),
                );
                LaterLook {
                    second: SecondLook::default(),
                    counters: self.counters(namespaces, &mut Vec::new()),
                    window: Duration::ZERO,
                    notes,
                }
            }
        })
    }

    /// The files the recording found stale under the directories it searched.
    fn stale_sockets(&self, dirs: &[PathBuf], _snap: &Snapshot, notes: &mut Vec<String>) -> Vec<PathBuf> {
        let f = &self.frame;
        let searched = |d: &PathBuf| f.stale_dirs.iter().any(|s| d.starts_with(s));
        let unsearched: Vec<String> = dirs.iter().filter(|d| !searched(d)).map(|d| d.display().to_string()).collect();
        if !unsearched.is_empty() {
            notes.push(format!(
                "the capture was not searched for stale Unix socket files under {} (it searched {})",
                unsearched.join(", "),
                if f.stale_dirs.is_empty() { "nothing".to_string() } else { f.stale_dirs.join(", ") }
            ));
        }
        f.stale.iter().map(PathBuf::from).filter(|p| dirs.iter().any(|d| p.starts_with(d))).collect()
    }

    /// A capture knows which socket files were stale when it was taken: only those (no
    /// namespace bound them).
    fn unix_file(&self, path: &str) -> UnixFile {
        if self.frame.stale.iter().any(|p| p == path) {
            UnixFile::Present { bound_elsewhere: Some(false) }
        } else {
            UnixFile::Absent
        }
    }

    /// An absolute path names a Unix socket of the recorded host: this host's files are
    /// not the capture's.
    fn path(&self, text: &str) -> std::io::Result<Option<PathKind>> {
        Ok(text.starts_with('/').then(|| PathKind::Socket(text.to_string())))
    }

    fn file_holders(&self, _path: &Path) -> Result<FileHolders, SnapshotError> {
        Err(SnapshotError::Unsupported(
            "a capture answers who for ports, addresses and Unix sockets; for files, `sockscope --from FILE fds` lists every process's open files".into(),
        ))
    }

    fn cgroup_paths(&self) -> HashMap<u64, String> {
        self.frame.cgroups.iter().cloned().collect()
    }

    /// None: this host's interfaces would name another host's indexes.
    fn interfaces(&self, _ns: Option<&Netns>) -> Option<crate::names::Interfaces> {
        None
    }

    fn taken_at(&self) -> Option<std::time::SystemTime> {
        Some(std::time::UNIX_EPOCH + Duration::from_nanos(self.frame.taken_at_ns))
    }

    fn destroy(&self, _socket: &Socket) -> Result<(), String> {
        Err("a capture's connections are not on this host".into())
    }

    fn has_process(&self, pid: u32) -> bool {
        self.record(pid).is_some()
    }

    fn proc_root(&self) -> &Path {
        &self.proc_root
    }
}

/// A recorded process's table with what `read` asks for.
fn table_of(p: &ProcessRecord, read: ReadOptions) -> FdTable {
    let fds = if read.specials && read.fdinfo {
        p.fds.clone()
    } else {
        FdList::of(p.fds.iter().filter(|e| read.specials || matches!(e.fd, FdName::Number(_))).map(|mut entry| {
            if !read.fdinfo {
                (entry.flags, entry.pos, entry.details) = (None, None, None);
            }
            entry
        }))
    };
    FdTable { pid: p.pid, command: p.command.clone(), uid: p.uid, limit: p.limit, fds }
}

/// The snapshot `opts` asks for, from a frame: the sockets its selection and filter keep,
/// with the details its extensions ask for, and the owners when asked.
pub fn snapshot(frame: &Frame, opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError> {
    let unsupported = |what: &str| Err(SnapshotError::Unsupported(format!("{what} cannot be answered from a capture")));
    if opts.threads {
        return unsupported("owners per thread (-T)");
    }
    if let Some(f) = &opts.filter
        && f.preds().iter().any(|p| matches!(p, Pred::Autobound))
    {
        return unsupported("'autobound' (the kernel's to say, at the moment of asking)");
    }
    let mut snap = Snapshot::default();
    // Text from a file, which anyone may have written: escaped as a live name is, so it reads
    // the same wherever it is printed (live warnings escape the names they hold).
    snap.warnings.extend(frame.warnings.iter().map(|w| crate::text::escape(w).into_owned()));
    // Gathered apart from `snap`, which notes what the reading finds, and put back after.
    let mut found = Vec::new();
    if opts.namespaces.is_empty() {
        each_socket(&frame.tables, opts, &mut snap, |s| found.push(s))?;
    } else {
        for ns in &opts.namespaces {
            let tables = if Some(ns.inode) == frame.own_netns {
                Some(&frame.tables)
            } else {
                frame.namespaces.iter().find(|r| r.inode == ns.inode).map(|r| &r.tables)
            };
            let Some(tables) = tables else {
                snap.warnings.push(format!("the capture does not hold the network namespace {}", ns.label()));
                continue;
            };
            let netns = std::num::NonZeroU64::new(ns.inode);
            each_socket(tables, opts, &mut snap, |mut s| {
                s.netns = netns;
                found.push(s);
            })?;
        }
        snap.namespaces.clone_from(&opts.namespaces);
    }
    snap.sockets = found;
    let needs_owners =
        opts.filter.as_ref().is_some_and(|f| f.preds().iter().any(|p| matches!(p, Pred::Pid(_) | Pred::Comm(_))));
    if opts.owners || needs_owners {
        snap.owners = Some(frame.owner_index());
    }
    if opts.containers && !opts.namespaces.is_empty() {
        let cgroups = frame.processes.iter().filter_map(|p| Some((p.pid, p.cgroup.clone()?))).collect();
        let pods = frame.pods.iter().map(|(uid, ns, name)| (uid.clone(), (ns.clone(), name.clone()))).collect();
        let paths = || frame.cgroups.iter().cloned().collect();
        // As live: from the owners when they were asked for, else the sockets' own cgroups.
        crate::collector::label_containers(&mut snap, crate::container::Labeler::recorded(cgroups, pods), paths);
    }
    if let Some(f) = &opts.filter
        && opts.kernel_filter != KernelFilter::Only
    {
        let ctx = eval_context(f, &snap, &opts.proc_root);
        let keep: Vec<bool> = snap.sockets.iter().map(|s| f.keeps(s, ctx)).collect();
        let mut keep = keep.into_iter();
        snap.sockets.retain(|_| keep.next().unwrap_or(false));
    }
    Ok(snap)
}

/// The frame's sockets `opts.selection` selects, in the order a live dump gives them: the
/// sock_diag tables first, then those read from /proc/net (as the live fallback appends them).
/// Each goes to `sink`; what reading them notes (warnings, fallbacks) to `snap`. A spooled
/// table that cannot be decompressed (memory ran out) is an error, after the other tables.
pub(crate) fn each_socket(
    tables: &[crate::capture::frame::Table],
    opts: &SnapshotOptions,
    snap: &mut Snapshot,
    mut sink: impl FnMut(Socket),
) -> Result<(), SnapshotError> {
    let mut unread = None;
    let sel = &opts.selection;
    let mut scratch = Vec::new();
    let mut fell_back = Vec::new();
    let mut warn = |w: String| {
        if !snap.warnings.contains(&w) {
            snap.warnings.push(w);
        }
    };
    if sel.has_netid(Netid::Mptcp) && !tables.iter().any(|t| t.name == TableName::Mptcp) {
        warn(
            "MPTCP sockets are not listed: the capture has no MPTCP table (it was written before sockscope read them)"
                .into(),
        );
    }
    for t in tables {
        let selected: Vec<Netid> = t.name.netids().iter().copied().filter(|n| sel.has_netid(*n)).collect();
        if selected.is_empty() {
            continue;
        }
        match &t.source {
            TableSource::Netlink(_) | TableSource::Spooled(_) => {
                let read = t.source.each_message(|payload| {
                    if let Some(s) =
                        crate::netlink::parse::recorded(payload, selected[0], opts.extensions, &mut scratch)
                            .filter(|s| sel.matches(s))
                    {
                        sink(s);
                    }
                });
                if let Err(e) = read {
                    unread = Some(format!("cannot read back the {:?} socket table: {e}", t.name));
                }
            }
            // No /proc/net file holds MPTCP sockets: the recorded reason is all there is.
            TableSource::ProcNet { failure, .. } if t.name == TableName::Mptcp => {
                warn(format!("MPTCP sockets are not listed: {failure}"));
            }
            TableSource::ProcNet { failure, .. } => {
                fell_back.push((t, selected.clone()));
                if !snap.fallbacks.contains(failure) {
                    snap.fallbacks.push(failure.clone());
                }
                for n in selected {
                    if !snap.fallback_tables.contains(&n) {
                        snap.fallback_tables.push(n);
                    }
                }
            }
        }
    }
    for (t, selected) in fell_back {
        let TableSource::ProcNet { files, .. } = &t.source else { continue };
        for (file, text) in files {
            // The family of the file, as the live fallback reads it.
            let found = t.name.netids().iter().flat_map(|n| crate::procfs::net::files(*n)).find(|(f, _)| f == file);
            let Some(&(_, family)) = found else {
                snap.warnings.push(format!("the capture's /proc/net/{file} is not a file of its table: left out"));
                continue;
            };
            if !sel.has_family(family) {
                continue;
            }
            // Parsed when it was read; text that no longer parses is left out, said once.
            match crate::procfs::net::parse_file(file, family, text) {
                Ok(parsed) => {
                    parsed.into_iter().filter(|s| sel.matches(s) && selected.contains(&s.netid)).for_each(&mut sink);
                }
                Err((line, what)) => snap.warnings.push(format!("the capture's /proc/net/{file} line {line}: {what}")),
            }
        }
    }
    unread.map_or(Ok(()), |why| Err(SnapshotError::Unsupported(why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture written by format version 1 (a private namespace, redacted) stays readable:
    /// the version policy's promise, checked on every build.
    #[test]
    fn a_version_1_capture_reads_and_replays() {
        let bytes = include_bytes!("../../tests/fixtures/capture_v1.cap");
        let c = crate::capture::Capture::from_bytes(bytes, std::path::Path::new("capture_v1.cap")).unwrap();
        assert!(c.header.redacted && c.header.written_by.starts_with("sockscope "));
        assert_eq!(c.frames.len(), 1);
        let f = &c.frames[0];
        assert!(f.processes.iter().all(|p| p.cmdline.is_none()), "redacted");
        assert!(f.processes.iter().any(|p| !p.fds.is_empty()));
        let all = crate::Selection::resolve(&[], &[], crate::model::StateSet::EVERY);
        let mut opts = crate::SnapshotOptions::new(all);
        opts.owners = true;
        let snap = snapshot(f, &opts).unwrap();
        assert_eq!(snap.sockets.len(), f.socket_count());
        assert!(snap.sockets.iter().any(|s| s.netid == crate::Netid::Netlink), "the recorder's own sock_diag socket");
        assert!(!f.counters().is_empty() && f.file("sys/fs/nr_open").is_some());
        // Version 1 had no MPTCP table: not "no MPTCP sockets", but unknown, and said.
        assert!(snap.warnings.iter().any(|w| w.contains("the capture has no MPTCP table")), "{:?}", snap.warnings);
        let tcp_only = crate::Selection::resolve(&[crate::Netid::Tcp], &[], crate::model::StateSet::EVERY);
        let snap = snapshot(f, &crate::SnapshotOptions::new(tcp_only)).unwrap();
        assert!(snap.warnings.iter().all(|w| !w.contains("MPTCP")), "{:?}", snap.warnings);
    }
}
