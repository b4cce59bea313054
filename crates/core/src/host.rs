//! Facts about the host that commands need beside snapshots, each read by its reader in
//! `procfs` (which stays behind the facade).

use std::path::{Path, PathBuf};

pub use crate::procfs::counters::get as counter;
pub use crate::procfs::sysctl::{DEFAULT_PORT_RANGE, read_port_range};

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup` when it cannot be told).
pub fn cgroup2_root() -> PathBuf {
    crate::procfs::cgroup2_root().unwrap_or_else(|| "/sys/fs/cgroup".into())
}

/// procfs's `hidepid=` when it hides other users' processes from us.
pub fn hidepid(proc_root: &Path) -> Option<String> {
    crate::procfs::hidepid(proc_root)
}

/// The caller's network namespace's /proc/net (through /proc/thread-self: a thread may be in
/// another namespace than its process).
pub fn net_dir(proc_root: &Path) -> PathBuf {
    crate::procfs::net_dir(proc_root)
}

/// Whether process `pid` exists (and is visible: procfs's hidepid hides other users').
pub fn process_exists(proc_root: &Path, pid: u32) -> bool {
    proc_root.join(pid.to_string()).exists()
}

/// The number of open fds of process `pid`.
pub fn open_fds(proc_root: &Path, pid: u32) -> std::io::Result<u64> {
    crate::procfs::process::open_fds(proc_root, pid)
}

/// The kernel's SNMP and netstat counters of the caller's network namespace, by
/// `Group.Name` (`Tcp.RetransSegs`), read from `net_dir`; empty when unreadable.
pub fn counters(net_dir: &Path) -> std::collections::HashMap<String, u64> {
    crate::procfs::counters::read(net_dir)
}
