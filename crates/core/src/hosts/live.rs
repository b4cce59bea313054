//! The running host, read through core's readers (sock_diag, /proc) under a procfs root.

use super::host::{FdCount, FdSocket, FdTable, FileHolders, Host, LaterLook, PathKind, Refresh, UnixFile};
use crate::capture::fdlist::FdList;
use crate::collector::Collector;
use crate::model::{FdEntry, FdKind, FdName, Later, Netid, SecondLook, Socket, Special, StateSet};
use crate::netns::{self, Netns};
use crate::procfs::fdscan::{FdWalk, walk_process};
use crate::procfs::fdtable::{self, ReadOptions};
use crate::procfs::process::{self, Unreadable};
use crate::procfs::{self, counters};
use crate::select::Selection;
use crate::snapshot::{Snapshot, SnapshotError, SnapshotOptions};
use crate::sockopts::{Report as OptionReport, SockOpts, Unreadable as OptionUnreadable};
use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The running host under `proc_root` (`/proc` except in tests).
#[derive(Clone, Debug)]
pub struct LiveHost {
    proc_root: PathBuf,
}

impl Default for LiveHost {
    fn default() -> Self {
        LiveHost::new("/proc")
    }
}

impl LiveHost {
    pub fn new(proc_root: impl Into<PathBuf>) -> LiveHost {
        LiveHost { proc_root: proc_root.into() }
    }
}

struct Collecting(Collector);

impl Refresh for Collecting {
    fn next(&mut self) -> Result<Arc<Snapshot>, SnapshotError> {
        self.0.collect()
    }

    fn reuse(&self) -> crate::procfs::fdscan::Reuse {
        self.0.last_reuse()
    }
}

