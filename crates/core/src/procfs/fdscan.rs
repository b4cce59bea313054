//! One pass over /proc/*/fd that builds the socket inode → (process, fd) index, and
//! `FdWalk`, the one reader of a /proc/PID/fd directory (`fds` reads tables through it too).
//!
//! Cost is linear in the number of fds on the host: fd numbers probed (or one getdents64 walk)
//! per directory with a reused buffer, one readlinkat per fd into a reused buffer, no
//! allocation per fd. Processes are only named (comm, uid) when they hold at least one socket.
//!
//! Where the kernel's task_file iterator loads (`crate::fd_iterator`), it lists the sockets
//! instead, without a readlink per fd; only the processes holding sockets are then read
//! here (their names and uids), and no cache is kept (none is needed).
//!
//! A walk can reuse what an earlier one read (`OwnerCache`): a process none of whose threads
//! has run since its table was read cannot have changed that table (opening, closing,
//! duplicating or receiving an fd is a syscall of one of its threads), so its sockets are
//! taken from the cache. Each thread's run time in nanoseconds and its count of times on a
//! CPU (/proc/PID/task/TID/schedstat) tell whether it ran (the kernel adds run time when a
//! thread leaves the CPU or at a tick; the count grows each time it comes back). They are
//! read before the table, so a change made while the table is read shows the next time.

use super::process::{is_out_of_fds, is_vanished, reason};
use crate::OwnerWalk;
use crate::fd_iterator::SocketFds;
use crate::model::{OwnerIndex, OwnerScanReport, Process};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::path::Path;

const DIR_BUFFER: usize = 64 * 1024;

/// How many unreadable pids a report names (the count is always complete).
pub const UNREADABLE_PIDS_KEPT: usize = 64;

/// Scans `proc_root` (normally `/proc`). With `threads`, every thread is listed as an owner
/// (its tid set), as `ss -T` does. Fails only when `proc_root` itself cannot be read.
///
/// The walk is split over the machine's cores: most of its time is spent in the kernel
/// (one lookup and readlink per fd), which parallelises well across processes.
#[cfg(any(test, feature = "testing"))]
pub fn scan(proc_root: &Path, threads: bool, walk: OwnerWalk) -> Result<OwnerIndex, super::ProcError> {
    let shared = SharedScan::prepare(proc_root, threads, None, walk)?;
    let mut scanners = std::thread::scope(|sc| {
        let helpers: Vec<_> = (0..shared.workers()).map(|_| sc.spawn(|| shared.work())).collect();
        helpers.into_iter().filter_map(|h| h.join().ok()).collect::<Vec<_>>()
    });
    let mut last = scanners.pop().unwrap_or_else(|| shared.scanner());
    shared.finish(&mut last);
    scanners.push(last);
    Ok(merge(scanners).0)
}

/// With fewer open files than this on the host, /proc/*/fd is read even where the
/// kernel's iterator loads: readlinks of them all cost less than preparing the iterator
/// (reading the kernel's 5 MB of BTF, 4 KiB a read, and loading the program: ~8 ms).
const KERNEL_WALK_FROM_FILES: u64 = 10_000;

/// Under this soft limit on sockscope's own fds, the /proc walk is used: the iterator's
/// three fds, held while the sockets are dumped, could take the ones the dump needs (at
/// `ulimit -n 5` the dump failed), where the walk reads what it could not open again, alone.
const KERNEL_WALK_FROM_FD_LIMIT: u64 = 64;

