//! The options a running process set on its sockets (SO_REUSEADDR, keepalive, TCP_NODELAY,
//! linger, buffers…), read from the process itself: `pidfd_open` on the process,
//! `pidfd_getfd` for a duplicate of its fd (Linux 5.6+), `getsockopt` on the duplicate, and
//! close. The duplicate does no I/O (no read, write, shutdown or setsockopt) and lives for
//! microseconds. Its one effect on the process: if the process closes its fd in that window,
//! the socket lives until we close ours (docs/sockopts.md).
//!
//! `pidfd_getfd` needs PTRACE_MODE_ATTACH over the process (root, or the same user with
//! kernel.yama.ptrace_scope 0). Where it is refused, the options are unknown (`None`) and
//! the report says how many sockets and why — never a guessed value.

use crate::model::InodeMap;
use crate::{Family, Netid, Snapshot, Socket};
use rustix::net::sockopt as so;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Every option read; `None` where it could not be read or does not apply to the socket
/// (TCP options on UDP, IPV6_V6ONLY on IPv4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct SockOpts {
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub keepalive: Option<bool>,
    /// TCP_KEEPIDLE, TCP_KEEPINTVL (seconds) and TCP_KEEPCNT.
    pub keepidle: Option<u32>,
    pub keepintvl: Option<u32>,
    pub keepcnt: Option<u32>,
    pub nodelay: Option<bool>,
    pub cork: Option<bool>,
    /// TCP_QUICKACK as the kernel reports it: on unless the connection is in its
    /// interactive (delayed-ACK) mode, so on for most sockets. JSON only: the text would
    /// show it everywhere.
    pub quickack: Option<bool>,
    /// SO_LINGER: whether on, and its seconds.
    pub linger: Option<bool>,
    pub linger_seconds: Option<u32>,
    /// SO_RCVBUF / SO_SNDBUF as the kernel holds them (it doubles what setsockopt asked,
    /// for its bookkeeping), and what was asked: half that.
    pub rcvbuf: Option<u32>,
    pub rcvbuf_set: Option<u32>,
    pub sndbuf: Option<u32>,
    pub sndbuf_set: Option<u32>,
    pub rcvlowat: Option<u32>,
    /// TCP_USER_TIMEOUT in milliseconds (0: the kernel's default).
    pub user_timeout_ms: Option<u32>,
    pub congestion: Option<String>,
    /// TCP_DEFER_ACCEPT in seconds, as the kernel rounds it.
    pub defer_accept: Option<u32>,
    /// TCP_FASTOPEN: a listener's queue of pending Fast Open requests (0: off).
    pub fastopen: Option<u32>,
    pub freebind: Option<bool>,
    pub transparent: Option<bool>,
    pub v6only: Option<bool>,
    pub bindtodevice: Option<String>,
    pub mark: Option<u32>,
    pub priority: Option<u32>,
    /// IP_TOS, or IPV6_TCLASS on IPv6 sockets.
    pub tos: Option<u8>,
    /// The fd's flags: O_NONBLOCK (shared by every fd of the open file) and FD_CLOEXEC (the
    /// holder's fd's own).
    pub nonblock: Option<bool>,
    pub cloexec: Option<bool>,
}