impl Host for LiveHost {
    fn snapshot(&self, opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError> {
        Collector::once(opts.clone()).take()
    }

    fn stream(&self, opts: &SnapshotOptions, sink: &mut dyn FnMut(Socket)) -> Result<Option<Snapshot>, SnapshotError> {
        crate::stream::sockets(opts, sink)
    }

    fn refresher(&self, opts: SnapshotOptions) -> Box<dyn Refresh> {
        Box::new(Collecting(Collector::new(opts)))
    }

    fn text_of(&self, path: &str) -> Option<String> {
        kernel_file(&self.proc_root, path)
    }

    /// Several namespaces' counters are read through a process in each (each namespace
    /// counts its own; a listener overflowing in a container counts in the container's).
    fn counters(&self, namespaces: &[Netns], _notes: &mut Vec<String>) -> HashMap<String, u64> {
        let root = &self.proc_root;
        let mut sum = counters::read(&root.join("thread-self/net"));
        let own = netns::own(root);
        for ns in namespaces.iter().filter(|ns| Some(ns.inode) != own) {
            let Some(pid) = ns.pid else { continue };
            for (k, v) in counters::read(&root.join(pid.to_string()).join("net")) {
                *sum.entry(k).or_default() += v;
            }
        }
        sum
    }

    fn namespaces(&self) -> Result<Vec<Netns>, SnapshotError> {
        Ok(netns::discover(&self.proc_root))
    }

    fn namespaces_noting_unread(&self) -> Result<(Vec<Netns>, Option<crate::netns::Unread>), SnapshotError> {
        Ok(netns::discover_noting_unread(&self.proc_root))
    }

    fn selected_namespaces(&self, specs: &[String]) -> Result<Vec<Netns>, netns::NetnsError> {
        netns::selected(specs, &self.proc_root)
    }

    fn own_netns(&self) -> Option<u64> {
        netns::own(&self.proc_root)
    }

    fn pids(&self) -> Result<Vec<u32>, crate::ProcError> {
        process::pids(&self.proc_root).map_err(|cause| crate::ProcError::Read { path: self.proc_root.clone(), cause })
    }

    fn command(&self, pid: u32) -> Option<String> {
        process::comm(&self.proc_root, pid).ok()
    }

    fn fd_tables(&self, pids: &[u32], read: ReadOptions) -> Vec<Result<FdTable, Unreadable>> {
        read_processes(&self.proc_root, pids, read)
    }

    /// Only the links are read (and the fdinfo of eventfds, for their ids): a process that
    /// cannot be read adds nothing, so its fds are nobody's peers.
    fn shared_fds(&self, pids: &[u32], add: &mut dyn FnMut(u32, Option<&str>, &FdEntry)) {
        let root = &self.proc_root;
        let mut walk = FdWalk::new();
        for &pid in pids {
            let _ = walk_process(root, pid, &mut walk, |v| {
                let shared = [&b"pipe:"[..], b"socket:", b"anon_inode:[eventfd]"];
                if !shared.iter().any(|p| v.link.starts_with(p)) {
                    return;
                }
                let link = crate::text::lossless_text(v.link);
                let mut entry = fdtable::entry_for(FdName::Number(v.fd), link, || None);
                if entry.kind == FdKind::Eventfd {
                    entry.details =
                        crate::procfs::fdinfo::read(root, pid, v.fd).ok().and_then(|info| info.details).map(Box::new);
                }
                add(pid, None, &entry);
            });
        }
    }

    fn fd_counts(&self) -> Vec<FdCount> {
        let root = &self.proc_root;
        let mut out = Vec::new();
        for pid in process::pids(root).unwrap_or_default() {
            let Ok(open) = process::open_fds(root, pid) else { continue };
            let limit = process::fd_limit(root, pid).unwrap_or_default();
            let Ok(command) = process::comm(root, pid) else { continue };
            out.push(FdCount { pid, command, open, limit });
        }
        out
    }

    fn socket_protocol(&self, pid: u32, fd: &FdName) -> Option<String> {
        fdtable::socket_protocol(&self.proc_root, pid, fd)
    }

    fn shares_netns(&self, pid: u32) -> bool {
        // The tables are dumped in this thread's namespace.
        let ours = process::netns(&self.proc_root, "thread-self");
        ours.is_some() && process::netns(&self.proc_root, &pid.to_string()) == ours
    }

    fn vanished(&self) -> u32 {
        0
    }

    fn fd_notes(&self, _read: ReadOptions) -> Vec<String> {
        Vec::new()
    }

    fn hidepid(&self) -> Option<String> {
        procfs::hidepid(&self.proc_root)
    }

    fn socket_options(&self, snap: &Snapshot, sockets: &[&Socket], flows: bool) -> OptionReport {
        if flows {
            OptionReport::read_flows(snap, sockets, &self.proc_root)
        } else {
            OptionReport::read(snap, sockets, &self.proc_root)
        }
    }

    /// Split over the cores: each socket costs some twenty system calls.
    fn fd_socket_options(&self, fds: &[FdSocket]) -> Vec<Result<SockOpts, OptionUnreadable>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let chunk = fds.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let parts: Vec<_> = fds
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut reader = crate::sockopts::Reader::new(&self.proc_root);
                        part.iter().map(|f| reader.read(f.pid, f.fd, f.kind)).collect::<Vec<_>>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .zip(fds.chunks(chunk))
                // A reading thread does not panic; if one did, its sockets read as unknown.
                .flat_map(|(h, part)| h.join().unwrap_or_else(|_| vec![Err(OptionUnreadable::Gone); part.len()]))
                .collect()
        })
    }

    fn second_look(
        &self,
        window: Duration,
        namespaces: &[Netns],
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<LaterLook, SnapshotError> {
        std::thread::sleep(window);
        let second = if namespaces.is_empty() {
            second_look(&self.proc_root, keep)?
        } else {
            let mut second = self.second_look_in(namespaces)?;
            second.retain(keep);
            second
        };
        let mut notes = Vec::new();
        let counters = self.counters(namespaces, &mut notes);
        Ok(LaterLook { second, counters, window, notes })
    }

    fn stale_sockets(&self, dirs: &[PathBuf], snap: &Snapshot, _notes: &mut Vec<String>) -> Vec<PathBuf> {
        self.stale_socket_files(dirs, &bound_paths(snap.sockets.iter()))
    }

    fn unix_file(&self, path: &str) -> UnixFile {
        if Path::new(path).exists() {
            UnixFile::Present { bound_elsewhere: other_namespaces_bind(path, &self.proc_root) }
        } else {
            UnixFile::Absent
        }
    }

    fn path(&self, text: &str) -> std::io::Result<Option<PathKind>> {
        use std::os::unix::fs::FileTypeExt;
        if !(text.starts_with('/') || text.starts_with('.') || Path::new(text).exists()) {
            return Ok(None);
        }
        let path = std::fs::canonicalize(text)?;
        let is_socket = std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_socket());
        Ok(Some(if is_socket { PathKind::Socket(crate::text::path_text(&path)) } else { PathKind::File(path) }))
    }

    fn file_holders(&self, path: &Path) -> Result<FileHolders, SnapshotError> {
        file_holders(path, &self.proc_root)
    }

    fn cgroup_paths(&self) -> HashMap<u64, String> {
        crate::names::cgroup_paths(&crate::host::cgroup2_root())
    }

    fn interfaces(&self, ns: Option<&Netns>) -> Option<crate::names::Interfaces> {
        match ns {
            None => Some(crate::names::Interfaces::new()),
            Some(ns) => netns::interfaces_in(ns).ok(),
        }
    }

    fn taken_at(&self) -> Option<std::time::SystemTime> {
        None
    }

    fn destroy(&self, socket: &Socket) -> Result<(), String> {
        crate::destroy::Destroyer::open().and_then(|mut d| d.destroy(socket)).map_err(|e| e.to_string())
    }

    fn has_process(&self, pid: u32) -> bool {
        crate::host::process_exists(&self.proc_root, pid)
    }

    fn proc_root(&self) -> &Path {
        &self.proc_root
    }
}

