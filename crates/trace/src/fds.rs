//! What a tracee's fd is at a given moment: the connection of a socket
//! (`TCP:[127.0.0.1:51234->127.0.0.1:8080]`, as `strace -yy` shows it) or the path of any
//! other file, and for a local connection the process at the other end.
//!
//! Cheaply: one readlink of /proc/PID/fd/N tells whether the fd still is the socket seen
//! before (the inode); a new socket is asked for its addresses on a copy of the fd
//! (pidfd_getfd: getsockname, getpeername, SO_DOMAIN/SO_TYPE/SO_PROTOCOL, SO_PEERCRED), once,
//! then cached until a call that can change them (bind, connect, listen, a send on an
//! unconnected socket). Never a sock_diag dump per call, which is why `strace -yy` is slow.

use crate::decode;
use crate::peers::{Outside, Peer};
use rustix::fd::OwnedFd;
use rustix::net::{AddressFamily, SocketAddrAny, SocketType};
use serde::Serialize;
use sockscope_core::process::Processes;
use std::collections::HashMap;
use std::net::SocketAddr;

/// tcpi_state of a connect under way.
const TCP_SYN_SENT: u8 = 2;

/// A socket, as its fd shows it at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// The kernel's protocol name, as strace prints it: TCP, TCPv6, UDP, UNIX-STREAM, …
    pub proto: &'static str,
    pub inode: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// A Unix socket's peer socket (its inode), once connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_inode: Option<u64>,
    /// A Unix socket's own name (`"/run/app.sock"`, `@"abstract"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A netlink socket's protocol and port id (`ROUTE:4242`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netlink: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<Peer>,
    /// An inet socket's own address, once bound.
    #[serde(skip)]
    pub local_addr: Option<SocketAddr>,
    /// An inet socket's peer, once connected (or connecting).
    #[serde(skip)]
    pub remote_addr: Option<SocketAddr>,
}

impl Connection {
    fn unknown(inode: u64) -> Connection {
        Connection {
            proto: "socket",
            inode,
            local: None,
            remote: None,
            peer_inode: None,
            path: None,
            netlink: None,
            peer: None,
            local_addr: None,
            remote_addr: None,
        }
    }

    /// Both ends of a connected inet socket.
    fn ends(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.local_addr.zip(self.remote_addr)
    }

    /// strace -yy's words: `TCP:[127.0.0.1:51234->127.0.0.1:8080]`, `TCP:[12345]` while
    /// unbound, `UNIX-STREAM:[12345,"/run/app.sock"]`, `NETLINK:[ROUTE:4242]`.
    pub fn strace_text(&self) -> String {
        let unix = |inode: u64| match self.peer_inode {
            Some(peer) => format!("{inode}->{peer}"),
            None => inode.to_string(),
        };
        let body = match (&self.local, &self.remote, &self.path, &self.netlink) {
            (_, _, _, Some(nl)) => nl.clone(),
            (_, _, Some(path), _) => format!("{},{path}", unix(self.inode)),
            _ if self.peer_inode.is_some() => unix(self.inode),
            (Some(l), Some(r), _, _) => format!("{l}->{r}"),
            (Some(l), None, _, _) => l.clone(),
            _ => self.inode.to_string(),
        };
        format!("{}:[{body}]", self.proto)
    }
}

/// What an fd is: a socket, another file (its path), or nothing (closed, or unreadable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FdInfo {
    Socket(Box<Connection>),
    File(String),
}

impl FdInfo {
    /// `3<TCP:[…]>` as strace -yy writes an fd, with ` -> comm[pid]` after a socket whose
    /// other end is known.
    pub fn annotate(&self, fd: i64) -> String {
        match self {
            FdInfo::Socket(c) => match &c.peer {
                Some(p) => format!("{fd}<{} -> {}[{}]>", c.strace_text(), crate::decode::escaped(&p.comm), p.pid),
                None => format!("{fd}<{}>", c.strace_text()),
            },
            FdInfo::File(path) => format!("{fd}<{}>", decode::escaped(path)),
        }
    }

