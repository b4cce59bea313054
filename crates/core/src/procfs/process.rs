//! Per-process facts from /proc/PID: command name, owner, RLIMIT_NOFILE; and the system-wide
//! file table limits from /proc/sys/fs.

use crate::model::{FdLimit, lossless_text};
use rustix::io::Errno;
use std::io;
use std::path::Path;

/// Why a process could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// It exited (or never existed).
    Gone,
    /// Permission denied, with the reason for the user.
    Denied(String),
}

/// The one classifier of errors reading /proc/PID: gone, or unreadable with the reason.
pub fn classify(e: &io::Error) -> Unreadable {
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(errno) if is_vanished(errno) => Unreadable::Gone,
        Some(errno) => Unreadable::Denied(reason(errno)),
        None => Unreadable::Denied(e.to_string()),
    }
}

pub(crate) fn is_vanished(errno: Errno) -> bool {
    errno == Errno::NOENT || errno == Errno::SRCH
}

/// Our own fd limit (EMFILE) or the system's (ENFILE): nothing to say about the process.
pub(crate) fn is_out_of_fds(errno: Errno) -> bool {
    errno == Errno::MFILE || errno == Errno::NFILE
}

/// Why a process's fds could not be read, for the user: what is true of this run.
pub(crate) fn reason(errno: Errno) -> String {
    let denied = errno == Errno::ACCESS || errno == Errno::PERM;
    if denied && !rustix::process::geteuid().is_root() {
        "permission denied: other users' processes; run as root to see their owners".to_string()
    } else if denied && !super::in_initial_user_namespace() {
        "permission denied: sockscope is root only inside a user namespace, which gives no access to processes outside it".to_string()
    } else if denied {
        "permission denied even to root: ptrace access to the process is refused (a security module or a process that is not dumpable)".to_string()
    } else if is_out_of_fds(errno) {
        format!(
            "{errno}: sockscope's own fd limit is too low to read /proc (RLIMIT_NOFILE {}; it needs about 8)",
            rustix::process::getrlimit(rustix::process::Resource::Nofile)
                .current
                .map_or("unlimited".into(), |n| n.to_string())
        )
    } else {
        format!("{errno}")
    }
}

/// Every pid in `proc_root`, ascending.
pub fn pids(proc_root: &Path) -> io::Result<Vec<u32>> {
    let mut pids: Vec<u32> =
        std::fs::read_dir(proc_root)?.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    Ok(pids)
}

/// How many fds a process has open. Since Linux 6.2 the size of /proc/PID/fd says it
/// without listing the directory; on older kernels (size 0) the entries are counted.
pub fn open_fds(proc_root: &Path, pid: u32) -> io::Result<u64> {
    let dir = proc_root.join(pid.to_string()).join("fd");
    match std::fs::metadata(&dir)?.len() {
        0 => Ok(std::fs::read_dir(&dir)?.count() as u64),
        n => Ok(n),
    }
}

/// `/proc/PID/comm` without its newline.
pub fn comm(proc_root: &Path, pid: u32) -> io::Result<String> {
    let raw = std::fs::read(proc_root.join(pid.to_string()).join("comm"))?;
    Ok(lossless_text(raw.strip_suffix(b"\n").unwrap_or(&raw)))
}

/// The uid owning /proc/PID (the process's effective uid).
pub fn uid(proc_root: &Path, pid: u32) -> io::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(proc_root.join(pid.to_string()))?.uid())
}

/// Capability numbers (linux/capability.h) the readers of other processes need.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_SYS_PTRACE: u32 = 19;

/// The effective capability set of `task` (`self`, a pid) from its status file's `CapEff:`.
pub fn effective_capabilities(proc_root: &Path, task: &str) -> io::Result<u64> {
    let status = crate::text::read_lines(proc_root.join(task).join("status"))?;
    parse_cap_eff(&status).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no CapEff line"))
}