impl LiveHost {
    /// The second look over several namespaces: their TCP sockets by cookie (cookies are
    /// unique on the host), through the collector, which enters each namespace.
    fn second_look_in(&self, namespaces: &[Netns]) -> Result<SecondLook, SnapshotError> {
        let mut tcp = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], StateSet::EVERY));
        tcp.proc_root = self.proc_root.clone();
        tcp.namespaces = namespaces.to_vec();
        tcp.containers = false;
        Ok(SecondLook::of(&self.snapshot(&tcp)?.sockets))
    }
}

/// A kernel file under /proc by its path there (`net/…` through thread-self: a thread may be
/// in another network namespace than its process).
pub fn kernel_file(root: &Path, name: &str) -> Option<String> {
    let path = match name.strip_prefix("net/") {
        Some(file) => procfs::net_dir(root).join(file),
        None => root.join(name),
    };
    std::fs::read_to_string(path).ok()
}

/// The second look: each TCP socket's state and queues by cookie, parsed straight from the
/// dump (no snapshot is built, so two full snapshots never coexist in memory).
fn second_look(proc_root: &Path, keep: &dyn Fn(u64) -> bool) -> Result<SecondLook, SnapshotError> {
    use crate::netlink::{DiagSocket, parse, request};
    let mut out = Vec::new();
    let Ok(mut diag) = DiagSocket::open() else {
        // Without sock_diag there are no cookies to follow: read the tables from /proc.
        let mut opts = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], StateSet::EVERY));
        opts.proc_root = proc_root.to_path_buf();
        let _ = Collector::once(opts).take()?;
        return Ok(SecondLook::default());
    };
    for af in [request::AF_INET, request::AF_INET6] {
        let req = request::inet(af, request::IPPROTO_TCP, StateSet::EVERY, 0);
        diag.dump("tcp", &req, |p| {
            if let Some(s) = parse::inet(p, Netid::Tcp)
                && let Some(c) = s.cookie
                && keep(c.get())
            {
                out.push((c.get(), Later { state: s.state, recv_q: s.recv_q, send_q: s.send_q.unwrap_or(0) }));
            }
        })?;
    }
    Ok(out.into_iter().collect())
}

/// Every process's table, in the order of `pids`, read on every core: the kernel time of
/// reading links and fdinfo divides well across processes.
pub(crate) fn read_processes(root: &Path, pids: &[u32], read: ReadOptions) -> Vec<Result<FdTable, Unreadable>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&pid) = pids.get(i) else { break };
            mine.push((i, read_process(root, pid, read)));
        }
        mine
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(pids.len().max(1));
    let mut all: Vec<(usize, Result<FdTable, Unreadable>)> = std::thread::scope(|sc| {
        let helpers: Vec<_> = (1..threads).map(|_| sc.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            // A helper that panicked leaves its pids unread; they are reported as vanished.
            all.extend(h.join().unwrap_or_default());
        }
        all
    });
    all.sort_unstable_by_key(|(i, _)| *i);
    let mut out: Vec<Result<FdTable, Unreadable>> = Vec::with_capacity(pids.len());
    let mut all = all.into_iter().peekable();
    for i in 0..pids.len() {
        match all.next_if(|(j, _)| *j == i) {
            Some((_, r)) => out.push(r),
            None => out.push(Err(Unreadable::Gone)),
        }
    }
    out
}

fn read_process(root: &Path, pid: u32, read: ReadOptions) -> Result<FdTable, Unreadable> {
    let command = process::comm(root, pid).map_err(|e| process::classify(&e))?;
    let uid = process::uid(root, pid).map_err(|e| process::classify(&e))?;
    let limit = process::fd_limit(root, pid).unwrap_or_default();
    // Packed as soon as it is read: every process's table is held until the dump is in.
    let mut fds = FdList::new();
    fdtable::read_each(root, pid, read, |entry| fds.push(&entry))?;
    fds.shrink();
    Ok(FdTable { pid, command, uid, limit, fds })
}

