//! Readers of /proc/sys: the few sysctls sockscope compares sockets with.

use std::path::Path;

/// The kernel's default net.ipv4.ip_local_port_range, for when it cannot be read.
pub const DEFAULT_PORT_RANGE: (u16, u16) = (32768, 60999);

/// net.ipv4.ip_local_port_range, which is per network namespace.
pub fn read_port_range(proc_root: &Path) -> Option<(u16, u16)> {
    port_range(&read_u64s(proc_root, "net/ipv4/ip_local_port_range"))
}

/// ip_local_port_range's two numbers, when they are ports.
pub fn port_range(values: &[u64]) -> Option<(u16, u16)> {
    Some((u16::try_from(*values.first()?).ok()?, u16::try_from(*values.get(1)?).ok()?))
}

/// The whitespace-separated numbers of /proc/sys/`name` (`net/core/somaxconn`); empty when it
/// cannot be read.
pub fn read_u64s(proc_root: &Path, name: &str) -> Vec<u64> {
    std::fs::read_to_string(proc_root.join("sys").join(name)).map(|t| parse_u64s(&t)).unwrap_or_default()
}

/// The whitespace-separated numbers of a sysctl's text.
pub fn parse_u64s(text: &str) -> Vec<u64> {
    text.split_whitespace().filter_map(|v| v.parse().ok()).collect()
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