    pub fn socket(&self) -> Option<&Connection> {
        match self {
            FdInfo::Socket(c) => Some(c),
            FdInfo::File(_) => None,
        }
    }
}

/// What kind of socket an fd is: asked of it once, or known from the call that made it.
#[derive(Debug, Clone, Copy)]
struct Kind {
    domain: AddressFamily,
    kind: SocketType,
    protocol: u32,
}

struct Cached {
    inode: u64,
    kind: Kind,
    conn: Connection,
    /// Whether the other end was looked for outside the traced processes (once per socket:
    /// that lookup reads the host's socket table).
    looked_outside: bool,
}

/// The fds of the traced processes, by (process, fd).
#[derive(Default)]
pub struct FdTable {
    sockets: HashMap<(i32, i32), Cached>,
    pidfds: HashMap<i32, OwnedFd>,
    comms: HashMap<i32, String>,
    /// inet connections by (local, remote), for finding a peer among the traced.
    by_ends: HashMap<(SocketAddr, SocketAddr), i32>,
    /// Exact Unix lookups for peer inodes, opened on first need (None inside: unavailable).
    unix_peers: Option<Option<sockscope_core::unix_peer::UnixPeers>>,
    /// Connected sockets not asked about since, by the address they connected to.
    connects: HashMap<SocketAddr, Vec<(i32, i32)>>,
    /// Lookups of other ends outside the traced processes, made on first need.
    outside: Option<Outside>,
    /// Non-blocking connects under way: the socket's inode and the address connected to.
    connecting: HashMap<(i32, i32), (u64, SocketAddr)>,
}

impl FdTable {
    /// What fd `fd` of process `tgid` is now.
    pub fn info(&mut self, tgid: i32, fd: i64) -> Option<FdInfo> {
        self.lookup(tgid, fd, None)
    }

    /// Whether fd `fd` of `tgid` has a cached connection (no system call: the caller confirms
    /// it with `info` later).
    pub fn is_cached(&self, tgid: i32, fd: i64) -> bool {
        i32::try_from(fd).is_ok_and(|fd| self.sockets.contains_key(&(tgid, fd)))
    }

    /// The fd a successful `socket(domain, type, protocol)` returned: its kind is known from
    /// the call, and a new socket is unbound, so only its inode is asked for.
    pub fn created(&mut self, tgid: i32, fd: i64, domain: u64, kind: u64, protocol: u64) -> Option<FdInfo> {
        let domain = AddressFamily::from_raw(u16::try_from(domain).ok()?);
        let kind = SocketType::from_raw(u32::try_from(kind & 0xf).ok()?);
        let protocol = match (u32::try_from(protocol).ok()?, domain, kind) {
            (0, AddressFamily::INET | AddressFamily::INET6, SocketType::STREAM) => 6,
            (0, AddressFamily::INET | AddressFamily::INET6, SocketType::DGRAM) => 17,
            (p, _, _) => p,
        };
        let known = Kind { domain, kind, protocol };
        let (fd, inode) = match self.inode(tgid, fd)? {
            Ok(found) => found,
            Err(file) => return Some(file),
        };
        let conn = Connection { proto: proto_name(domain, kind, protocol), ..Connection::unknown(inode) };
        self.sockets.insert((tgid, fd), Cached { inode, kind: known, conn: conn.clone(), looked_outside: false });
        Some(FdInfo::Socket(Box::new(conn)))
    }

    /// The fd `accept` returned on `listener`: of the listener's kind, so only its addresses
    /// are asked for.
    pub fn accepted(&mut self, tgid: i32, listener: i64, fd: i64) -> Option<FdInfo> {
        let kind = i32::try_from(listener).ok().and_then(|l| self.sockets.get(&(tgid, l))).map(|c| c.kind);
        self.lookup(tgid, fd, kind)
    }

