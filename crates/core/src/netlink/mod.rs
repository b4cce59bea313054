//! A sock_diag client: one NETLINK_SOCK_DIAG socket, our own dump loop, and in-place parsing.
//!
//! Hand-written rather than netlink-packet-sock-diag because that crate covers only the inet
//! and unix tables (we also need packet and netlink diag) and decodes every message into
//! owned structures; at 100k+ sockets we parse each reply in the receive buffer instead.

pub mod freed;
pub mod parse;
pub mod rawdump;
pub mod request;
pub mod wire;

use crate::model::{Netid, Socket};
use crate::select::Selection;
use request::{AF_INET, AF_INET6, IPPROTO_MPTCP, IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use wire::{Message, Messages, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP};

/// SOCK_DIAG_BY_FAMILY, the request and reply type of every dump.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// TCPDIAG_GETSOCK: the older request type, which dumps both IP families in one walk.
const TCPDIAG_GETSOCK: u16 = 18;
/// SOCK_DESTROY: abort one socket.
const SOCK_DESTROY: u16 = 21;
/// ss uses 32 KiB; the kernel sizes dump batches to the largest receive seen, so a larger
/// buffer means fewer recv calls at 100k+ sockets.
const RECV_BUFFER: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a NETLINK_SOCK_DIAG socket: {0}")]
    Open(Errno),
    #[error("sock_diag dump of {table} failed: {errno}")]
    Io { table: &'static str, errno: Errno },
    /// The kernel has no diag handler for this table (module not built or not loaded).
    #[error("the kernel has no sock_diag support for {table} ({errno})")]
    Unsupported { table: &'static str, errno: Errno },
    #[error("malformed sock_diag reply while dumping {table}")]
    Malformed { table: &'static str },
    #[error("the filter program is {len} bytes, more than a sock_diag request can carry")]
    ProgramTooLong { len: usize },
}

/// An open sock_diag socket with its receive buffer.
pub struct DiagSocket {
    fd: OwnedFd,
    buf: Vec<u8>,
    seq: u32,
    /// Set when the kernel flagged a dump as interrupted (sockets changed mid-dump).
    pub interrupted: bool,
}

impl DiagSocket {
    pub fn open() -> Result<DiagSocket, NetlinkError> {
        Ok(DiagSocket::from_fd(sock_diag_socket().map_err(NetlinkError::Open)?))
    }

    /// A sock_diag socket opened elsewhere (in another network namespace: `netns`).
    pub fn from_fd(fd: OwnedFd) -> DiagSocket {
        DiagSocket { fd, buf: vec![0; RECV_BUFFER], seq: 0, interrupted: false }
    }

    /// Sends one request message to the kernel; returns its sequence number.
    fn send(&mut self, table: &'static str, kind: u16, flags: u16, payload: &[u8]) -> Result<u32, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut req = Vec::with_capacity(wire::NLMSG_HDRLEN + payload.len());
        wire::push_header(&mut req, payload.len(), kind, flags, self.seq);
        req.extend_from_slice(payload);
        let kernel = SocketAddrNetlink::new(0, 0);
        retry_eintr(|| rustix::net::sendto(&self.fd, &req, SendFlags::empty(), &kernel))
            .map_err(|errno| NetlinkError::Io { table, errno })?;
        Ok(self.seq)
    }

    /// Sends one dump request (`payload` is the family's request struct) and hands the
    /// payload of every reply message to `on_reply` until the kernel says done.
    pub fn dump(
        &mut self,
        table: &'static str,
        payload: &[u8],
        on_reply: impl FnMut(&[u8]),
    ) -> Result<(), NetlinkError> {
        self.dump_as(SOCK_DIAG_BY_FAMILY, table, payload, on_reply)
    }

    /// `dump` with another request type.
    fn dump_as(
        &mut self,
        kind: u16,
        table: &'static str,
        payload: &[u8],
        mut on_reply: impl FnMut(&[u8]),
    ) -> Result<(), NetlinkError> {
        let seq = self.send(table, kind, NLM_F_REQUEST | NLM_F_DUMP, payload)?;

        loop {
            let (n, _) = retry_eintr(|| rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()))
                .map_err(|errno| NetlinkError::Io { table, errno })?;
            let mut messages = Messages::new(&self.buf[..n]);
            for Message { kind, flags, seq: msg_seq, payload } in messages.by_ref() {
                if msg_seq != seq {
                    continue; // a stale reply to an earlier request
                }
                if flags & NLM_F_DUMP_INTR != 0 {
                    self.interrupted = true;
                }
                match kind {
                    NLMSG_DONE => return done_status(table, payload),
                    NLMSG_ERROR => return Err(error_status(table, payload)),
                    NLMSG_NOOP => {}
                    _ => on_reply(payload),
                }
            }
            if messages.malformed {
                return Err(NetlinkError::Malformed { table });
            }
        }
    }

    /// Dumps every selected table of the inet, unix, packet and netlink families, appending
    /// the sockets that match the selection to `out`. Tables the kernel cannot dump are
    /// returned so the caller can read them from /proc instead.
    pub fn collect(
        &mut self,
        q: &Query<'_>,
        out: &mut Vec<Socket>,
    ) -> Result<Vec<(Netid, NetlinkError)>, NetlinkError> {
        let sel = &q.selection;
        let mut q = q.clone();
        if q.one_walk
            && sel.has_netid(Netid::Tcp)
            && sel.has_family(crate::Family::Inet)
            && sel.has_family(crate::Family::Inet6)
        {
            let start = out.len();
            let ext = q.extensions.inet_ext_for(Netid::Tcp);
            let req = request::tcp_both_families(sel.states, ext, q.bytecode)
                .ok_or(NetlinkError::ProgramTooLong { len: q.bytecode.map_or(0, <[u8]>::len) })?;
            match self.dump_as(TCPDIAG_GETSOCK, "tcp", &req, |p| keep_inet(p, Netid::Tcp, &q, &mut |s| out.push(s))) {
                Ok(()) => {
                    // IPv4 first, as the per-family dumps (and ss) give them.
                    let (v4, v6): (Vec<Socket>, Vec<Socket>) =
                        out.drain(start..).partition(|s| s.family != crate::Family::Inet6);
                    out.extend(v4);
                    out.extend(v6);
                    q.selection = sel.without(Netid::Tcp);
                    return self.collect_each(&q, &mut |s| out.push(s));
                }
                // An old kernel without the older request: one walk per family below.
                Err(NetlinkError::Unsupported { .. }) => out.truncate(start),
                Err(e) => return Err(e),
            }
        }
        self.collect_each(&q, &mut |s| out.push(s))
    }

    /// The same, handing each socket to `sink` as it is read instead of keeping it (the
    /// table's streaming path), one dump per table and family (`one_walk` is not used).
    pub fn collect_each(
        &mut self,
        q: &Query<'_>,
        sink: &mut dyn FnMut(Socket),
    ) -> Result<Vec<(Netid, NetlinkError)>, NetlinkError> {
        let sel = &q.selection;
        let mut failed = Vec::new();
        let inet = [
            (Netid::Tcp, u16::from(IPPROTO_TCP), "tcp"),
            (Netid::Udp, u16::from(IPPROTO_UDP), "udp"),
            (Netid::Raw, u16::from(IPPROTO_RAW), "raw"),
            (Netid::Mptcp, IPPROTO_MPTCP, "mptcp"),
        ];
        for (netid, proto, name) in inet {
            if !sel.has_netid(netid) {
                continue;
            }
            let ext = q.extensions.inet_ext_for(netid);
            for (family, af) in [(crate::Family::Inet, AF_INET), (crate::Family::Inet6, AF_INET6)] {
                if !sel.has_family(family) {
                    continue;
                }
                let req = request::inet_any(af, proto, sel.states, ext, q.bytecode)
                    .ok_or(NetlinkError::ProgramTooLong { len: q.bytecode.map_or(0, <[u8]>::len) })?;
                let result = self.dump(name, &req, |p| keep_inet(p, netid, q, sink));
                if let Err(e) = result {
                    failed.push((netid, classify(e)?));
                    break;
                }
            }
        }
        let unix = [Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket];
        if unix.iter().any(|n| sel.has_netid(*n)) {
            let result = self.dump("unix", &request::unix(sel.states, q.extensions), |p| {
                if let Some(s) = parse::unix(p).filter(|s| sel.matches(s)) {
                    sink(s);
                }
            });
            if let Err(e) = result {
                let e = classify(e)?;
                for n in unix.into_iter().filter(|n| sel.has_netid(*n)) {
                    failed.push((n, NetlinkError::Unsupported { table: "unix", errno: errno_of(&e) }));
                }
            }
        }
        if sel.has_netid(Netid::PacketRaw) || sel.has_netid(Netid::PacketDgram) {
            let result = self.dump("packet", &request::packet(q.extensions), |p| {
                if let Some(s) = parse::packet(p).filter(|s| sel.matches(s)) {
                    sink(s);
                }
            });
            if let Err(e) = result {
                let e = classify(e)?;
                for n in [Netid::PacketRaw, Netid::PacketDgram].into_iter().filter(|n| sel.has_netid(*n)) {
                    failed.push((n, NetlinkError::Unsupported { table: "packet", errno: errno_of(&e) }));
                }
            }
        }
        if sel.has_netid(Netid::Netlink) {
            let result = self.dump("netlink", &request::netlink(q.extensions), |p| {
                if let Some(s) = parse::netlink(p).filter(|s| sel.matches(s)) {
                    sink(s);
                }
            });
            if let Err(e) = result {
                failed.push((Netid::Netlink, classify(e)?));
            }
        }
        Ok(failed)
    }

    /// The cookies of the TCP and UDP sockets the kernel calls autobound (bound to no port
    /// explicitly: `sk_userlocks` without SOCK_BINDPORT_LOCK; TIME-WAIT sockets always), from
    /// dumps filtered by `program`, the one-instruction program `autobound` compiles to (the
    /// caller compiles it: the filter is above the readers).
    pub fn autobound_cookies(&mut self, program: &[u8]) -> Result<std::collections::HashSet<u64>, NetlinkError> {
        let mut cookies = std::collections::HashSet::new();
        for (netid, proto, table) in [(Netid::Tcp, IPPROTO_TCP, "tcp"), (Netid::Udp, IPPROTO_UDP, "udp")] {
            for af in [AF_INET, AF_INET6] {
                let req = request::inet_with_bytecode(af, proto, crate::model::StateSet::ALL, 0, program)
                    .ok_or(NetlinkError::ProgramTooLong { len: program.len() })?;
                self.dump(table, &req, |p| {
                    if let Some(c) = parse::inet(p, netid).and_then(|s| s.cookie) {
                        cookies.insert(c.get());
                    }
                })?;
            }
        }
        Ok(cookies)
    }

    /// One Unix socket, by inode: the kernel's exact lookup (no dump), as `strace -yy` asks
    /// it. None when no such socket exists (any more).
    pub fn unix_one(&mut self, inode: u64) -> Result<Option<Socket>, NetlinkError> {
        let table = "unix";
        let Ok(ino) = u32::try_from(inode) else { return Ok(None) };
        let seq = self.send(table, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &request::unix_one(ino))?;
        loop {
            let (n, _) = retry_eintr(|| rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()))
                .map_err(|errno| NetlinkError::Io { table, errno })?;
            for m in Messages::new(&self.buf[..n]) {
                if m.seq != seq {
                    continue;
                }
                if m.kind == NLMSG_ERROR {
                    let code = wire::u32_ne(m.payload, 0) as i32;
                    return match Errno::from_raw_os_error(-code) {
                        Errno::NOENT => Ok(None),
                        errno => Err(NetlinkError::Io { table, errno }),
                    };
                }
                return Ok(parse::unix(m.payload));
            }
        }
    }

    /// Destroys one TCP, UDP or raw socket (SOCK_DESTROY, as `ss -K`): the kernel aborts it
    /// and its owner sees ECONNABORTED. Needs CAP_NET_ADMIN and CONFIG_INET_DIAG_DESTROY.
    pub fn destroy(&mut self, s: &Socket) -> Result<(), NetlinkError> {
        let table = match s.netid {
            Netid::Tcp => "tcp",
            Netid::Udp => "udp",
            Netid::Raw => "raw",
            _ => return Err(NetlinkError::Unsupported { table: "this socket type", errno: Errno::OPNOTSUPP }),
        };
        let payload = request::destroy(s).ok_or(NetlinkError::Unsupported { table, errno: Errno::INVAL })?;
        let seq = self.send(table, SOCK_DESTROY, NLM_F_REQUEST | wire::NLM_F_ACK, &payload)?;
        loop {
            let (n, _) = retry_eintr(|| rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()))
                .map_err(|errno| NetlinkError::Io { table, errno })?;
            for m in Messages::new(&self.buf[..n]) {
                if m.seq == seq && m.kind == NLMSG_ERROR {
                    let code = wire::u32_ne(m.payload, 0) as i32;
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(NetlinkError::Io { table, errno: Errno::from_raw_os_error(-code) })
                    };
                }
            }
        }
    }
}

