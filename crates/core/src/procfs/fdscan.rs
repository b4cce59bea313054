//! One pass over /proc/*/fd that builds the socket inode → (process, fd) index.
//!
//! Cost is linear in the number of fds on the host: one getdents64 walk per directory with a
//! reused buffer, one readlinkat per fd into a reused buffer, no allocation per fd. Processes
//! are only named (comm, uid) when they hold at least one socket.

use crate::model::{OwnerIndex, OwnerScanReport, Process};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::path::Path;

const DIR_BUFFER: usize = 64 * 1024;

/// Why a process's fds could not be read, for the user.
fn reason(errno: Errno) -> String {
    if (errno == Errno::ACCESS || errno == Errno::PERM) && !rustix::process::geteuid().is_root() {
        "permission denied: other users' processes; run as root to see their owners".to_string()
    } else if errno == Errno::ACCESS || errno == Errno::PERM {
        "permission denied even to root: ptrace access to the process is refused".to_string()
    } else {
        format!("{errno}")
    }
}

fn is_vanished(errno: Errno) -> bool {
    errno == Errno::NOENT || errno == Errno::SRCH
}

/// Scans `proc_root` (normally `/proc`). With `threads`, every thread is listed as an owner
/// (its tid set), as `ss -T` does. Fails only when `proc_root` itself cannot be read.
///
/// The walk is split over the machine's cores: most of its time is spent in the kernel
/// (one lookup and readlink per fd), which parallelises well across processes.
pub fn scan(proc_root: &Path, threads: bool) -> Result<OwnerIndex, super::ProcError> {
    let shared = SharedScan::prepare(proc_root, threads)?;
    let scanners = std::thread::scope(|sc| {
        let helpers: Vec<_> = (0..shared.workers()).map(|_| sc.spawn(|| shared.work())).collect();
        helpers.into_iter().filter_map(|h| h.join().ok()).collect::<Result<Vec<_>, _>>()
    })?;
    Ok(merge(scanners))
}

/// A /proc walk that several threads share: each takes the next pid until none is left, so
/// a thread that joins late (the one that dumped the sockets) still helps.
pub struct SharedScan<'a> {
    root: &'a Path,
    pids: Vec<u32>,
    next: std::sync::atomic::AtomicUsize,
    threads: bool,
}

impl<'a> SharedScan<'a> {
    /// Lists the pids; fails only when `proc_root` cannot be read or is not procfs.
    pub fn prepare(proc_root: &'a Path, threads: bool) -> Result<SharedScan<'a>, super::ProcError> {
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
        Ok(SharedScan { root: proc_root, pids, next: std::sync::atomic::AtomicUsize::new(0), threads })
    }

    /// Worker threads worth starting: one per core.
    pub fn workers(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(self.pids.len().max(1))
    }

    /// Takes pids until none is left; returns what this thread found.
    pub fn work(&self) -> Result<Scanner, super::ProcError> {
        let mut scanner = Scanner::new(self.root)?;
        loop {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&pid) = self.pids.get(i) else { break };
            if self.threads {
                scanner.scan_threads(pid);
            } else {
                scanner.scan_process(pid, None);
            }
        }
        Ok(scanner)
    }
}

/// Joins the workers' findings into one index.
pub fn merge(scanners: Vec<Scanner>) -> OwnerIndex {
    let mut processes = Vec::new();
    let mut entries = Vec::with_capacity(scanners.iter().map(|s| s.entries.len()).sum());
    let mut report = OwnerScanReport::default();
    for s in scanners {
        let offset = processes.len() as u32;
        entries.extend(s.entries.iter().map(|&(inode, p, fd)| (inode, p + offset, fd)));
        processes.extend(s.processes);
        report.processes_scanned += s.report.processes_scanned;
        report.processes_unreadable += s.report.processes_unreadable;
        report.processes_vanished += s.report.processes_vanished;
        if report.unreadable_reason.is_none() {
            report.unreadable_reason = s.report.unreadable_reason;
        }
        let room = 64usize.saturating_sub(report.unreadable_pids.len());
        report.unreadable_pids.extend(s.report.unreadable_pids.into_iter().take(room));
    }
    report.unreadable_pids.sort_unstable();
    OwnerIndex::new(processes, entries, report)
}

/// One thread's share of a /proc walk.
pub struct Scanner {
    root: std::path::PathBuf,
    proc_dir: OwnedFd,
    dir_buf: Vec<MaybeUninit<u8>>,
    link_buf: Vec<u8>,
    path: String,
    processes: Vec<Process>,
    entries: Vec<(u64, u32, u32)>,
    report: OwnerScanReport,
}

impl Scanner {
    fn new(proc_root: &Path) -> Result<Scanner, super::ProcError> {
        let proc_dir = rustix::fs::open(proc_root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| super::ProcError::Read { path: proc_root.to_path_buf(), cause: e.into() })?;
        Ok(Scanner {
            root: proc_root.to_path_buf(),
            proc_dir,
            dir_buf: vec![MaybeUninit::uninit(); DIR_BUFFER],
            link_buf: vec![0u8; 256],
            path: String::with_capacity(32),
            processes: Vec::new(),
            entries: Vec::new(),
            report: OwnerScanReport::default(),
        })
    }

    /// Each thread of `pid` in turn, read through /proc/PID/task/TID.
    fn scan_threads(&mut self, pid: u32) {
        self.path.clear();
        let _ = write!(self.path, "{pid}/task");
        let tids: Vec<u32> = match std::fs::read_dir(self.root.join(&self.path)) {
            Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
            Err(_) => {
                self.report.processes_vanished += 1;
                return;
            }
        };
        for tid in tids {
            self.scan_process(pid, Some(tid));
        }
    }