    /// The fd's socket inode (Ok), or what else it is (Err); None if it is not open.
    fn inode(&mut self, tgid: i32, fd: i64) -> Option<Result<(i32, u64), FdInfo>> {
        let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
        let link = Processes::default().fd_link(u32::try_from(tgid).ok()?, u32::try_from(fd).ok()?)?;
        let link = link.to_string_lossy();
        let Some(inode) = link.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) else {
            return Some(Err(FdInfo::File(link.into_owned())));
        };
        Some(Ok((fd, inode.parse().ok()?)))
    }

    fn lookup(&mut self, tgid: i32, fd: i64, known: Option<Kind>) -> Option<FdInfo> {
        let (fd, inode) = match self.inode(tgid, fd)? {
            Ok(found) => found,
            Err(file) => return Some(file),
        };
        if self.sockets.get(&(tgid, fd)).is_some_and(|c| c.inode == inode) {
            return Some(FdInfo::Socket(Box::new(self.with_peer(tgid, fd))));
        }
        // A non-blocking connect under way: the kernel has no peer to tell yet (ENOTCONN),
        // the connect call named it. Only then is the socket's TCP state asked for.
        let connecting = self.connecting.get(&(tgid, fd)).filter(|(ino, _)| *ino == inode).map(|(_, r)| *r);
        let (mut conn, kind, state) = match self.query(tgid, fd, inode, known, connecting.is_some()) {
            Some(found) => found,
            None => (
                Connection::unknown(inode),
                Kind { domain: AddressFamily::UNSPEC, kind: SocketType::RAW, protocol: 0 },
                None,
            ),
        };
        // The address the connect named stands in for as long as the connect is under way
        // (SYN_SENT), not cached: it is asked again at the next call. Refused or timed out,
        // the socket is closed and connected to nothing: shown as its inode (as strace's
        // sock_diag, which lists no closed socket, shows it), and cached so.
        if conn.remote_addr.is_none()
            && let Some(remote) = connecting
        {
            if state == Some(TCP_SYN_SENT) {
                conn.remote_addr = Some(remote);
                conn.remote = Some(remote.to_string());
                return Some(FdInfo::Socket(Box::new(conn)));
            }
            conn.local = None;
            conn.local_addr = None;
        }
        self.connecting.remove(&(tgid, fd));
        if let Some(ends) = conn.ends() {
            self.by_ends.insert(ends, tgid);
        }
        self.sockets.insert((tgid, fd), Cached { inode, kind, conn, looked_outside: false });
        Some(FdInfo::Socket(Box::new(self.with_peer(tgid, fd))))
    }

    /// The cached connection of `fd`, with the process at its other end when known: a
    /// traced process (free), else, once per socket, whoever the host's socket table says.
    fn with_peer(&mut self, tgid: i32, fd: i32) -> Connection {
        let Some((mut conn, looked_outside)) =
            self.sockets.get(&(tgid, fd)).map(|c| (c.conn.clone(), c.looked_outside))
        else {
            return Connection::unknown(0);
        };
        if conn.peer.is_some() {
            return conn;
        }
        conn.peer = self.traced_peer(&conn);
        let look_outside = conn.peer.is_none() && !looked_outside && conn.proto.starts_with("TCP");
        if let (true, Some((local, remote))) = (look_outside, conn.ends()) {
            let peer = self.outside.get_or_insert_with(Outside::default).peer(tgid, local, remote);
            if let Some(c) = self.sockets.get_mut(&(tgid, fd)) {
                c.looked_outside = true;
                c.conn.peer.clone_from(&peer);
            }
            conn.peer = peer;
        }
        conn
    }

    /// After a call that can change the fd's addresses (bind, connect, listen, a send that
    /// binds an unbound socket).
    pub fn changed(&mut self, tgid: i32, fd: i64) {
        if let Ok(fd) = i32::try_from(fd)
            && let Some(c) = self.sockets.remove(&(tgid, fd))
            && let Some(ends) = c.conn.ends()
        {
            self.by_ends.remove(&ends);
        }
    }

    /// After a send: an unconnected socket may have been bound by it (UDP's autobind); a
    /// connected one has not changed.
    pub fn sent(&mut self, tgid: i32, fd: i64) {
        let connected = i32::try_from(fd)
            .ok()
            .and_then(|fd| self.sockets.get(&(tgid, fd)))
            .is_some_and(|c| c.conn.remote.is_some() || c.conn.peer_inode.is_some());
        if !connected {
            self.changed(tgid, fd);
        }
    }

    /// A connect to `remote` succeeded (or is under way): if a traced process accepts it,
    /// this socket is its other end (`traced_peer` finds it by the address).
    pub fn connected(&mut self, tgid: i32, fd: i64, remote: SocketAddr) {
        if let Ok(fd) = i32::try_from(fd) {
            let waiting = self.connects.entry(remote).or_default();
            // A listener that is never accepted from would let this grow: keep the last few.
            if waiting.len() >= 64 {
                waiting.remove(0);
            }
            waiting.push((tgid, fd));
        }
    }

    /// A connect to `remote` returned EINPROGRESS: until it completes, getpeername says
    /// nothing, so the address it was given stands in.
    pub fn connecting(&mut self, tgid: i32, fd: i64, inode: u64, remote: SocketAddr) {
        if let Ok(fd) = i32::try_from(fd) {
            self.connecting.insert((tgid, fd), (inode, remote));
        }
    }

    /// A process ended or replaced its program: its pidfd and name are stale.
    pub fn forget_process(&mut self, tgid: i32, exited: bool) {
        self.comms.remove(&tgid);
        if exited {
            self.pidfds.remove(&tgid);
            self.sockets.retain(|(pid, _), _| *pid != tgid);
            self.by_ends.retain(|_, pid| *pid != tgid);
            self.connecting.retain(|(pid, _), _| *pid != tgid);
            self.connects.values_mut().for_each(|v| v.retain(|(pid, _)| *pid != tgid));
            self.connects.retain(|_, v| !v.is_empty());
        }
    }

    /// The other end of an inet connection, when a traced process holds it.
    fn traced_peer(&mut self, conn: &Connection) -> Option<Peer> {
        let (local, remote) = conn.ends()?;
        if !self.by_ends.contains_key(&(remote, local)) {
            // A traced socket connected to us whose addresses were not asked for since
            // its connect: ask now (this registers its ends).
            for (tgid, fd) in self.connects.remove(&local).unwrap_or_default() {
                self.lookup(tgid, i64::from(fd), None);
            }
        }
        let pid = *self.by_ends.get(&(remote, local))?;
        Some(Peer { pid, comm: self.comm(pid) })
    }

    fn comm(&mut self, pid: i32) -> String {
        self.comms
            .entry(pid)
            .or_insert_with(|| u32::try_from(pid).ok().and_then(|p| Processes::default().comm(p)).unwrap_or_default())
            .clone()
    }

    /// The socket's addresses (and kind, unless `known`), asked of a copy of the tracee's fd,
    /// and, with `want_state`, a TCP socket's state.
    fn query(
        &mut self,
        tgid: i32,
        fd: i32,
        inode: u64,
        known: Option<Kind>,
        want_state: bool,
    ) -> Option<(Connection, Kind, Option<u8>)> {
        let pidfd = match self.pidfds.entry(tgid) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let pid = rustix::process::Pid::from_raw(tgid)?;
                e.insert(rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?)
            }
        };
        let copy = rustix::process::pidfd_getfd(pidfd, fd, rustix::process::PidfdGetfdFlags::empty()).ok()?;
        let Kind { domain, kind, protocol } = match known {
            Some(k) => k,
            None => Kind {
                domain: rustix::net::sockopt::socket_domain(&copy).ok()?,
                kind: rustix::net::sockopt::socket_type(&copy).ok()?,
                protocol: rustix::net::sockopt::socket_protocol(&copy).ok().flatten().map_or(0, |p| p.as_raw().get()),
            },
        };
        let local = rustix::net::getsockname(&copy).ok();
        let remote = rustix::net::getpeername(&copy).ok().flatten();
        let mut conn = Connection { proto: proto_name(domain, kind, protocol), ..Connection::unknown(inode) };
        let tcp = (domain == AddressFamily::INET || domain == AddressFamily::INET6) && protocol == 6;
        let state = if tcp && want_state { crate::sys::tcp_state(std::os::fd::AsFd::as_fd(&copy)) } else { None };
        if domain == AddressFamily::INET || domain == AddressFamily::INET6 {
            let local = local.and_then(|a| SocketAddr::try_from(a).ok());
            let remote = remote.and_then(|a| SocketAddr::try_from(a).ok());
            // Unbound: strace shows the inode.
            conn.local = local.filter(|l| l.port() != 0 || !l.ip().is_unspecified()).map(|l| l.to_string());
            conn.remote = remote.map(|r| r.to_string());
            conn.local_addr = local;
            conn.remote_addr = remote;
        } else if domain == AddressFamily::UNIX {
            conn.path = local.and_then(unix_name);
            conn.peer_inode = self
                .unix_peers
                .get_or_insert_with(|| sockscope_core::unix_peer::UnixPeers::open().ok())
                .as_mut()
                .and_then(|p| p.peer_of(inode));
            if let Ok(cred) = rustix::net::sockopt::socket_peercred(&copy)
                && conn.peer_inode.is_some()
            {
                let pid = cred.pid.as_raw_nonzero().get();
                conn.peer = Some(Peer { pid, comm: self.comm(pid) });
            }
        } else if domain == AddressFamily::NETLINK {
            let port = local.and_then(|a| rustix::net::netlink::SocketAddrNetlink::try_from(a).ok()).map(|a| a.pid());
            conn.netlink = port.filter(|p| *p != 0).map(|p| {
                format!(
                    "{}:{p}",
                    decode::netlink_protocol(protocol).map_or_else(|| protocol.to_string(), str::to_string)
                )
            });
        }
        Some((conn, Kind { domain, kind, protocol }, state))
    }
}