/// One collection: which sockets, what detail, and the kernel-side filter program.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    pub selection: Selection,
    pub extensions: request::Extensions,
    /// inet_diag bytecode run by the kernel on TCP, UDP and raw sockets.
    pub bytecode: Option<&'a [u8]>,
    /// Both IP families' TCP sockets in one walk of the kernel's tables (`TCPDIAG_GETSOCK`)
    /// rather than one per family: worth it where the walk costs more than the sockets, in
    /// a namespace of a host with many (every namespace's dump walks all of the host's).
    pub one_walk: bool,
}

/// One inet reply: parsed, selected, trimmed as the query asks, and handed to `sink`.
fn keep_inet(p: &[u8], netid: Netid, q: &Query<'_>, sink: &mut dyn FnMut(Socket)) {
    let Some(mut s) = parse::inet(p, netid).filter(|s| q.selection.matches(s)) else { return };
    if q.extensions.inet_sockopt
        && let Some(bits) = parse::inet_sockopt(p)
    {
        s.details_mut().extra_mut().inet_sockopt = Some(bits);
    }
    if q.extensions.vitals && !q.extensions.tcp_info {
        s.keep_vitals_only();
    }
    sink(s);
}

/// Keeps "this table is not supported" errors (to fall back on /proc) and turns the rest
/// into hard errors.
fn classify(e: NetlinkError) -> Result<NetlinkError, NetlinkError> {
    match e {
        NetlinkError::Unsupported { .. } => Ok(e),
        other => Err(other),
    }
}