impl SockOpts {
    /// ss-style: `opts:(reuseaddr,keepalive:7200/75/9,nodelay,linger:5,rcvbuf:65536/131072)`.
    /// Flags only when on; buffers always (as set / effective); numbers when not default.
    pub fn text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let on = |v: Option<bool>| v == Some(true);
        for (v, name) in [(self.reuseaddr, "reuseaddr"), (self.reuseport, "reuseport")] {
            if on(v) {
                parts.push(name.into());
            }
        }
        if on(self.keepalive) {
            let n = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
            parts.push(format!("keepalive:{}/{}/{}", n(self.keepidle), n(self.keepintvl), n(self.keepcnt)));
        }
        for (v, name) in [
            (self.nodelay, "nodelay"),
            (self.cork, "cork"),
            (self.freebind, "freebind"),
            (self.transparent, "transparent"),
            (self.v6only, "v6only"),
        ] {
            if on(v) {
                parts.push(name.into());
            }
        }
        if on(self.linger) {
            parts.push(format!("linger:{}", self.linger_seconds.unwrap_or(0)));
        }
        for (set, eff, name) in [(self.rcvbuf_set, self.rcvbuf, "rcvbuf"), (self.sndbuf_set, self.sndbuf, "sndbuf")] {
            if let (Some(set), Some(eff)) = (set, eff) {
                parts.push(format!("{name}:{set}/{eff}"));
            }
        }
        for (v, name, default) in [
            (self.rcvlowat, "rcvlowat", 1),
            (self.user_timeout_ms, "user_timeout", 0),
            (self.defer_accept, "defer_accept", 0),
            (self.fastopen, "fastopen", 0),
            (self.mark, "mark", 0),
            (self.priority, "priority", 0),
            (self.tos.map(u32::from), "tos", 0),
        ] {
            if let Some(v) = v.filter(|v| *v != default) {
                parts.push(if name == "mark" || name == "tos" {
                    format!("{name}:{v:#x}")
                } else {
                    format!("{name}:{v}")
                });
            }
        }
        if let Some(dev) = self.bindtodevice.as_deref().filter(|d| !d.is_empty()) {
            parts.push(format!("dev:{}", crate::text::Untrusted(dev)));
        }
        if let Some(cc) = &self.congestion {
            parts.push(format!("cc:{}", crate::text::Untrusted(cc)));
        }
        if on(self.nonblock) {
            parts.push("nonblock".into());
        }
        if on(self.cloexec) {
            parts.push("cloexec".into());
        }
        format!("opts:({})", parts.join(","))
    }
}

/// What tcp_info says of a connection's traffic, for the rules that judge its options
/// (`Report::read_flows`): small writes and round trips stretched by delayed ACKs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// Smoothed and minimum round trip (µs).
    pub rtt_us: u32,
    pub min_rtt_us: u32,
    /// Segments that carried data, and the bytes sent.
    pub data_segs_out: u32,
    pub bytes_sent: u64,
}

/// Why a socket's options could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unreadable {
    /// pidfd_getfd refused: no PTRACE_MODE_ATTACH over the process.
    Denied,
    /// The kernel has no pidfd_open/pidfd_getfd (before 5.6).
    Unsupported,
    /// The process exited or closed the fd before we read it.
    Gone,
    /// Some other error of pidfd_getfd.
    Failed,
    /// Read from a capture, which did not record this socket's options.
    NotRecorded,
}

impl Unreadable {
    fn from_errno(e: rustix::io::Errno) -> Unreadable {
        use rustix::io::Errno;
        match e {
            Errno::PERM | Errno::ACCESS => Unreadable::Denied,
            Errno::NOSYS => Unreadable::Unsupported,
            Errno::SRCH | Errno::BADF => Unreadable::Gone,
            _ => Unreadable::Failed,
        }
    }

    pub fn why(self) -> &'static str {
        match self {
            Unreadable::NotRecorded => {
                "the capture holds the options of listeners and of idle or slow connections (record --full records every socket's)"
            }
            Unreadable::Denied => {
                "reading another process's socket needs ptrace access to it (root, or the same user with kernel.yama.ptrace_scope 0)"
            }
            Unreadable::Unsupported => "this kernel has no pidfd_getfd (Linux 5.6 and later have it)",
            Unreadable::Gone => "the process exited or closed the socket before it was read",
            Unreadable::Failed => "pidfd_getfd failed",
        }
    }
}

/// What kind of socket, for which option levels apply.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub tcp: bool,
    pub inet: bool,
    pub v6: bool,
    /// A listener: TCP_DEFER_ACCEPT and TCP_FASTOPEN apply (to it alone).
    pub listener: bool,
}

impl Kind {
    /// From the protocol name the kernel gives an fd (system.sockprotoname: TCP, TCPv6, UDP,
    /// UNIX…), for sockets no dump lists.
    pub fn from_protocol(name: &str) -> Kind {
        match Netid::of_protocol_name(name) {
            // Its state is not known here: the listener options are read too.
            Some((netid, family)) => {
                let tcp = netid == Netid::Tcp;
                Kind { tcp, inet: true, v6: family == Family::Inet6, listener: tcp }
            }
            None => Kind { tcp: false, inet: false, v6: false, listener: false },
        }
    }

    pub fn of(s: &Socket) -> Kind {
        Kind {
            tcp: s.netid == Netid::Tcp,
            inet: matches!(s.family, Family::Inet | Family::Inet6),
            v6: s.family == Family::Inet6,
            listener: s.state == crate::SockState::Listen,
        }
    }
}

