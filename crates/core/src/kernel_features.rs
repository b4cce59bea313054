//! The kernel features sockscope stands on, and whether the running kernel has each: what
//! `sockscope --version` reports, so a bug report says what the host could and could not do.
//!
//! Each check is cheap and changes nothing. A sock_diag table is asked for its sockets in no
//! state (the kernel answers an empty dump when it has the handler, ENOENT when not); what
//! no harmless check can tell (SOCK_DESTROY would destroy a socket) is `None`, unknown.

use crate::model::StateSet;
use crate::netlink::{DiagSocket, NetlinkError, request};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    /// What it is, as the kernel documentation names it.
    pub name: &'static str,
    /// The kernel config option that builds it.
    pub config: &'static str,
    /// What in sockscope needs it.
    pub used_by: &'static str,
    /// Whether this kernel has it; None when no harmless check can tell.
    pub available: Option<bool>,
}

/// Every feature, checked against the running kernel in the caller's network namespace.
pub fn probe() -> Vec<Feature> {
    let mut diag = DiagSocket::open().ok();
    let mut table = |req: Vec<u8>| -> Option<bool> {
        let sock = diag.as_mut()?;
        match sock.dump("probe", &req, |_| {}) {
            Ok(()) => Some(true),
            Err(NetlinkError::Unsupported { .. }) => Some(false),
            Err(_) => None,
        }
    };
    let none = StateSet(0);
    let exists = |p: &str| Some(Path::new(p).exists());
    let tcp = table(request::inet(request::AF_INET, request::IPPROTO_TCP, none, 0));
    let udp = table(request::inet(request::AF_INET, request::IPPROTO_UDP, none, 0));
    let raw = table(request::inet(request::AF_INET, request::IPPROTO_RAW, none, 0));
    let mptcp = if Path::new("/proc/sys/net/mptcp").exists() {
        request::inet_any(request::AF_INET, request::IPPROTO_MPTCP, none, 0, None).and_then(&mut table)
    } else {
        Some(false)
    };
    let unix = table(request::unix(none, crate::Extensions::default()));
    let packet = table(request::packet(crate::Extensions::default()));
    let netlink = table(request::netlink(crate::Extensions::default()));
    let tracefs =
        std::fs::read_to_string("/proc/filesystems").ok().map(|t| t.lines().any(|l| l.ends_with("\ttracefs")));
    vec![
        f(
            "sock_diag for TCP",
            "CONFIG_INET_DIAG, CONFIG_INET_TCP_DIAG",
            "the socket table (-t), fds, who, doctor, watch, serve, record",
            tcp,
        ),
        f("sock_diag for UDP", "CONFIG_INET_UDP_DIAG", "the socket table (-u)", udp),
        f("sock_diag for raw sockets", "CONFIG_INET_RAW_DIAG", "the socket table (-w)", raw),
        f("sock_diag for MPTCP", "CONFIG_MPTCP, CONFIG_INET_MPTCP_DIAG", "the socket table (-M)", mptcp),
        f("sock_diag for Unix sockets", "CONFIG_UNIX_DIAG", "the socket table (-x)", unix),
        f("sock_diag for packet sockets", "CONFIG_PACKET_DIAG", "the socket table (-0)", packet),
        f("sock_diag for netlink sockets", "CONFIG_NETLINK_DIAG", "the socket table (-f netlink)", netlink),
        f("SOCK_DESTROY", "CONFIG_INET_DIAG_DESTROY", "-K", None),
        f("network namespaces", "CONFIG_NET_NS", "--netns, --all-netns, lab", exists("/proc/self/ns/net")),
        f(
            "perf events on tracepoints",
            "CONFIG_PERF_EVENTS, CONFIG_TRACEPOINTS",
            "events",
            exists("/proc/sys/kernel/perf_event_paranoid"),
        ),
        f("tracefs", "CONFIG_TRACING", "events (tracepoint ids and formats)", tracefs),
        f(
            "seccomp filters",
            "CONFIG_SECCOMP_FILTER",
            "trace (stops only at the traced calls)",
            exists("/proc/sys/kernel/seccomp/actions_avail"),
        ),
        f("pidfd_open and pidfd_getfd", "Linux 5.6", "--sockopts, trace -yy of attached processes", pidfd()),
    ]
}

fn f(name: &'static str, config: &'static str, used_by: &'static str, available: Option<bool>) -> Feature {
    Feature { name, config, used_by, available }
}

/// Whether pidfd_getfd works: a duplicate of one of our own fds, closed at once.
fn pidfd() -> Option<bool> {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
    match pidfd_open(getpid(), PidfdFlags::empty()) {
        Ok(fd) => match pidfd_getfd(&fd, std::os::fd::AsRawFd::as_raw_fd(&fd), PidfdGetfdFlags::empty()) {
            Ok(_) => Some(true),
            Err(rustix::io::Errno::NOSYS) => Some(false),
            Err(_) => None,
        },
        Err(rustix::io::Errno::NOSYS) => Some(false),
        Err(_) => None,
    }
}
