//! The machine limits a scenario must fit in, checked before anything is created.

use crate::LabError;
use rustix::process::{Resource, getrlimit, setrlimit};

/// This process's hard RLIMIT_NOFILE (`u64::MAX` when unlimited).
pub fn nofile_hard() -> u64 {
    getrlimit(Resource::Nofile).maximum.unwrap_or(u64::MAX)
}

/// Raises this process's own soft RLIMIT_NOFILE to its hard limit (allowed without any
/// privilege) so it can hold `need` more fds; refuses when even the hard limit is too low.
pub fn ensure_fds(need: u64, what: &str) -> Result<(), LabError> {
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(u64::MAX);
    let open = sockscope_core::host::open_fds(std::path::Path::new("/proc"), std::process::id()).unwrap_or(0);
    // Headroom for the runtime's own fds (stdio, pipes to workers, /proc reads).
    let want = open + need + 32;
    if want > hard {
        return Err(LabError::Limit(format!(
            "{what} needs {need} fds in one process, but RLIMIT_NOFILE's hard limit is {hard} ({open} already open); use fewer, or spread them over processes"
        )));
    }
    if lim.current.is_some_and(|soft| soft < want) {
        let _ = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit { current: Some(want.min(hard)), maximum: lim.maximum },
        );
    }
    Ok(())
}

/// net.ipv4.ip_local_port_range of this namespace (/proc/sys/net shows the reading
/// thread's namespace), as (low, high).
pub fn local_port_range() -> (u16, u16) {
    use sockscope_core::host::{DEFAULT_PORT_RANGE, read_port_range};
    read_port_range(std::path::Path::new("/proc")).unwrap_or(DEFAULT_PORT_RANGE)
}

/// Refuses client connections to one destination beyond what the ephemeral range allows.
pub fn ensure_ports(need: u64, what: &str) -> Result<(), LabError> {
    let (lo, hi) = local_port_range();
    let size = u64::from(hi - lo) + 1;
    // Keep a quarter free: the kernel's port search slows down sharply near the end.
    if need > size * 3 / 4 {
        return Err(LabError::Limit(format!(
            "{what} needs {need} client ports to one destination, but net.ipv4.ip_local_port_range is {lo}-{hi} ({size} ports; at most {} are used)",
            size * 3 / 4
        )));
    }
    Ok(())
}

/// Refuses when the system file table (fs.file-max) cannot take `need` more files.
pub fn ensure_system_files(need: u64, what: &str) -> Result<(), LabError> {
    let text = std::fs::read_to_string("/proc/sys/fs/file-nr").unwrap_or_default();
    let mut f = text.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
    let (allocated, _, max) = (f.next().unwrap_or(0), f.next(), f.next().unwrap_or(u64::MAX));
    if allocated.saturating_add(need) > max.saturating_sub(max / 10) {
        return Err(LabError::Limit(format!(
            "{what} needs {need} more open files; the system has {allocated} of fs.file-max {max} in use"
        )));
    }
    Ok(())
}