/// Reads options from processes, opening each process's pidfd once.
pub struct Reader {
    proc_root: std::path::PathBuf,
    /// Per process: its pidfd and its /proc/PID/fdinfo directory (None when unreadable),
    /// opened once.
    pidfds: HashMap<u32, Result<(OwnedFd, Option<OwnedFd>), Unreadable>>,
}

impl Reader {
    pub fn new(proc_root: &Path) -> Reader {
        Reader { proc_root: proc_root.to_path_buf(), pidfds: HashMap::new() }
    }

    /// The options of the socket `pid` holds as `fd`.
    pub fn read(&mut self, pid: u32, fd: u32, kind: Kind) -> Result<SockOpts, Unreadable> {
        self.read_with(pid, fd, kind, false).map(|(o, _)| o)
    }

    /// The options and, with `flow`, a TCP socket's traffic from tcp_info (TCP_INFO on the
    /// same duplicate).
    fn read_with(&mut self, pid: u32, fd: u32, kind: Kind, flow: bool) -> Result<(SockOpts, Option<Flow>), Unreadable> {
        let proc_root = &self.proc_root;
        let opened = self.pidfds.entry(pid).or_insert_with(|| {
            let p = rustix::process::Pid::from_raw(pid as i32).ok_or(Unreadable::Gone)?;
            let pidfd =
                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).map_err(Unreadable::from_errno)?;
            let fdinfo = rustix::fs::open(
                proc_root.join(pid.to_string()).join("fdinfo"),
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok();
            Ok((pidfd, fdinfo))
        });
        let (pidfd, fdinfo) = opened.as_ref().map_err(|e| *e)?;
        let dup = rustix::process::pidfd_getfd(pidfd, fd as i32, rustix::process::PidfdGetfdFlags::empty())
            .map_err(Unreadable::from_errno)?;
        let mut o = options_of(&dup, kind);
        let flow = if flow { extra::flow(dup.as_fd()) } else { None };
        drop(dup);
        o.cloexec = fdinfo.as_ref().and_then(|dir| fd_cloexec(dir, fd));
        Ok((o, flow))
    }
}

/// getsockopt of every option that applies to `kind`, on our duplicate.
fn options_of(fd: &OwnedFd, kind: Kind) -> SockOpts {
    let fd = fd.as_fd();
    let u = |r: rustix::io::Result<u32>| r.ok();
    let size = |r: rustix::io::Result<usize>| r.ok().and_then(|v| u32::try_from(v).ok());
    let secs = |r: rustix::io::Result<std::time::Duration>| r.ok().map(|d| d.as_secs() as u32);
    let linger = so::socket_linger(fd).ok();
    let rcvbuf = size(so::socket_recv_buffer_size(fd));
    let sndbuf = size(so::socket_send_buffer_size(fd));
    let mut o = SockOpts {
        reuseaddr: so::socket_reuseaddr(fd).ok(),
        reuseport: so::socket_reuseport(fd).ok(),
        keepalive: so::socket_keepalive(fd).ok(),
        linger: linger.map(|l| l.is_some()),
        linger_seconds: linger.map(|l| l.map_or(0, |d| d.as_secs() as u32)),
        rcvbuf,
        rcvbuf_set: rcvbuf.map(|b| b / 2),
        sndbuf,
        sndbuf_set: sndbuf.map(|b| b / 2),
        rcvlowat: extra::rcvlowat(fd),
        bindtodevice: extra::bindtodevice(fd),
        mark: extra::mark(fd),
        priority: extra::priority(fd),
        nonblock: rustix::fs::fcntl_getfl(fd).ok().map(|f| f.contains(rustix::fs::OFlags::NONBLOCK)),
        ..SockOpts::default()
    };
    if kind.inet {
        o.freebind = if kind.v6 { so::ipv6_freebind(fd).ok() } else { so::ip_freebind(fd).ok() };
        o.transparent = extra::transparent(fd, kind.v6);
        o.tos = if kind.v6 { so::ipv6_tclass(fd).ok().and_then(|t| u8::try_from(t).ok()) } else { so::ip_tos(fd).ok() };
    }
    if kind.v6 {
        o.v6only = so::ipv6_v6only(fd).ok();
    }
    if kind.tcp {
        o.keepidle = secs(so::tcp_keepidle(fd));
        o.keepintvl = secs(so::tcp_keepintvl(fd));
        o.keepcnt = u(so::tcp_keepcnt(fd));
        o.nodelay = so::tcp_nodelay(fd).ok();
        o.cork = so::tcp_cork(fd).ok();
        o.quickack = so::tcp_quickack(fd).ok();
        o.user_timeout_ms = u(so::tcp_user_timeout(fd));
        o.congestion = so::tcp_congestion(fd).ok();
        if kind.listener {
            o.defer_accept = extra::defer_accept(fd);
            o.fastopen = extra::fastopen(fd);
        }
    }
    o
}