fn errno_of(e: &NetlinkError) -> Errno {
    match e {
        NetlinkError::Open(errno) | NetlinkError::Io { errno, .. } | NetlinkError::Unsupported { errno, .. } => *errno,
        NetlinkError::Malformed { .. } => Errno::PROTO,
        NetlinkError::ProgramTooLong { .. } => Errno::MSGSIZE,
    }
}

fn done_status(table: &'static str, payload: &[u8]) -> Result<(), NetlinkError> {
    let code = wire::u32_ne(payload, 0) as i32;
    if code < 0 { Err(error_from_code(table, code)) } else { Ok(()) }
}

fn error_status(table: &'static str, payload: &[u8]) -> NetlinkError {
    let code = wire::u32_ne(payload, 0) as i32;
    if code == 0 {
        // An ACK where a dump was expected: treat as an empty table ending.
        return NetlinkError::Malformed { table };
    }
    error_from_code(table, code)
}

fn error_from_code(table: &'static str, code: i32) -> NetlinkError {
    let errno = Errno::from_raw_os_error(-code);
    // ENOENT: no diag handler registered for the family/protocol; EOPNOTSUPP/EINVAL: an
    // old kernel that does not know the request.
    if errno == Errno::NOENT || errno == Errno::OPNOTSUPP || errno == Errno::INVAL || errno == Errno::AFNOSUPPORT {
        NetlinkError::Unsupported { table, errno }
    } else {
        NetlinkError::Io { table, errno }
    }
}

/// A new NETLINK_SOCK_DIAG socket, in the calling thread's network namespace.
pub(crate) fn sock_diag_socket() -> rustix::io::Result<OwnedFd> {
    rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(rustix::net::netlink::SOCK_DIAG),
    )
}

fn retry_eintr<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}
