//! Kernel counters of the calling thread's network namespace: the evidence a scenario changes.

pub use sockscope_core::host::counter as get;

/// TcpExt, IpExt, Tcp, Udp … counters (`Prefix.Name`) of this thread's namespace.
pub fn read() -> std::collections::HashMap<String, u64> {
    sockscope_core::host::counters(std::path::Path::new("/proc/thread-self/net"))
}