/// A Unix socket's own name as strace quotes it (`"/path"`, `@"abstract"`); None if unnamed.
fn unix_name(addr: SocketAddrAny) -> Option<String> {
    let unix = rustix::net::SocketAddrUnix::try_from(addr).ok()?;
    if unix.is_unnamed() {
        return None;
    }
    // An unnamed socket may come back as an empty abstract name.
    if let Some(name) = unix.abstract_name().filter(|n| !n.is_empty()) {
        return Some(format!("@{}", decode::quoted(name, usize::MAX)));
    }
    unix.path_bytes().filter(|p| !p.is_empty()).map(|p| decode::quoted(p, usize::MAX))
}

/// The name the kernel gives the socket's protocol (its `struct proto` name).
fn proto_name(domain: AddressFamily, kind: SocketType, protocol: u32) -> &'static str {
    let v6 = domain == AddressFamily::INET6;
    let pick = |v4: &'static str, six: &'static str| if v6 { six } else { v4 };
    if domain == AddressFamily::INET || v6 {
        return match (kind, protocol) {
            (SocketType::RAW, _) => pick("RAW", "RAWv6"),
            (_, 6) => pick("TCP", "TCPv6"),
            (_, 17) => pick("UDP", "UDPv6"),
            (_, 136) => pick("UDP-Lite", "UDPLITEv6"),
            (_, 1 | 58) => pick("PING", "PINGv6"),
            (_, 132) => pick("SCTP", "SCTPv6"),
            (_, 262) => pick("MPTCP", "MPTCPv6"),
            _ => pick("INET", "INET6"),
        };
    }
    if domain == AddressFamily::UNIX {
        return if kind == SocketType::STREAM { "UNIX-STREAM" } else { "UNIX" };
    }
    if domain == AddressFamily::NETLINK {
        return "NETLINK";
    }
    if domain == AddressFamily::PACKET {
        return "PACKET";
    }
    "socket"
}
