//! Readers of /proc: the /proc/net/* socket tables (fallback for sock_diag) and the
//! /proc/*/fd scan that finds which processes hold which sockets.

pub mod counters;
pub mod fdinfo;
pub mod fdscan;
pub mod fdtable;
pub mod net;
pub mod process;
pub mod sysctl;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error(
        "{path} is not a procfs mount, so processes and sockets cannot be read from it (mount it with: mount -t proc proc /proc)"
    )]
    NotProcfs { path: PathBuf },
    #[error("{path}:{line}: cannot parse {what}")]
    Parse { path: PathBuf, line: usize, what: &'static str },
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Fails unless `dir` (opened from `path`) is on procfs: an empty directory where /proc
/// should be would otherwise read as "no processes" — a silent gap.
/// The /proc/net files of our network namespace: `proc_root/net` (itself a link to
/// self/net), or, where procfs is mounted with `subset=pid` and has no top-level `net`, the
/// same files under `thread-self/net`.
pub fn net_dir(proc_root: &std::path::Path) -> std::path::PathBuf {
    let top = proc_root.join("net");
    let per_thread = proc_root.join("thread-self/net");
    if !top.exists() && per_thread.exists() { per_thread } else { top }
}

/// Whether we run in the host's first user namespace, where root is root everywhere. In a
/// user namespace made by `unshare -U` (or a rootless container), uid 0 maps to an ordinary
/// user outside it: /proc/self/uid_map is then not the identity map of all 2^32 uids.
pub fn in_initial_user_namespace() -> bool {
    crate::text::read_lines("/proc/self/uid_map").map_or(true, |map| {
        let fields: Vec<&str> = map.split_whitespace().collect();
        fields == ["0", "0", "4294967295"]
    })
}

/// The `hidepid=` option of the procfs mounted at `proc_root`, when it hides other users'
/// processes from us (not root): then their sockets show no owner and their pids do not
/// exist as far as we can see, and the user must be told. Reads /proc/self/mountinfo.
pub fn hidepid(proc_root: &std::path::Path) -> Option<String> {
    if rustix::process::geteuid().is_root() && in_initial_user_namespace() {
        return None;
    }
    let root = std::fs::canonicalize(proc_root).ok()?;
    let mountinfo = crate::text::read_lines("/proc/self/mountinfo").ok()?;
    hidepid_in(&mountinfo, &root.to_string_lossy())
}

/// The last mount of procfs on `mount_point` in a mountinfo text, and its hidepid value
/// unless that is 0/off.
fn hidepid_in(mountinfo: &str, mount_point: &str) -> Option<String> {
    let mut found = None;
    for line in mountinfo.lines() {
        let mut halves = line.splitn(2, " - ");
        let (Some(head), Some(tail)) = (halves.next(), halves.next()) else { continue };
        let mut tail = tail.split_whitespace();
        let (fstype, _source, super_opts) = (tail.next(), tail.next(), tail.next().unwrap_or(""));
        if fstype != Some("proc") || head.split_whitespace().nth(4) != Some(mount_point) {
            continue;
        }
        found = super_opts
            .split(',')
            .find_map(|o| o.strip_prefix("hidepid="))
            .filter(|v| !matches!(*v, "0" | "off"))
            .map(str::to_string);
    }
    found
}

pub(crate) fn ensure_procfs(dir: &impl rustix::fd::AsFd, path: &std::path::Path) -> Result<(), ProcError> {
    let fs = rustix::fs::fstatfs(dir).map_err(|e| ProcError::Read { path: path.to_path_buf(), cause: e.into() })?;
    if fs.f_type as i64 != PROC_SUPER_MAGIC {
        return Err(ProcError::NotProcfs { path: path.to_path_buf() });
    }
    Ok(())
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified`
/// on hybrid hosts), from /proc/self/mounts.
pub fn cgroup2_root() -> Option<std::path::PathBuf> {
    let mounts = crate::text::read_lines("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, dir, fstype) = (f.next()?, f.next()?, f.next()?);
        (fstype == "cgroup2").then(|| std::path::PathBuf::from(dir.replace("\\040", " ")))
    })
}

#[cfg(test)]
mod hidepid_tests {
    /// Security issue 12: under hidepid=2 root's sockets showed no owner and no note.
    #[test]
    fn hidepid_is_read_from_mountinfo() {
        let info = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible\n\
                    23 1 0:22 / /sys rw - sysfs sysfs rw\n";
        assert_eq!(super::hidepid_in(info, "/proc").as_deref(), Some("invisible"));
        assert_eq!(super::hidepid_in(info, "/sys"), None);
        let off = "22 1 0:21 / /proc rw - proc proc rw,hidepid=0\n";
        assert_eq!(super::hidepid_in(off, "/proc"), None);
        let plain = "22 1 0:21 / /proc rw - proc proc rw\n";
        assert_eq!(super::hidepid_in(plain, "/proc"), None);
    }
}
