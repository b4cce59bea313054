//! Helpers that put sockets into well-known states directly, and wait until the kernel
//! shows them there. State is read from /proc/thread-self/net (the calling thread's network
//! namespace — /proc/self/net would show the process's), never through sockscope itself.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

/// Kernel TCP state numbers (include/net/tcp_states.h).
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_FIN_WAIT2: u8 = 5;
pub const TCP_TIME_WAIT: u8 = 6;
pub const TCP_CLOSE_WAIT: u8 = 8;
pub const TCP_LISTEN: u8 = 10;

/// (local, remote, state) of every TCP socket in the calling thread's namespace.
pub fn tcp_sockets() -> io::Result<Vec<(SocketAddr, SocketAddr, u8)>> {
    let mut out = Vec::new();
    for file in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/thread-self/net/{file}"))?;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            if let (Some(l), Some(r), Ok(st)) = (hex_addr(f[1]), hex_addr(f[2]), u8::from_str_radix(f[3], 16)) {
                out.push((l, r, st));
            }
        }
    }
    Ok(out)
}

fn hex_addr(s: &str) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let word = |i: usize| u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok().map(u32::to_ne_bytes);
    let ip: std::net::IpAddr = match a.len() {
        8 => std::net::Ipv4Addr::from(word(0)?).into(),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            std::net::Ipv6Addr::from(b).into()
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Waits (up to 5 s) until the socket with this local/remote pair is in `state`.
pub fn wait_for_state(local: SocketAddr, remote: SocketAddr, state: u8) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if tcp_sockets()?.iter().any(|&(l, r, s)| l == local && r == remote && s == state) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!("{local} -> {remote} did not reach TCP state {state} within 5 s")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 5 s) until process `pid` has exec'd, so it holds only the fds it was given
/// (until exec a forked child holds copies of all its parent's).
pub fn wait_for_exec(pid: u32) -> io::Result<()> {
    let me = std::fs::read_link("/proc/self/exe")?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::fs::read_link(format!("/proc/{pid}/exe")) {
            Ok(exe) if exe != me => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!("process {pid} did not exec within 5 s")));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A connected pair through `listener`: (client, accepted server side).
pub fn connected_pair(listener: &TcpListener) -> io::Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

/// Leaves one TIME-WAIT socket (the client side, which closes first) for a connection to
/// `listener`, and returns its (local, remote) addresses.
pub fn time_wait(listener: &TcpListener) -> io::Result<(SocketAddr, SocketAddr)> {
    let (client, mut server) = connected_pair(listener)?;
    let (local, remote) = (client.local_addr()?, client.peer_addr()?);
    client.shutdown(Shutdown::Both)?;
    drop(client);
    // The server reads EOF, then closes too: the client moves to TIME-WAIT.
    let mut buf = [0u8; 1];
    let _ = server.read(&mut buf)?;
    drop(server);
    wait_for_state(local, remote, TCP_TIME_WAIT)?;
    Ok((local, remote))
}

/// A CLOSE-WAIT socket: the returned server side whose peer has closed and which has not
/// closed itself (the leak the seed calls a bug). The client side lingers in FIN-WAIT-2.
pub fn close_wait(listener: &TcpListener) -> io::Result<TcpStream> {
    let (client, server) = connected_pair(listener)?;
    let (local, remote) = (server.local_addr()?, server.peer_addr()?);
    drop(client);
    wait_for_state(local, remote, TCP_CLOSE_WAIT)?;
    // And the client's FIN acknowledged, so neither side changes state while a test looks.
    wait_for_state(remote, local, TCP_FIN_WAIT2)?;
    Ok(server)
}

/// A fresh directory for socket files, removed (with what is in it) on drop, so no stale
/// socket files are left behind.
pub struct TempDir(String);

impl TempDir {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

impl std::fmt::Display for TempDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh directory, unique to this call.
pub fn tempdir() -> io::Result<TempDir> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sockscope-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(TempDir(dir.to_string_lossy().into_owned()))
}

/// A Unix stream listener on an abstract name (no file).
pub fn abstract_listener(name: &str) -> io::Result<UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    UnixListener::bind_addr(&addr)
}

/// A connected pair of Unix seqpacket sockets.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    Ok(rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?)
}

/// An AF_PACKET socket for an ethertype (needs CAP_NET_RAW).
pub fn packet_socket(kind: rustix::net::SocketType, ethertype: u16) -> io::Result<OwnedFd> {
    use rustix::net::{AddressFamily, Protocol, SocketFlags};
    let proto = std::num::NonZeroU32::new(u32::from(ethertype.to_be())).map(Protocol::from_raw);
    Ok(rustix::net::socket_with(AddressFamily::PACKET, kind, SocketFlags::CLOEXEC, proto)?)
}

/// A raw IP socket for one protocol (needs CAP_NET_RAW).
pub fn raw_socket(family: rustix::net::AddressFamily, protocol: u32) -> io::Result<OwnedFd> {
    use rustix::net::{Protocol, SocketFlags, SocketType};
    let proto = std::num::NonZeroU32::new(protocol).map(Protocol::from_raw);
    Ok(rustix::net::socket_with(family, SocketType::RAW, SocketFlags::CLOEXEC, proto)?)
}

/// SO_MARK on a socket (needs CAP_NET_ADMIN).
pub fn set_mark(fd: &impl std::os::fd::AsFd, mark: u32) -> io::Result<()> {
    nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::Mark, &mark).map_err(io::Error::from)
}

/// SO_BINDTODEVICE: the socket only uses this interface.
pub fn bind_to_device(fd: &impl std::os::fd::AsFd, ifname: &str) -> io::Result<()> {
    nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::BindToDevice, &std::ffi::OsString::from(ifname))
        .map_err(io::Error::from)
}
