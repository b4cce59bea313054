//! Readers of /proc/sys: the few sysctls sockscope compares sockets with.

use std::path::Path;

/// The kernel's default net.ipv4.ip_local_port_range, for when it cannot be read.
pub const DEFAULT_PORT_RANGE: (u16, u16) = (32768, 60999);

/// net.ipv4.ip_local_port_range, which is per network namespace.
pub fn read_port_range(proc_root: &Path) -> Option<(u16, u16)> {
    let values = read_u64s(proc_root, "net/ipv4/ip_local_port_range");
    Some((u16::try_from(*values.first()?).ok()?, u16::try_from(*values.get(1)?).ok()?))
}

/// The whitespace-separated numbers of /proc/sys/`name` (`net/core/somaxconn`); empty when it
/// cannot be read.
pub fn read_u64s(proc_root: &Path, name: &str) -> Vec<u64> {
    std::fs::read_to_string(proc_root.join("sys").join(name))
        .map(|t| t.split_whitespace().filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_namespace_port_range() {
        let (low, high) = read_port_range(Path::new("/proc")).expect("ip_local_port_range");
        assert!(low <= high, "{low} {high}");
        assert_eq!(read_port_range(Path::new("/nonexistent")), None);
        assert!(read_u64s(Path::new("/proc"), "net/core/somaxconn")[0] > 0);
    }
}