/// sockscope's soft limit on open fds (None: unlimited).
fn fd_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The files open on the host (the first of /proc/sys/fs/file-nr).
fn open_files(proc_root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(proc_root.join("sys/fs/file-nr")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Tables with fewer fds than this are read again each time: checking whether their
/// process ran costs about as much as reading them.
const CACHE_FROM_FDS: u64 = 8;

/// What each process's fd table held when it was last read, and the run times of its
/// threads then. Built by one walk, consulted by the next.
#[derive(Debug, Default)]
pub struct OwnerCache {
    by_pid: std::collections::HashMap<u32, std::sync::Arc<Cached>>,
}

/// How much of a walk came from the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Processes whose fd table was read.
    pub read: u32,
    /// Processes whose sockets were taken from the cache (none of their threads had run).
    pub reused: u32,
}

/// (tid, run time in ns, times on a CPU) of every thread of a process, by tid.
type Signature = Box<[(u32, u64, u64)]>;

/// One process's table as last read.
#[derive(Debug)]
struct Cached {
    signature: Signature,
    /// The process, when it holds sockets.
    process: Option<Process>,
    /// (inode, fd) of every socket it holds.
    sockets: Box<[(u64, u32)]>,
}

/// What reading one fd table (a process's, or one thread's with `-T`) came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Read,
    /// The process exited meanwhile: skipped, not an error.
    Vanished,
    Unreadable(Errno),
    /// We ran out of fds ourselves: try again when fewer are open.
    OutOfFds,
}

/// A /proc walk that several threads share: each takes the next pid until none is left, so
/// a thread that joins late (the one that dumped the sockets) still helps. The threads
/// share one open /proc and hold one more fd each while reading a table; a table that
/// could not be opened because sockscope ran out of fds (a tiny `ulimit -n`) is queued and
/// read again by `finish`, alone, after the others are done.
pub struct SharedScan<'a> {
    root: &'a Path,
    proc_dir: OwnedFd,
    pids: Vec<u32>,
    next: std::sync::atomic::AtomicUsize,
    threads: bool,
    /// (pid, tid) to read again; tid `None` means every thread of the pid (with -T) or the
    /// process (without).
    retry: std::sync::Mutex<Vec<(u32, Option<u32>)>>,
    hidepid: Option<String>,
    /// The previous walk's tables, when this walk keeps a cache (not with `threads`, nor
    /// with the kernel's iterator).
    cache: Option<&'a OwnerCache>,
    /// The kernel's iterator, when it loaded: one thread reads it and the others have
    /// nothing to do (`kernel_taken` says whether one has started).
    kernel: Option<SocketFds>,
    kernel_taken: std::sync::atomic::AtomicBool,
}