/// FD_CLOEXEC of the holder's fd: the close-on-exec bit (O_CLOEXEC, 02000000 octal) of the
/// flags in /proc/PID/fdinfo/FD. Our duplicate has its own.
fn fd_cloexec(fdinfo: &OwnedFd, fd: u32) -> Option<bool> {
    use rustix::fs::{Mode, OFlags};
    let file = rustix::fs::openat(fdinfo, fd.to_string(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 256];
    let n = rustix::io::read(&file, &mut buf).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let flags = text.lines().find_map(|l| l.strip_prefix("flags:"))?;
    let flags = u64::from_str_radix(flags.trim(), 8).ok()?;
    Some(flags & 0o2000000 != 0)
}

/// The options rustix has no reader for, through nix's socket options (SO_BINDTODEVICE,
/// SO_MARK, SO_PRIORITY, IP_TRANSPARENT) and nix's own definition macro for the rest. The
/// macro expands to nix's getsockopt call (the unsafe block nix uses for its own options,
/// with its buffer sized by the type given: `int` for the four options as the kernel has
/// them, the C library's `struct tcp_info` for TCP_INFO), so no unsafe code is written here.
mod extra {
    use nix::sys::socket::{GetSockOpt, sockopt};
    use nix::{getsockopt_impl, sockopt_impl};
    use std::os::fd::BorrowedFd;

    // TCP_DEFER_ACCEPT, TCP_FASTOPEN, SO_RCVLOWAT and IPV6_TRANSPARENT: defined as nix
    // defines its own.
    sockopt_impl!(DeferAccept, GetOnly, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, i32);
    sockopt_impl!(FastOpen, GetOnly, libc::IPPROTO_TCP, libc::TCP_FASTOPEN, i32);
    sockopt_impl!(RcvLowat, GetOnly, libc::SOL_SOCKET, libc::SO_RCVLOWAT, i32);
    sockopt_impl!(Ipv6Transparent, GetOnly, libc::SOL_IPV6, libc::IPV6_TRANSPARENT, bool);
    // TCP_INFO into the C library's struct tcp_info (the kernel fills what fits).
    sockopt_impl!(TcpInfo, GetOnly, libc::IPPROTO_TCP, libc::TCP_INFO, libc::tcp_info);

    pub fn flow(fd: BorrowedFd<'_>) -> Option<super::Flow> {
        let i = TcpInfo.get(&fd).ok()?;
        Some(super::Flow {
            rtt_us: i.tcpi_rtt,
            min_rtt_us: i.tcpi_min_rtt,
            data_segs_out: i.tcpi_data_segs_out,
            bytes_sent: i.tcpi_bytes_sent,
        })
    }

    fn non_negative(v: nix::Result<i32>) -> Option<u32> {
        v.ok().and_then(|v| u32::try_from(v).ok())
    }

    pub fn defer_accept(fd: BorrowedFd<'_>) -> Option<u32> {
        non_negative(DeferAccept.get(&fd))
    }

    pub fn fastopen(fd: BorrowedFd<'_>) -> Option<u32> {
        non_negative(FastOpen.get(&fd))
    }

    pub fn rcvlowat(fd: BorrowedFd<'_>) -> Option<u32> {
        non_negative(RcvLowat.get(&fd))
    }

    pub fn transparent(fd: BorrowedFd<'_>, v6: bool) -> Option<bool> {
        if v6 { Ipv6Transparent.get(&fd).ok() } else { sockopt::IpTransparent.get(&fd).ok() }
    }

    pub fn bindtodevice(fd: BorrowedFd<'_>) -> Option<String> {
        sockopt::BindToDevice.get(&fd).ok().map(|d| d.to_string_lossy().trim_end_matches('\0').to_string())
    }

    pub fn mark(fd: BorrowedFd<'_>) -> Option<u32> {
        sockopt::Mark.get(&fd).ok()
    }

    pub fn priority(fd: BorrowedFd<'_>) -> Option<u32> {
        non_negative(sockopt::Priority.get(&fd))
    }
}

/// The options of a snapshot's sockets, by inode, and the sockets whose options could not
/// be read, by reason.
#[derive(Debug, Default)]
pub struct Report {
    pub by_inode: InodeMap<SockOpts>,
    /// With `read_flows`: the TCP sockets' traffic from tcp_info.
    pub flows: InodeMap<Flow>,
    /// Sockets a process holds whose options could not be read, and why.
    pub unknown: InodeMap<Unreadable>,
    /// Reason → (sockets, the processes holding them: pid → command).
    pub unread: BTreeMap<Unreadable, (usize, BTreeMap<u32, String>)>,
}

impl Report {
    /// Reads the options of each of `sockets` that a process holds, through its first
    /// holder whose fd can be read. Many sockets are split over the cores: each costs some
    /// twenty system calls.
    pub fn read(snap: &Snapshot, sockets: &[&Socket], proc_root: &Path) -> Report {
        Report::read_in_threads(snap, sockets, proc_root, false)
    }

    /// `read`, plus each TCP socket's traffic from tcp_info (`flows`).
    pub fn read_flows(snap: &Snapshot, sockets: &[&Socket], proc_root: &Path) -> Report {
        Report::read_in_threads(snap, sockets, proc_root, true)
    }

    fn read_in_threads(snap: &Snapshot, sockets: &[&Socket], proc_root: &Path, flows: bool) -> Report {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        if sockets.len() < 2000 || threads < 2 {
            return Report::read_some(snap, sockets, proc_root, flows);
        }
        let chunk = sockets.len().div_ceil(threads);
        let parts: Vec<Report> = std::thread::scope(|scope| {
            let handles: Vec<_> = sockets
                .chunks(chunk)
                .map(|part| scope.spawn(move || Report::read_some(snap, part, proc_root, flows)))
                .collect();
            // A reading thread does not panic; if one did, its sockets would be missing,
            // so it is read again here.
            handles
                .into_iter()
                .zip(sockets.chunks(chunk))
                .map(|(h, part)| h.join().unwrap_or_else(|_| Report::read_some(snap, part, proc_root, flows)))
                .collect()
        });
        let mut report = Report::default();
        for part in parts {
            report.merge(part);
        }
        report
    }

    /// The options of `sockets` as a capture recorded them (`recorded`), noted as the live
    /// reading notes them; a socket the capture has no options for is `NotRecorded`.
    pub fn from_capture(recorded: &Report, snap: &Snapshot, sockets: &[&Socket]) -> Report {
        let mut report = Report::default();
        for s in sockets {
            if s.inode == 0 || report.by_inode.contains_key(&s.inode) || report.unknown.contains_key(&s.inode) {
                continue;
            }
            match recorded.recorded(s.inode) {
                Ok(o) => {
                    report.by_inode.insert(s.inode, o.clone());
                    if let Some(f) = recorded.flows.get(&s.inode) {
                        report.flows.insert(s.inode, *f);
                    }
                }
                Err(why) => {
                    let Some(owner) = snap.owners_of(s).next() else { continue };
                    report.unknown.insert(s.inode, why);
                    report.tally(why, owner.process.pid, owner.process.command.to_string());
                }
            }
        }
        report
    }

    /// A capture's options for a socket, or why it has none: the reading failed when it was
    /// recorded, or the capture did not read it (`NotRecorded`).
    pub fn recorded(&self, inode: u64) -> Result<&SockOpts, Unreadable> {
        self.by_inode.get(&inode).ok_or_else(|| self.unknown.get(&inode).copied().unwrap_or(Unreadable::NotRecorded))
    }

    /// Adds another part's options, traffic and unreadable sockets to this one.
    pub fn merge(&mut self, part: Report) {
        self.by_inode.extend(part.by_inode);
        self.flows.extend(part.flows);
        self.unknown.extend(part.unknown);
        for (reason, (count, procs)) in part.unread {
            let entry = self.unread.entry(reason).or_default();
            entry.0 += count;
            entry.1.extend(procs);
        }
    }

    fn read_some(snap: &Snapshot, sockets: &[&Socket], proc_root: &Path, flows: bool) -> Report {
        let mut report = Report::default();
        let mut reader = Reader::new(proc_root);
        for s in sockets {
            if s.inode == 0 || report.by_inode.contains_key(&s.inode) {
                continue;
            }
            let kind = Kind::of(s);
            let mut why = None;
            for owner in snap.owners_of(s) {
                match reader.read_with(owner.process.pid, owner.fd, kind, flows && kind.tcp) {
                    Ok((o, flow)) => {
                        report.by_inode.insert(s.inode, o);
                        if let Some(f) = flow {
                            report.flows.insert(s.inode, f);
                        }
                        why = None;
                        break;
                    }
                    Err(e) => {
                        why.get_or_insert((e, owner.process.pid, owner.process.command.to_string()));
                    }
                }
            }
            if let Some((reason, pid, command)) = why {
                report.unknown.insert(s.inode, reason);
                report.tally(reason, pid, command);
            }
        }
        report
    }

    /// Counts a socket whose options could not be read, for the notes.
    pub fn tally(&mut self, reason: Unreadable, pid: u32, command: String) {
        let entry = self.unread.entry(reason).or_default();
        entry.0 += 1;
        entry.1.insert(pid, command);
    }

    pub fn get(&self, inode: u64) -> Option<&SockOpts> {
        self.by_inode.get(&inode)
    }

    /// Whether a process holds the socket but its options could not be read.
    pub fn held(&self, inode: u64) -> bool {
        self.unknown.contains_key(&inode)
    }

    /// One note per reason: how many sockets, why, and which processes.
    pub fn notes(&self) -> Vec<String> {
        self.unread
            .iter()
            .map(|(reason, (count, procs))| {
                let mut names: Vec<String> =
                    procs.iter().take(5).map(|(pid, c)| format!("{} ({pid})", crate::text::Untrusted(c))).collect();
                if procs.len() > 5 {
                    names.push(format!("and {} more", procs.len() - 5));
                }
                format!(
                    "options of {count} socket{} are unknown (null): {}; held by {}",
                    if *count == 1 { "" } else { "s" },
                    reason.why(),
                    names.join(", ")
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn tcp() -> Kind {
        Kind { tcp: true, inet: true, v6: false, listener: false }
    }

    #[test]
    fn options_of_our_own_sockets_read_back_as_set() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        so::set_socket_keepalive(&c, true).unwrap();
        so::set_tcp_keepidle(&c, std::time::Duration::from_secs(33)).unwrap();
        so::set_tcp_keepintvl(&c, std::time::Duration::from_secs(7)).unwrap();
        so::set_tcp_keepcnt(&c, 4).unwrap();
        so::set_tcp_nodelay(&c, true).unwrap();
        so::set_socket_linger(&c, Some(std::time::Duration::from_secs(5))).unwrap();
        so::set_socket_recv_buffer_size(&c, 40_000).unwrap();
        c.set_nonblocking(true).unwrap();
        let mut reader = Reader::new(Path::new("/proc"));
        let o = reader.read(std::process::id(), c.as_raw_fd() as u32, tcp()).unwrap();
        assert_eq!((o.keepalive, o.keepidle, o.keepintvl, o.keepcnt), (Some(true), Some(33), Some(7), Some(4)));
        assert_eq!((o.nodelay, o.linger, o.linger_seconds), (Some(true), Some(true), Some(5)));
        assert_eq!((o.rcvbuf_set, o.rcvbuf), (Some(40_000), Some(80_000)));
        assert_eq!((o.nonblock, o.cloexec), (Some(true), Some(true)));
        assert_eq!(o.reuseaddr, Some(false));
        assert_eq!(o.v6only, None, "not an IPv6 socket");
        let text = o.text();
        assert!(text.starts_with("opts:(keepalive:33/7/4,nodelay,linger:5,rcvbuf:40000/80000,"), "{text}");
        assert!(text.ends_with(",nonblock,cloexec)"), "{text}");
        // Our socket still works after the read.
        let (mut s, _) = l.accept().unwrap();
        use std::io::Write;
        s.write_all(b"x").unwrap();
    }

    #[test]
    fn a_closed_fd_is_gone_and_notes_say_why() {
        let mut reader = Reader::new(Path::new("/proc"));
        assert_eq!(reader.read(std::process::id(), 999_999, tcp()), Err(Unreadable::Gone));
        let mut r = Report::default();
        r.unread.insert(Unreadable::Denied, (3, BTreeMap::from([(42, "nginx".to_string())])));
        assert_eq!(
            r.notes(),
            vec![
                "options of 3 sockets are unknown (null): reading another process's socket needs ptrace access to it (root, or the same user with kernel.yama.ptrace_scope 0); held by nginx (42)"
            ]
        );
    }
}