/// The file paths Unix sockets among `sockets` are bound to (not abstract names).
fn bound_paths<'a>(sockets: impl Iterator<Item = &'a Socket>) -> HashSet<&'a str> {
    sockets.filter_map(bound_path).collect()
}

/// The file path a Unix socket is bound to, if it is bound to one.
pub(crate) fn bound_path(s: &Socket) -> Option<&str> {
    match &s.local {
        crate::model::Endpoint::Unix { name: Some(n), .. } if !n.is_abstract => Some(&n.path),
        _ => None,
    }
}

impl LiveHost {
    /// The socket files under `dirs` no socket is bound to, in any namespace; `bound`: the
    /// paths this namespace's sockets are bound to.
    pub(crate) fn stale_socket_files<K: Borrow<str> + Hash + Eq>(
        &self,
        dirs: &[PathBuf],
        bound: &HashSet<K>,
    ) -> Vec<PathBuf> {
        // Without /proc, other namespaces' binds cannot be read: no file is proven stale.
        if !self.proc_root.join("self").exists() {
            return Vec::new();
        }
        dirs.iter().flat_map(|dir| stale_sockets(dir, bound, &self.proc_root)).collect()
    }
}

/// Socket files under `dir` (at most 4 levels deep, 100 000 entries) that no socket in this
/// or any other namespace is bound to (`bound`: this namespace's).
fn stale_sockets<K: Borrow<str> + Hash + Eq>(dir: &Path, bound: &HashSet<K>, root: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    let mut seen = 0;
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            seen += 1;
            if seen > 100_000 {
                return out;
            }
            let Ok(t) = e.file_type() else { continue };
            let path = e.path();
            if t.is_dir() && depth < 4 {
                stack.push((path, depth + 1));
            } else if t.is_socket() {
                // The same lossless text the socket names were read into, so a path that is
                // not UTF-8 still matches its socket.
                let text = crate::text::path_text(&path);
                // Stale only when every namespace was looked at and none binds it.
                if !bound.contains(&*text) && other_namespaces_bind(&text, root) == Some(false) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
}

/// Whether a socket in any other network namespace is bound to `path`, so a socket file is
/// not called stale when it is not; `None` when that cannot be told (no privilege to look at
/// some namespaces).
fn other_namespaces_bind(path: &str, proc_root: &Path) -> Option<bool> {
    // /proc/net/unix has the path's bytes as they are.
    let want = crate::text::raw_bytes(path).unwrap_or_else(|| path.as_bytes().to_vec());
    crate::procfs::net::unix_bound_in_other_namespaces(&want, proc_root)
}

/// Every process with the file open, as its cwd, root or executable, or mapped. An error
/// when the file or /proc cannot be read: "nobody holds it" must never stand for "could not
/// look".
fn file_holders(path: &Path, proc_root: &Path) -> Result<FileHolders, SnapshotError> {
    use std::os::unix::fs::MetadataExt;
    let mut r = FileHolders::default();
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| SnapshotError::Proc(crate::procfs::ProcError::Read { path, cause })
    };
    let target = std::fs::metadata(path).map_err(read_err(path))?;
    let (dev, ino) = (target.dev(), target.ino());
    let mut walk = FdWalk::new();
    for pid in process::pids(proc_root).map_err(read_err(proc_root))? {
        let mut hits: Vec<FdName> =
            process::special_links_to(proc_root, pid, dev, ino).into_iter().map(FdName::Special).collect();
        let walked = walk_process(proc_root, pid, &mut walk, |v| {
            // Only paths can be the file: sockets, pipes and anon inodes are not statted.
            if v.link.starts_with(b"/")
                && rustix::fs::statat(v.fd_dir, v.name, rustix::fs::AtFlags::empty())
                    .is_ok_and(|m| m.st_dev == dev && m.st_ino == ino)
            {
                hits.push(FdName::Number(v.fd));
            }
        });
        if let Err(e) = walked
            && let process::Unreadable::Denied(why) = process::classify(&e.into())
        {
            r.unreadable.push((pid, why));
        }
        if process::maps_file(proc_root, pid, dev, ino) {
            hits.push(FdName::Special(Special::Mem));
        }
        if hits.is_empty() {
            continue;
        }
        let command = process::comm(proc_root, pid).unwrap_or_else(|_| "?".into());
        let uid = process::uid(proc_root, pid).unwrap_or(u32::MAX);
        r.holders.extend(hits.into_iter().map(|fd| (pid, command.clone(), uid, fd)));
    }
    Ok(r)
}