impl<'a> SharedScan<'a> {
    /// Lists the pids; fails only when `proc_root` cannot be read or is not procfs. With a
    /// `cache` (ignored with `threads`), processes that have not run since it was built are
    /// taken from it, and the walk's `merge` returns the cache for the next walk. With
    /// `OwnerWalk::Kernel`, or `Auto` on a host with many open files, the kernel's iterator
    /// is loaded where it can be (not with `threads`: it lists processes' tables, not
    /// threads'), and no cache is kept.
    pub fn prepare(
        proc_root: &'a Path,
        threads: bool,
        cache: Option<&'a OwnerCache>,
        walk: OwnerWalk,
    ) -> Result<SharedScan<'a>, super::ProcError> {
        let read_err = |e: Errno| super::ProcError::Read { path: proc_root.to_path_buf(), cause: e.into() };
        let proc_dir = rustix::fs::open(proc_root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(read_err)?;
        super::ensure_procfs(&proc_dir, proc_root)?;
        let mut pids = Vec::new();
        let mut dir_buf: Vec<MaybeUninit<u8>> = vec![MaybeUninit::uninit(); DIR_BUFFER];
        let mut iter = RawDir::new(&proc_dir, &mut dir_buf[..]);
        while let Some(entry) = iter.next() {
            let entry = entry.map_err(read_err)?;
            if let Some(pid) = parse_u32(entry.file_name().to_bytes()) {
                pids.push(pid);
            }
        }
        let wanted = match walk {
            OwnerWalk::Auto => open_files(proc_root).is_some_and(|n| n >= KERNEL_WALK_FROM_FILES),
            OwnerWalk::Kernel => true,
            OwnerWalk::Proc => false,
        } && fd_limit().is_none_or(|n| n >= KERNEL_WALK_FROM_FD_LIMIT);
        let kernel = (wanted && !threads && crate::fd_iterator::usable_with(proc_root))
            .then(SocketFds::load)
            .and_then(Result::ok);
        Ok(SharedScan {
            cache: cache.filter(|_| !threads && kernel.is_none()),
            kernel,
            kernel_taken: std::sync::atomic::AtomicBool::new(false),
            hidepid: super::hidepid(proc_root),
            root: proc_root,
            proc_dir,
            pids,
            next: std::sync::atomic::AtomicUsize::new(0),
            threads,
            retry: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Worker threads worth starting: one per core.
    pub fn workers(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(self.pids.len().max(1))
    }

    /// An empty scanner for this walk.
    pub fn scanner(&self) -> Scanner {
        Scanner::new(self.root, self.cache.is_some())
    }

    /// Takes pids until none is left; returns what this thread found. With the kernel's
    /// iterator, the first thread to come reads it and the others find nothing to do; if
    /// the read fails part way, that thread walks /proc alone instead.
    pub fn work(&self) -> Scanner {
        let mut scanner = self.scanner();
        if let Some(kernel) = &self.kernel {
            if self.kernel_taken.swap(true, std::sync::atomic::Ordering::Relaxed) {
                return scanner;
            }
            match scanner.read_kernel(kernel, &self.proc_dir, self.pids.len()) {
                Ok(again) => {
                    self.retry.lock().unwrap_or_else(|e| e.into_inner()).extend(again);
                    return scanner;
                }
                Err(_) => scanner = self.scanner(),
            }
        }
        loop {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&pid) = self.pids.get(i) else { break };
            let again = self.read(&mut scanner, pid, None);
            if !again.is_empty() {
                self.retry.lock().unwrap_or_else(|e| e.into_inner()).extend(again);
            }
        }
        scanner
    }

    /// One pid's table (or its threads', or one thread's with `tid`); returns what must be
    /// read again for lack of fds.
    fn read(&self, scanner: &mut Scanner, pid: u32, tid: Option<u32>) -> Vec<(u32, Option<u32>)> {
        if self.threads {
            scanner.scan_threads(&self.proc_dir, pid, tid)
        } else {
            scanner.scan_process(&self.proc_dir, pid, self.cache)
        }
    }

    /// Reads again, one at a time, the tables that could not be opened for lack of fds.
    /// Call it once the other threads are done (their fds are closed by then).
    pub fn finish(&self, scanner: &mut Scanner) {
        let retry = std::mem::take(&mut *self.retry.lock().unwrap_or_else(|e| e.into_inner()));
        for (pid, tid) in retry {
            let again = self.read(scanner, pid, tid);
            // Alone and still out of fds: the limit itself is too low. Say so, naming
            // sockscope's limit rather than the process.
            if !again.is_empty() {
                scanner.unreadable(pid, Errno::MFILE);
            }
        }
        scanner.report.hidepid.clone_from(&self.hidepid);
    }
}

/// Joins the workers' findings into one index, and the tables they remember into the cache
/// for the next walk (empty when the walk kept none).
pub fn merge(mut scanners: Vec<Scanner>) -> (OwnerIndex, OwnerCache, Reuse) {
    let mut cache = OwnerCache::default();
    let mut reuse = Reuse::default();
    let mut processes = Vec::new();
    // The largest share's entries stay where they are, its processes first so that their
    // indices stand: a copy was 16 MB more at a million sockets, where the kernel's iterator
    // gives every entry to one scanner.
    if let Some(largest) = (0..scanners.len()).max_by_key(|&i| scanners[i].entries.len()) {
        scanners.swap(0, largest);
    }
    let mut entries = scanners.first_mut().map(|s| std::mem::take(&mut s.entries)).unwrap_or_default();
    entries.reserve(scanners.iter().map(|s| s.entries.len()).sum());
    let mut report = OwnerScanReport::default();
    for s in scanners {
        let offset = processes.len() as u32;
        entries.extend(s.entries.iter().map(|&(inode, p, fd)| (inode, p + offset, fd)));
        processes.extend(s.processes);
        cache.by_pid.extend(s.kept);
        reuse.reused += s.reused;
        reuse.read += s.report.processes_scanned - s.reused;
        report.processes_scanned += s.report.processes_scanned;
        report.processes_unreadable += s.report.processes_unreadable;
        report.processes_vanished += s.report.processes_vanished;
        if report.unreadable_reason.is_none() {
            report.unreadable_reason = s.report.unreadable_reason;
        }
        report.hidepid = report.hidepid.or(s.report.hidepid);
        let room = UNREADABLE_PIDS_KEPT.saturating_sub(report.unreadable_pids.len());
        report.unreadable_pids.extend(s.report.unreadable_pids.into_iter().take(room));
    }
    report.unreadable_pids.sort_unstable();
    report.unreadable_pids.dedup();
    (OwnerIndex::new(processes, entries, report), cache, reuse)
}

/// One thread's share of a /proc walk.
pub struct Scanner {
    root: std::path::PathBuf,
    walk: FdWalk,
    path: String,
    processes: Vec<Process>,
    entries: Vec<(u64, u32, u32)>,
    report: OwnerScanReport,
    /// Whether tables are remembered for the next walk.
    keep: bool,
    kept: Vec<(u32, std::sync::Arc<Cached>)>,
    reused: u32,
    task_buf: Vec<MaybeUninit<u8>>,
}

impl Scanner {
    fn new(proc_root: &Path, keep: bool) -> Scanner {
        Scanner {
            root: proc_root.to_path_buf(),
            walk: FdWalk::new(),
            path: String::with_capacity(32),
            processes: Vec::new(),
            entries: Vec::new(),
            report: OwnerScanReport::default(),
            keep,
            kept: Vec::new(),
            reused: 0,
            task_buf: if keep { vec![MaybeUninit::uninit(); 4096] } else { Vec::new() },
        }
    }

    /// One process: its fd table, counted once, or what the cache has of it when none of
    /// its threads has run since. Returns what must be read again.
    fn scan_process(&mut self, proc_dir: &OwnedFd, pid: u32, cache: Option<&OwnerCache>) -> Vec<(u32, Option<u32>)> {
        if let Some(prev) = cache.and_then(|c| c.by_pid.get(&pid)) {
            match self.signature(proc_dir, pid) {
                Ok(now) if *now == *prev.signature => {
                    self.reuse(pid, prev);
                    return Vec::new();
                }
                // Read before the table, as a fresh signature must be.
                Ok(now) => return self.count_process(proc_dir, pid, Some(now)),
                Err(_) => {}
            }
        }
        self.count_process(proc_dir, pid, None)
    }

    /// Reads the table of `pid` and counts the process; `signature`, read just before,
    /// saves reading it again when the table is remembered.
    fn count_process(&mut self, proc_dir: &OwnedFd, pid: u32, signature: Option<Signature>) -> Vec<(u32, Option<u32>)> {
        match self.scan_table(proc_dir, pid, None, signature) {
            Outcome::Read => self.report.processes_scanned += 1,
            Outcome::Vanished => self.report.processes_vanished += 1,
            Outcome::Unreadable(e) => self.unreadable(pid, e),
            Outcome::OutOfFds => return vec![(pid, None)],
        }
        Vec::new()
    }

    /// Each thread of `pid` in turn (or only `only`), read through /proc/PID/task/TID. The
    /// process is counted once, whatever its number of threads: its threads share its
    /// credentials, so one unreadable thread means an unreadable process.
    fn scan_threads(&mut self, proc_dir: &OwnedFd, pid: u32, only: Option<u32>) -> Vec<(u32, Option<u32>)> {
        let tids: Vec<u32> = match only {
            Some(tid) => vec![tid],
            None => {
                self.path.clear();
                let _ = write!(self.path, "{pid}/task");
                match std::fs::read_dir(self.root.join(&self.path)) {
                    Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
                    Err(e) if e.raw_os_error().map(Errno::from_raw_os_error).is_some_and(is_out_of_fds) => {
                        return vec![(pid, None)];
                    }
                    Err(_) => {
                        self.report.processes_vanished += 1;
                        return Vec::new();
                    }
                }
            }
        };
        let mut again = Vec::new();
        let mut read = false;
        for tid in tids {
            match self.scan_table(proc_dir, pid, Some(tid), None) {
                Outcome::Read => read = true,
                Outcome::Vanished => {}
                Outcome::Unreadable(e) => {
                    self.unreadable(pid, e);
                    return Vec::new();
                }
                Outcome::OutOfFds => again.push((pid, Some(tid))),
            }
        }
        // A retried thread is counted with its process here, once.
        if read && only.is_none() {
            self.report.processes_scanned += 1;
        } else if !read && again.is_empty() && only.is_none() {
            self.report.processes_vanished += 1;
        }
        again
    }

    /// Every process's sockets as the kernel's iterator lists them, grouped by pid; each
    /// process holding one is named (`describe`). `listed` processes were in /proc when
    /// the walk began: the iterator read all their tables. Returns the pids to read again
    /// (through /proc) for lack of fds; an error means the pass was cut short and nothing
    /// of it may be used.
    fn read_kernel(
        &mut self,
        kernel: &SocketFds,
        proc_dir: &OwnedFd,
        listed: usize,
    ) -> Result<Vec<(u32, Option<u32>)>, Errno> {
        // A process's index among `processes`, or None when it exited or must be read again.
        let mut named: std::collections::HashMap<u32, Option<u32>> = std::collections::HashMap::new();
        let mut again = Vec::new();
        let (processes, entries, report) = (&mut self.processes, &mut self.entries, &mut self.report);
        let path = &mut self.path;
        kernel.read(|pid, fd, inode| {
            let index = *named.entry(pid).or_insert_with(|| match describe(path, proc_dir, pid, None) {
                Ok(p) => {
                    processes.push(p);
                    Some(processes.len() as u32 - 1)
                }
                Err(e) if is_out_of_fds(e) => {
                    again.push((pid, None));
                    None
                }
                Err(_) => {
                    report.processes_vanished += 1;
                    None
                }
            });
            if let Some(index) = index {
                entries.push((inode, index, fd));
            }
        })?;
        self.report.processes_scanned += (listed as u32).saturating_sub(self.report.processes_vanished);
        Ok(again)
    }

    /// Takes a process's sockets from the cache.
    fn reuse(&mut self, pid: u32, prev: &std::sync::Arc<Cached>) {
        if let Some(p) = &prev.process {
            let index = self.processes.len() as u32;
            self.processes.push(p.clone());
            self.entries.extend(prev.sockets.iter().map(|&(inode, fd)| (inode, index, fd)));
        }
        self.kept.push((pid, prev.clone()));
        self.reused += 1;
        self.report.processes_scanned += 1;
    }

    /// (tid, run time, times on a CPU) of every thread of `pid`, by tid.
    fn signature(&mut self, proc_dir: &OwnedFd, pid: u32) -> Result<Signature, Errno> {
        self.path.clear();
        let _ = write!(self.path, "{pid}/task");
        let task_dir = rustix::fs::openat(
            proc_dir,
            self.path.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut threads = Vec::new();
        let mut iter = RawDir::new(&task_dir, &mut self.task_buf[..]);
        while let Some(entry) = iter.next() {
            if let Some(tid) = parse_u32(entry?.file_name().to_bytes()) {
                threads.push(tid);
            }
        }
        let mut signature = Vec::with_capacity(threads.len());
        for tid in threads {
            self.path.clear();
            let _ = write!(self.path, "{tid}/schedstat");
            let fd =
                rustix::fs::openat(&task_dir, self.path.as_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            let mut buf = [0u8; 96];
            let n = rustix::io::read(&fd, &mut buf)?;
            let (run_ns, timeslices) = super::process::parse_schedstat(&buf[..n]).ok_or(Errno::INVAL)?;
            signature.push((tid, run_ns, timeslices));
        }
        signature.sort_unstable();
        Ok(signature.into_boxed_slice())
    }

    /// One fd table; what it holds goes into the index. A process's table (not a thread's)
    /// with enough fds is remembered when the scanner keeps tables, with `signature` or one
    /// read now, before the table.
    fn scan_table(&mut self, proc_dir: &OwnedFd, pid: u32, tid: Option<u32>, signature: Option<Signature>) -> Outcome {
        self.path.clear();
        match tid {
            Some(tid) => write!(self.path, "{pid}/task/{tid}/fd"),
            None => write!(self.path, "{pid}/fd"),
        }
        .unwrap_or(());
        let fd_dir = match rustix::fs::openat(
            proc_dir,
            self.path.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) if is_vanished(e) => return Outcome::Vanished,
            Err(e) if is_out_of_fds(e) => return Outcome::OutOfFds,
            Err(e) => return Outcome::Unreadable(e),
        };
        let signature = match signature {
            Some(s) => Some(s),
            None if self.keep && tid.is_none() && open_fds(&fd_dir) >= CACHE_FROM_FDS => {
                self.signature(proc_dir, pid).ok()
            }
            None => None,
        };
        let process_index = self.processes.len() as u32;
        let first_entry = self.entries.len();
        if let Err(e) = self.read_fds(&fd_dir, process_index) {
            self.entries.truncate(first_entry);
            return if is_vanished(e) { Outcome::Vanished } else { Outcome::Unreadable(e) };
        }
        drop(fd_dir);
        if self.entries.len() > first_entry {
            match self.describe(proc_dir, pid, tid) {
                Ok(p) => self.processes.push(p),
                Err(e) => {
                    // Exited between reading its fds and its name (skip it entirely), or
                    // out of fds for /comm (read it all again later).
                    self.entries.truncate(first_entry);
                    return if is_out_of_fds(e) { Outcome::OutOfFds } else { Outcome::Vanished };
                }
            }
        }
        if let Some(signature) = signature {
            let sockets = self.entries[first_entry..].iter().map(|&(inode, _, fd)| (inode, fd)).collect();
            let process = (self.entries.len() > first_entry).then(|| self.processes.last().cloned()).flatten();
            self.kept.push((pid, std::sync::Arc::new(Cached { signature, process, sockets })));
        }
        Outcome::Read
    }

    /// Records the sockets of one fd table.
    fn read_fds(&mut self, fd_dir: &OwnedFd, process_index: u32) -> Result<(), Errno> {
        let entries = &mut self.entries;
        self.walk.visit(fd_dir, |fd, _, link| {
            if let Some(inode) = socket_inode(link) {
                entries.push((inode, process_index, fd));
            }
        })
    }

    fn unreadable(&mut self, pid: u32, errno: Errno) {
        self.report.processes_unreadable += 1;
        if self.report.unreadable_pids.len() < UNREADABLE_PIDS_KEPT {
            self.report.unreadable_pids.push(pid);
        }
        if self.report.unreadable_reason.is_none() {
            self.report.unreadable_reason = Some(reason(errno));
        }
    }

    fn describe(&mut self, proc_dir: &OwnedFd, pid: u32, tid: Option<u32>) -> Result<Process, Errno> {
        describe(&mut self.path, proc_dir, pid, tid)
    }
}

/// comm and uid of a process that holds sockets (or of its thread `tid`), with `path` as
/// scratch; an error if it has exited (or we are out of fds).
fn describe(path: &mut String, proc_dir: &OwnedFd, pid: u32, tid: Option<u32>) -> Result<Process, Errno> {
    path.clear();
    let _ = match tid {
        Some(tid) => write!(path, "{pid}/task/{tid}"),
        None => write!(path, "{pid}"),
    };
    let stat = rustix::fs::statat(proc_dir, path.as_str(), rustix::fs::AtFlags::empty())?;
    path.push_str("/comm");
    let comm_fd = rustix::fs::openat(proc_dir, path.as_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = [0u8; 64];
    let n = rustix::io::read(&comm_fd, &mut buf)?;
    let comm = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]);
    let mut p = Process::new(pid, crate::model::lossless_text(comm), stat.st_uid);
    p.tid = tid;
    Ok(p)
}

/// The one way /proc/PID/fd is read: every open fd with its link, in ascending fd order,
/// into buffers reused from table to table.
///
/// Most tables are dense (fds 0..n with few holes), so they are read by trying fd numbers
/// in order: that saves listing the directory, which costs the kernel a quarter of the
/// time per fd. Since Linux 6.2 the size of /proc/PID/fd is its number of open fds, which
/// says when to stop; a table with many holes, or an older kernel, is listed instead.
pub struct FdWalk {
    dir_buf: Vec<MaybeUninit<u8>>,
    link_buf: Vec<u8>,
}

impl Default for FdWalk {
    fn default() -> Self {
        FdWalk::new()
    }
}

impl FdWalk {
    pub fn new() -> FdWalk {
        // A link is at most PATH_MAX bytes.
        FdWalk { dir_buf: vec![MaybeUninit::uninit(); DIR_BUFFER], link_buf: vec![0u8; 4096] }
    }

    /// Calls `visit(fd, name, link)` for every fd of the open directory `fd_dir`
    /// (`/proc/PID/fd` or `/proc/PID/task/TID/fd`); `name` is the fd's entry name, for
    /// reading its fdinfo or stat through it. An fd closed meanwhile is skipped.
    pub fn visit(&mut self, fd_dir: &OwnedFd, mut visit: impl FnMut(u32, &std::ffi::CStr, &[u8])) -> Result<(), Errno> {
        let open = open_fds(fd_dir);
        let hole_budget = 16 + open / 16;
        let (mut found, mut holes, mut next) = (0u64, 0u64, 0u32);
        while found < open && holes <= hole_budget {
            if self.visit_one(fd_dir, next, &mut visit)? {
                found += 1;
            } else {
                holes += 1;
            }
            next += 1;
        }
        if open > 0 && found >= open {
            return Ok(());
        }
        // List the directory for the fds not probed yet (in ascending order, as /proc lists).
        let mut dir_buf = std::mem::take(&mut self.dir_buf);
        let mut iter = RawDir::new(fd_dir, &mut dir_buf[..]);
        let mut result = Ok(());
        while let Some(entry) = iter.next() {
            let fd = match entry {
                Ok(entry) => parse_u32(entry.file_name().to_bytes()),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if let Some(fd) = fd.filter(|&fd| fd >= next)
                && let Err(e) = self.visit_one(fd_dir, fd, &mut visit)
            {
                result = Err(e);
                break;
            }
        }
        self.dir_buf = dir_buf;
        result
    }

    /// One fd: `Ok(false)` when there is no such fd (a hole, or closed since listed).
    fn visit_one(
        &mut self,
        fd_dir: &OwnedFd,
        fd: u32,
        visit: &mut impl FnMut(u32, &std::ffi::CStr, &[u8]),
    ) -> Result<bool, Errno> {
        let mut name = [0u8; 12];
        let name = fd_name(fd, &mut name);
        match rustix::fs::readlinkat_raw(fd_dir.as_fd(), name, &mut self.link_buf[..]) {
            Ok(n) => {
                visit(fd, name, &self.link_buf[..n.min(self.link_buf.len())]);
                Ok(true)
            }
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The number of open fds of an open /proc/PID/fd (its size, since Linux 6.2; 0 before).
fn open_fds(fd_dir: &OwnedFd) -> u64 {
    rustix::fs::fstat(fd_dir).map_or(0, |st| u64::try_from(st.st_size).unwrap_or(0))
}

/// One fd as `walk_process` shows it: its number, its entry name and directory (to stat it or
/// read its fdinfo through), and its link.
pub struct FdVisit<'a> {
    pub fd: u32,
    pub name: &'a std::ffi::CStr,
    pub fd_dir: &'a OwnedFd,
    pub link: &'a [u8],
}

/// Every fd of process `pid` (the one /proc/PID/fd walk, for callers outside this module).
/// Errors are those of opening or reading the directory; classify them with
/// `process::classify`.
pub fn walk_process(
    proc_root: &Path,
    pid: u32,
    walk: &mut FdWalk,
    mut visit: impl FnMut(FdVisit<'_>),
) -> Result<(), Errno> {
    let path = proc_root.join(pid.to_string()).join("fd");
    let fd_dir = rustix::fs::open(&path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    walk.visit(&fd_dir, |fd, name, link| visit(FdVisit { fd, name, fd_dir: &fd_dir, link }))
}

/// The decimal name of an fd as a C string, written into `buf`.
fn fd_name(fd: u32, buf: &mut [u8; 12]) -> &std::ffi::CStr {
    let mut scratch = itoa::Buffer::new();
    let digits = scratch.format(fd).as_bytes();
    buf[..digits.len()].copy_from_slice(digits);
    buf[digits.len()] = 0;
    std::ffi::CStr::from_bytes_with_nul(&buf[..=digits.len()]).unwrap_or_default()
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    parse_u32(digits).map(u64::from).or_else(|| std::str::from_utf8(digits).ok()?.parse().ok())
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_parse() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"socket:[18446744073709551615]"), Some(u64::MAX));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12"), None);
    }

    #[test]
    fn fd_names_are_decimal_c_strings() {
        let mut buf = [0u8; 12];
        for fd in [0, 7, 10, 12345, u32::MAX] {
            assert_eq!(fd_name(fd, &mut buf).to_str().ok(), Some(fd.to_string().as_str()));
        }
    }

    #[test]
    fn a_table_with_holes_is_read_whole() {
        // Open many fds, close most of them, keep a socket far beyond the holes.
        let files: Vec<std::fs::File> = (0..300).map(|_| std::fs::File::open("/dev/null").expect("open")).collect();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        drop(files);
        let inode = rustix::fs::fstat(&sock).expect("fstat").st_ino;
        let index = scan(Path::new("/proc"), false, OwnerWalk::Auto).expect("scan /proc");
        use std::os::fd::AsRawFd;
        let fds: Vec<u32> = index.owners(inode).map(|o| o.fd).collect();
        assert_eq!(fds, vec![sock.as_raw_fd() as u32]);
    }

    /// The kernel's iterator and the /proc walk give the same owners, pids, names and fds
    /// for processes this test made: one holding a listener, a connection and a socket
    /// pair end, one holding the same connection (inherited) and the pair's other end.
    #[test]
    fn the_kernels_iterator_and_the_proc_walk_agree() {
        use std::os::fd::OwnedFd;
        use std::process::{Command, Stdio};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let conn = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let spawn = |fds: [OwnedFd; 3]| {
            let [i, o, e] = fds;
            Command::new("sleep")
                .arg("30")
                .stdin(Stdio::from(i))
                .stdout(Stdio::from(o))
                .stderr(Stdio::from(e))
                .spawn()
                .expect("spawn sleep")
        };
        let held = OwnedFd::from(conn.try_clone().expect("dup"));
        let mut first = spawn([OwnedFd::from(listener), OwnedFd::from(conn), OwnedFd::from(a)]);
        let mut second =
            spawn([held, OwnedFd::from(b), OwnedFd::from(std::fs::File::open("/dev/null").expect("open"))]);
        let pids = [first.id(), second.id()];
        pids.into_iter().for_each(crate::fd_iterator::tests::asleep);
        let owners = |walk| {
            let index = scan(Path::new("/proc"), false, walk).expect("scan /proc");
            let mut mine: Vec<(u32, String, u32, u32)> = Vec::new();
            for pid in pids {
                for fd in 0..3u32 {
                    let Ok(link) = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) else { continue };
                    let Some(inode) = socket_inode(link.as_os_str().as_encoded_bytes()) else { continue };
                    mine.extend(
                        index
                            .owners(inode)
                            .map(|o| (o.process.pid, o.process.command.to_string(), o.process.uid, o.fd)),
                    );
                }
            }
            mine.sort();
            mine.dedup();
            mine
        };
        let (kernel, proc) = (owners(OwnerWalk::Kernel), owners(OwnerWalk::Proc));
        for child in [&mut first, &mut second] {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!(kernel, proc);
        // The listener, the connection's client end (in both), the pair's two ends: five fds.
        assert_eq!(proc.len(), 5, "{proc:?}");
    }

    #[test]
    fn finds_our_own_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let inode = rustix::fs::fstat(&listener).expect("fstat").st_ino;
        let index = scan(Path::new("/proc"), false, OwnerWalk::Auto).expect("scan /proc");
        let me = std::process::id();
        let owners: Vec<u32> = index.owners(inode).map(|o| o.process.pid).collect();
        assert_eq!(owners, vec![me]);
        let fd = index.owners(inode).next().map(|o| o.fd);
        use std::os::fd::AsRawFd;
        assert_eq!(fd, Some(listener.as_raw_fd() as u32));
    }
}