    fn scan_process(&mut self, pid: u32, tid: Option<u32>) {
        self.path.clear();
        match tid {
            Some(tid) => write!(self.path, "{pid}/task/{tid}/fd"),
            None => write!(self.path, "{pid}/fd"),
        }
        .unwrap_or(());
        let fd_dir = match rustix::fs::openat(
            &self.proc_dir,
            self.path.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) if is_vanished(e) => {
                self.report.processes_vanished += 1;
                return;
            }
            Err(e) => return self.unreadable(pid, e),
        };
        let process_index = self.processes.len() as u32;
        let first_entry = self.entries.len();
        match self.read_fds(&fd_dir, process_index) {
            Ok(()) => {}
            Err(e) if is_vanished(e) => {
                self.report.processes_vanished += 1;
                self.entries.truncate(first_entry);
                return;
            }
            Err(e) => {
                self.entries.truncate(first_entry);
                return self.unreadable(pid, e);
            }
        }
        self.report.processes_scanned += 1;
        if self.entries.len() > first_entry {
            match self.describe(pid, tid) {
                Some(p) => self.processes.push(p),
                None => {
                    // Exited between reading its fds and its name: skip it entirely.
                    self.entries.truncate(first_entry);
                    self.report.processes_scanned -= 1;
                    self.report.processes_vanished += 1;
                }
            }
        }
    }

    /// Records the sockets of one fd table.
    ///
    /// Most tables are dense (fds 0..n with few holes), so they are read by trying fd numbers
    /// in order: that saves listing the directory, which costs the kernel a quarter of the
    /// time per fd. Since Linux 6.2 the size of /proc/PID/fd is its number of open fds, which
    /// says when to stop; a table with many holes, or an older kernel, is listed instead.
    fn read_fds(&mut self, fd_dir: &OwnedFd, process_index: u32) -> Result<(), Errno> {
        let open = u64::try_from(rustix::fs::fstat(fd_dir)?.st_size).unwrap_or(0);
        let hole_budget = 16 + open / 16;
        let (mut found, mut holes, mut next) = (0u64, 0u64, 0u32);
        while found < open && holes <= hole_budget {
            if self.read_fd(fd_dir, next, process_index)? {
                found += 1;
            } else {
                holes += 1;
            }
            next += 1;
        }
        if open > 0 && found >= open {
            return Ok(());
        }
        // List the directory for the fds not probed yet.
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
                && let Err(e) = self.read_fd(fd_dir, fd, process_index)
            {
                result = Err(e);
                break;
            }
        }
        self.dir_buf = dir_buf;
        result
    }

    /// Reads the link of one fd and records it if it is a socket. `Ok(false)`: no such fd
    /// (a hole in the table, or closed since it was listed).
    fn read_fd(&mut self, fd_dir: &OwnedFd, fd: u32, process_index: u32) -> Result<bool, Errno> {
        let mut name = [0u8; 12];
        let name = fd_name(fd, &mut name);
        let link = match rustix::fs::readlinkat_raw(fd_dir.as_fd(), name, &mut self.link_buf[..]) {
            Ok(n) => &self.link_buf[..n],
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(e),
        };
        if let Some(inode) = socket_inode(link) {
            self.entries.push((inode, process_index, fd));
        }
        Ok(true)
    }

    fn unreadable(&mut self, pid: u32, errno: Errno) {
        self.report.processes_unreadable += 1;
        if self.report.unreadable_pids.len() < 64 {
            self.report.unreadable_pids.push(pid);
        }
        if self.report.unreadable_reason.is_none() {
            self.report.unreadable_reason = Some(reason(errno));
        }
    }

    /// comm and uid of a process that holds sockets; `None` if it has exited.
    fn describe(&mut self, pid: u32, tid: Option<u32>) -> Option<Process> {
        self.path.clear();
        let _ = match tid {
            Some(tid) => write!(self.path, "{pid}/task/{tid}"),
            None => write!(self.path, "{pid}"),
        };
        let stat = rustix::fs::statat(&self.proc_dir, self.path.as_str(), rustix::fs::AtFlags::empty()).ok()?;
        self.path.push_str("/comm");
        let comm_fd =
            rustix::fs::openat(&self.proc_dir, self.path.as_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .ok()?;
        let mut buf = [0u8; 64];
        let n = rustix::io::read(&comm_fd, &mut buf).ok()?;
        let comm = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]);
        let mut p = Process::new(pid, crate::model::lossless_text(comm), stat.st_uid);
        p.tid = tid;
        Some(p)
    }
}

/// The decimal name of an fd as a C string, written into `buf`.
fn fd_name(fd: u32, buf: &mut [u8; 12]) -> &std::ffi::CStr {
    let mut scratch = [0; 20];
    let digits = crate::decimal::decimal(fd.into(), &mut scratch).as_bytes();
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
        let index = scan(Path::new("/proc"), false).expect("scan /proc");
        use std::os::fd::AsRawFd;
        let fds: Vec<u32> = index.owners(inode).map(|o| o.fd).collect();
        assert_eq!(fds, vec![sock.as_raw_fd() as u32]);
    }

    #[test]
    fn finds_our_own_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let inode = rustix::fs::fstat(&listener).expect("fstat").st_ino;
        let index = scan(Path::new("/proc"), false).expect("scan /proc");
        let me = std::process::id();
        let owners: Vec<u32> = index.owners(inode).map(|o| o.process.pid).collect();
        assert_eq!(owners, vec![me]);
        let fd = index.owners(inode).next().map(|o| o.fd);
        use std::os::fd::AsRawFd;
        assert_eq!(fd, Some(listener.as_raw_fd() as u32));
    }
}