pub fn parse_cap_eff(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// RLIMIT_NOFILE from /proc/PID/limits.
pub fn fd_limit(proc_root: &Path, pid: u32) -> io::Result<FdLimit> {
    Ok(parse_fd_limit(&std::fs::read_to_string(proc_root.join(pid.to_string()).join("limits"))?))
}

/// The "Max open files  SOFT  HARD  files" line; `unlimited` is `None`.
pub fn parse_fd_limit(text: &str) -> FdLimit {
    let Some(line) = text.lines().find(|l| l.starts_with("Max open files")) else { return FdLimit::default() };
    let mut f = line["Max open files".len()..].split_whitespace();
    let value = |v: Option<&str>| v.and_then(|v| v.parse::<u64>().ok());
    FdLimit { soft: value(f.next()), hard: value(f.next()) }
}

/// The network namespace of `task` (a pid, or `thread-self`): the inode of
/// /proc/TASK/ns/net, when it can be read.
pub fn netns(proc_root: &Path, task: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(proc_root.join(task).join("ns/net")).ok().map(|m| m.ino())
}

/// For each network namespace with a process in it: its lowest pid. A process that is gone
/// is skipped.
pub fn netns_first_pids(proc_root: &Path) -> std::collections::BTreeMap<u64, u32> {
    netns_walk(proc_root).0
}

/// One pass over the processes: each network namespace with a process in it (its lowest
/// pid), and how many processes' namespaces could not be read and why (other users'
/// processes without privilege, or one that refuses ptrace access even to root: a namespace
/// only they are in cannot be found). None when every one was read.
pub fn netns_walk(proc_root: &Path) -> (std::collections::BTreeMap<u64, u32>, Option<(usize, String)>) {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let (mut unread, mut denied) = (0usize, None);
    for pid in pids(proc_root).unwrap_or_default() {
        match std::fs::metadata(proc_root.join(pid.to_string()).join("ns/net")) {
            Ok(m) => {
                let first = out.entry(m.ino()).or_insert(pid);
                *first = (*first).min(pid);
            }
            Err(e) => {
                let errno = e.raw_os_error().map(Errno::from_raw_os_error);
                if errno.is_some_and(|e| e == Errno::ACCESS || e == Errno::PERM) {
                    unread += 1;
                    denied = errno;
                }
            }
        }
    }
    let why = |e| {
        if rustix::process::geteuid().is_root() {
            reason(e)
        } else {
            "other users' processes: reading them needs root or CAP_SYS_PTRACE".to_string()
        }
    };
    (out, denied.map(|e| (unread, why(e))))
}

/// Whether SELinux is on (its filesystem is mounted): only then are security contexts shown.
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// The process's security context (/proc/PID/attr/current), as `getpidcon` reads it.
pub fn security_context(proc_root: &Path, pid: u32) -> io::Result<String> {
    let raw = std::fs::read(proc_root.join(pid.to_string()).join("attr/current"))?;
    Ok(crate::model::lossless_text(raw.split(|b| *b == 0 || *b == b'\n').next().unwrap_or(&[])))
}

/// The security context of fd `fd` of process `pid` (its `security.selinux` attribute), as
/// `getfilecon` reads it.
pub fn fd_security_context(proc_root: &Path, pid: u32, fd: u32) -> io::Result<String> {
    let path = proc_root.join(pid.to_string()).join("fd").join(fd.to_string());
    let mut buf = [0u8; 256];
    let n = rustix::fs::getxattr(&path, "security.selinux", &mut buf[..])?;
    Ok(crate::model::lossless_text(buf[..n].split(|b| *b == 0).next().unwrap_or(&[])))
}

/// Which of the process's cwd, root and executable are the file `dev`:`ino`.
pub fn special_links_to(proc_root: &Path, pid: u32, dev: u64, ino: u64) -> Vec<crate::model::Special> {
    use crate::model::Special;
    use std::os::unix::fs::MetadataExt;
    let base = proc_root.join(pid.to_string());
    [("cwd", Special::Cwd), ("root", Special::Rtd), ("exe", Special::Txt)]
        .into_iter()
        .filter(|(link, _)| std::fs::metadata(base.join(link)).is_ok_and(|m| m.dev() == dev && m.ino() == ino))
        .map(|(_, special)| special)
        .collect()
}

/// Whether the process maps the file `dev`:`ino` (/proc/PID/maps lines are
/// `addr perms offset MAJ:MIN inode path`).
pub fn maps_file(proc_root: &Path, pid: u32, dev: u64, ino: u64) -> bool {
    let Ok(maps) = crate::text::read_lines(proc_root.join(pid.to_string()).join("maps")) else { return false };
    let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    maps.lines().any(|l| {
        let mut f = l.split_whitespace();
        let (Some(d), Some(i)) = (f.nth(3), f.next()) else { return false };
        let Some((ma, mi)) = d.split_once(':') else { return false };
        i.parse::<u64>().ok() == Some(ino)
            && u32::from_str_radix(ma, 16).ok() == Some(major)
            && u32::from_str_radix(mi, 16).ok() == Some(minor)
    })
}

/// /proc/PID/task/TID/schedstat, "RUN_NS WAIT_NS TIMESLICES": the thread's time on a CPU in
/// nanoseconds and how many times it was put on one.
pub fn parse_schedstat(text: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(text).ok()?;
    let mut f = text.split_ascii_whitespace().map(str::parse::<u64>);
    let run_ns = f.next()?.ok()?;
    let _wait_ns = f.next()?.ok()?;
    Some((run_ns, f.next()?.ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_capabilities_are_read_from_status() {
        let status =
            "Name:\tsockscope\nCapInh:\t0000000000000000\nCapEff:\t0000000000080004\nCapBnd:\t000001ffffffffff\n";
        let eff = parse_cap_eff(status).unwrap();
        assert!(eff & (1 << CAP_SYS_PTRACE) != 0 && eff & (1 << CAP_DAC_READ_SEARCH) != 0);
        assert_eq!(parse_cap_eff("Name: x\n"), None);
        assert!(effective_capabilities(Path::new("/proc"), "self").is_ok());
    }

    #[test]
    fn schedstat_lines_parse() {
        assert_eq!(parse_schedstat(b"464098 0 2\n"), Some((464098, 2)));
        assert_eq!(parse_schedstat(b"18446744073709551615 5 7"), Some((u64::MAX, 7)));
        assert_eq!(parse_schedstat(b"12 3"), None);
        assert_eq!(parse_schedstat(b"x 3 4"), None);
        assert_eq!(parse_schedstat(b""), None);
        let mine = std::fs::read("/proc/thread-self/schedstat").expect("read schedstat");
        // A thread still on its first time slice may show 0 ns: the kernel adds run time when
        // the thread leaves the CPU or at a tick.
        assert!(parse_schedstat(&mine).is_some_and(|(_, slices)| slices > 0), "{mine:?}");
    }

    #[test]
    fn limits_fixture_and_unlimited() {
        let l = parse_fd_limit(include_str!("../../tests/fixtures/proc_limits"));
        assert_eq!(l, FdLimit { soft: Some(20000), hard: Some(20000) });
        let u = parse_fd_limit("Max open files            unlimited            unlimited            files\n");
        assert_eq!(u, FdLimit { soft: None, hard: None });
        assert_eq!(parse_fd_limit("garbage"), FdLimit::default());
    }

    #[test]
    fn this_process() {
        let me = std::process::id();
        let root = Path::new("/proc");
        assert!(!comm(root, me).expect("comm").is_empty());
        assert_eq!(uid(root, me).expect("uid"), rustix::process::geteuid().as_raw());
        assert!(fd_limit(root, me).expect("limits").soft.is_some());
    }
}

#[cfg(test)]
mod open_fds_tests {
    #[test]
    fn open_fds_counts_a_childs_table() {
        use std::process::{Command, Stdio};
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        // Wait for exec: until then the child holds copies of the parent's fds.
        let exe = format!("/proc/{}/exe", child.id());
        for _ in 0..200 {
            if std::fs::read_link(&exe).is_ok_and(|p| p.ends_with("sleep")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let n = super::open_fds(std::path::Path::new("/proc"), child.id()).expect("read");
        // Whatever started the tests may pass down fds of its own: count what is there.
        let listed = std::fs::read_dir(format!("/proc/{}/fd", child.id())).expect("list").count() as u64;
        let _ = child.kill();
        let _ = child.wait();
        assert!(n >= 3);
        assert_eq!(n, listed);
    }
}
