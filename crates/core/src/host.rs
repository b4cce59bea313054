//! Facts about the host that commands need beside snapshots, each read by its reader in
//! `procfs` (which stays behind the facade).

use std::path::{Path, PathBuf};

pub use crate::procfs::counters::get as counter;
pub use crate::procfs::process::{CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, effective_capabilities};
pub use crate::procfs::sysctl::{DEFAULT_PORT_RANGE, read_port_range};

/// net.ipv4.ip_local_port_range of `host`'s tables' namespace (a capture keeps its host's),
/// when it can be read.
pub fn port_range_of(host: &dyn crate::hosts::Host) -> Option<(u16, u16)> {
    use crate::procfs::sysctl;
    sysctl::port_range(&sysctl::parse_u64s(&host.text_of("sys/net/ipv4/ip_local_port_range")?))
}

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

/// Why a named network namespace could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("-N {name}: no network namespace of that name in /run/netns (ip netns list shows them)")]
    NoSuch { name: String },
    #[error("-N {name}: cannot enter it: {errno} (entering a network namespace needs CAP_SYS_ADMIN)")]
    Enter { name: String, errno: rustix::io::Errno },
}

/// Moves the calling thread into the network namespace `name` of `ip netns` (a bind mount
/// at /run/netns/NAME), so what it reads next — sock_diag, /proc/thread-self/net — is that
/// namespace's. Threads it starts afterwards are in it too.
pub fn enter_named_netns(name: &str) -> Result<(), NetnsError> {
    use rustix::fs::{Mode, OFlags};
    use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
    let shown = crate::text::Untrusted(name).to_string();
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(NetnsError::NoSuch { name: shown });
    }
    let path = Path::new("/run/netns").join(crate::text::os_string(name));
    let fd = rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(|errno| {
        if errno == rustix::io::Errno::NOENT {
            NetnsError::NoSuch { name: shown.clone() }
        } else {
            NetnsError::Enter { name: shown.clone(), errno }
        }
    })?;
    move_into_link_name_space(rustix::fd::AsFd::as_fd(&fd), Some(LinkNameSpaceType::Network))
        .map_err(|errno| NetnsError::Enter { name: shown, errno })
}

/// Where the sockets a filter is for live: the caller's namespace, the one `-N NAME` enters,
/// or those `--netns`/`--all-netns` read.
pub enum FilterScope<'a> {
    Own,
    Named(&'a str),
    Namespaces(&'a [crate::model::Netns]),
}

impl<'a> FilterScope<'a> {
    /// The namespaces a collection reads (none: the caller's own).
    pub fn reading(namespaces: &'a [crate::model::Netns]) -> FilterScope<'a> {
        if namespaces.is_empty() { FilterScope::Own } else { FilterScope::Namespaces(namespaces) }
    }
}

/// Resolves the names in a filter (interfaces, cgroup paths) where its sockets live: an
/// interface name in the namespace of each socket it is compared with, never the caller's
/// for another's sockets (`-N ns 'dev = p0'` finds ns's p0; `-K` never selects a socket
/// through an index from elsewhere). A namespace that cannot be entered is left out here,
/// as the collector leaves it out (and says so). A capture names no interface: its indexes
/// are another host's.
pub fn resolve_filter(
    expr: &mut crate::filter::Expr,
    host: &dyn crate::hosts::Host,
    scope: FilterScope<'_>,
) -> Result<(), crate::filter::FilterError> {
    use crate::filter::ast::{Device, Pred};
    use crate::names::Interfaces;
    let cgroup_root = cgroup2_root();
    // Namespaces are entered only for a filter that names an interface.
    let Some(name) = expr.preds().iter().find_map(|p| match p {
        Pred::Dev(Device::Name(n)) => Some(n.clone()),
        _ => None,
    }) else {
        return crate::filter::resolve(expr, &mut Interfaces::new(), &cgroup_root);
    };
    let cannot = |why: String| crate::filter::FilterError {
        column: 0,
        token: name.clone(),
        message: format!("cannot look up its interfaces: {why}"),
    };
    // A capture's indexes are another host's: it names no interface.
    let recorded = || cannot("none can be read here (a capture's interface indexes are another host's)".into());
    match scope {
        FilterScope::Own => {
            let mut interfaces = host.interfaces(None).ok_or_else(recorded)?;
            crate::filter::resolve(expr, &mut interfaces, &cgroup_root)
        }
        FilterScope::Named(ns_name) => {
            let found = host.selected_namespaces(&[ns_name.to_string()]).map_err(|e| cannot(e.to_string()))?;
            let ns = found.last();
            let mut interfaces = host.interfaces(ns).ok_or_else(|| cannot(format!("cannot enter {ns_name}")))?;
            crate::filter::resolve(expr, &mut interfaces, &cgroup_root)
        }
        FilterScope::Namespaces(namespaces) => {
            let own = host.own_netns();
            let mut each: Vec<(u64, Interfaces)> = namespaces
                .iter()
                .filter_map(|ns| {
                    let interfaces = host.interfaces((Some(ns.inode) != own).then_some(ns));
                    interfaces.map(|i| (ns.inode, i))
                })
                .collect();
            if each.is_empty() {
                return Err(recorded());
            }
            crate::filter::resolve_per_netns(expr, &mut each, &cgroup_root)
        }
    }
}
