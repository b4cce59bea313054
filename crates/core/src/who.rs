//! `who TARGET`: every socket bound to a port, address or Unix socket path, or every process
//! holding a file open — the question behind "Address already in use" and "Connection
//! refused".

use crate::hosts::{Host, PathKind, UnixFile};
use crate::model::Netns;
use crate::model::{Endpoint, FdName, Netid, SockState, Socket, StateSet};
use crate::names::{Proto, Services};
use crate::select::Selection;
use crate::snapshot::{Snapshot, SnapshotError, SnapshotOptions};
use crate::text::{Untrusted, path_text, shell_quote};
use serde::Serialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    Port {
        port: u16,
        protocol: Option<Netid>,
        address: Option<IpAddr>,
    },
    /// A Unix socket name: a path, or `@name` for the abstract namespace.
    UnixSocket {
        path: String,
    },
    File {
        path: PathBuf,
    },
}

/// A `who` target that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("'{}' is not a port number or service name", Untrusted(.0))]
    NotAPort(String),
    #[error("'{}' is not tcp or udp", Untrusted(.0))]
    NotTcpOrUdp(String),
    #[error("{}: {error}", Untrusted(path))]
    Path { path: String, error: std::io::Error },
    #[error("'[' without ']'")]
    UnclosedBracket,
    #[error("expected :PORT after the address")]
    NoPort,
    #[error("'{}' is not a port (:8080, 8080/udp), an address:port, a Unix socket path or an existing file", Untrusted(.0))]
    Unknown(String),
    #[error("'{}' is not an IP address", Untrusted(.0))]
    NotAnAddress(String),
}

impl Target {
    /// `:8080`, `8080`, `8080/udp`, `127.0.0.1:8080`, `[::1]:8080`, `:http`, a socket file,
    /// `@abstract`, or any other existing path.
    /// A path is looked up on `host` (a capture's is its recorded host's).
    pub fn parse(s: &str, services: &Services, host: &dyn Host) -> Result<Target, TargetError> {
        let port_of = |p: &str, proto: Option<Netid>| -> Result<u16, TargetError> {
            let svc = if proto == Some(Netid::Udp) { Proto::Udp } else { Proto::Tcp };
            p.parse().ok().or_else(|| services.name_to_port(p, svc)).ok_or_else(|| TargetError::NotAPort(p.into()))
        };
        if let Some(name) = s.strip_prefix('@') {
            return Ok(Target::UnixSocket { path: format!("@{name}") });
        }
        match host.path(s).map_err(|error| TargetError::Path { path: s.into(), error })? {
            Some(PathKind::Socket(path)) => return Ok(Target::UnixSocket { path }),
            Some(PathKind::File(path)) => return Ok(Target::File { path }),
            None => {}
        }
        let (body, protocol) = match s.rsplit_once('/') {
            Some((b, "tcp")) => (b, Some(Netid::Tcp)),
            Some((b, "udp")) => (b, Some(Netid::Udp)),
            Some((_, other)) => return Err(TargetError::NotTcpOrUdp(other.into())),
            None => (s, None),
        };
        if let Some(p) = body.strip_prefix(':') {
            return Ok(Target::Port { port: port_of(p, protocol)?, protocol, address: None });
        }
        if body.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Target::Port { port: port_of(body, protocol)?, protocol, address: None });
        }
        let (addr, port) = if let Some(inner) = body.strip_prefix('[') {
            let (a, rest) = inner.split_once(']').ok_or(TargetError::UnclosedBracket)?;
            (a, rest.strip_prefix(':').ok_or(TargetError::NoPort)?)
        } else {
            body.rsplit_once(':').ok_or_else(|| TargetError::Unknown(s.into()))?
        };
        let address: IpAddr = addr.parse().map_err(|_| TargetError::NotAnAddress(addr.into()))?;
        Ok(Target::Port { port: port_of(port, protocol)?, protocol, address: Some(address) })
    }
}

/// A process and fd holding something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: String,
    pub uid: u32,
    pub fd: FdName,
}

#[derive(Clone, Debug, Serialize)]
pub struct SocketHold {
    pub socket: Socket,
    pub holders: Vec<Holder>,
    /// With --netns/--all-netns: the socket's namespace as a table names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<std::sync::Arc<crate::model::Container>>,
    /// For a port: the options its process set (docs/sockopts.md); absent where they could
    /// not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockopts: Option<Box<crate::sockopts::SockOpts>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub sockets: Vec<SocketHold>,
    pub files: Vec<Holder>,
    /// What it means, in a sentence each.
    pub notes: Vec<String>,
    /// A Unix socket file with no listener anywhere.
    pub stale: bool,
    /// Processes whose fds could not be read, and why (the answer may be incomplete).
    pub unreadable: Vec<(u32, String)>,
}

impl Report {
    pub fn found(&self) -> bool {
        !self.sockets.is_empty() || !self.files.is_empty()
    }
}

/// Who holds `target`: in the caller's network namespace, or in each of `namespaces` (from
/// `netns::discover` or `netns::selected`; empty for the caller's alone).
pub fn who(target: &Target, host: &dyn Host, namespaces: &[Netns]) -> Result<Report, SnapshotError> {
    let at = Place { host, namespaces };
    match target {
        Target::Port { port, protocol, address } => Ok(port_report(*port, *protocol, *address, &at)?),
        Target::UnixSocket { path } => Ok(unix_report(path, &at)?),
        Target::File { path } => file_report(path, host),
    }
}

/// Where the answer is read: a host, and its namespaces to look in.
struct Place<'a> {
    host: &'a dyn Host,
    namespaces: &'a [Netns],
}

/// The sockets of `tables` (only those bound to `port`, when given: the kernel filters the
/// rest out of the dump, and no owner is kept for them).
fn sockets(tables: &[Netid], port: Option<u16>, at: &Place<'_>) -> Result<Snapshot, SnapshotError> {
    use crate::filter::ast::{Expr, HostMatch, Pred, Side};
    let mut opts = SnapshotOptions::new(Selection::resolve(tables, &[], StateSet::ALL));
    opts.owners = true;
    opts.proc_root = at.host.proc_root().to_path_buf();
    opts.namespaces = at.namespaces.to_vec();
    opts.filter = port
        .map(|port| Expr::Pred(Pred::Host { side: Side::Src, host: HostMatch::Inet { net: None, port: Some(port) } }));
    at.host.snapshot(&opts)
}

/// Whether `s` is what a bind() to its port meets: a listener, or a UDP socket with no peer.
fn binds_port(s: &Socket) -> bool {
    s.state == SockState::Listen || (s.netid == Netid::Udp && matches!(&s.peer, Endpoint::Inet { port: 0, .. }))
}

/// Who holds `s`, with `s`.
fn holds(snap: &Snapshot, s: Socket) -> SocketHold {
    let namespace = s.netns.and_then(|n| snap.namespaces.iter().find(|ns| ns.inode == n.get())).map(Netns::label);
    let container = s.container.clone();
    let mut holders: Vec<Holder> = snap
        .owners_of(&s)
        .map(|o| Holder {
            pid: o.process.pid,
            command: o.process.command.to_string(),
            uid: o.process.uid,
            fd: FdName::Number(o.fd),
        })
        .collect();
    // Collected without a known length, a list starts with room for four: most sockets on
    // a busy port have one holder, and 100k connections kept 12 MB of empty room.
    holders.shrink_to_fit();
    SocketHold { socket: s, holders, namespace, container, sockopts: None }
}

/// "nginx (pid 42)": the socket's first holder, as the notes name it.
fn holder_name(h: &SocketHold) -> String {
    h.holders
        .first()
        .map_or("a process sockscope cannot see".to_string(), |h| format!("{} (pid {})", Untrusted(&h.command), h.pid))
}

/// ` in NAMESPACE` when the socket's namespace is named (several were read), else nothing.
fn place(h: &SocketHold) -> String {
    h.namespace.as_ref().map(|n| format!(" in {}", Untrusted(n))).unwrap_or_default()
}

fn unreadable(snap: &Snapshot) -> Vec<(u32, String)> {
    snap.owners
        .as_ref()
        .map(|o| {
            let why = o.report.unreadable_reason.clone().unwrap_or_default();
            o.report.unreadable_pids.iter().map(|p| (*p, why.clone())).collect()
        })
        .unwrap_or_default()
}

/// Whether a socket bound to `bound` answers for `want`: the same address (an IPv4 address
/// and its IPv4-mapped IPv6 form are one), or a wildcard that covers it — 0.0.0.0 covers
/// IPv4, :: covers IPv6 and, unless v6only, IPv4 too.
fn holds_address(bound: IpAddr, v6only: bool, want: IpAddr) -> bool {
    let (bound_c, want_c) = (bound.to_canonical(), want.to_canonical());
    if bound_c == want_c {
        return true;
    }
    match bound {
        IpAddr::V4(b) => b.is_unspecified() && want_c.is_ipv4(),
        IpAddr::V6(b) => b.is_unspecified() && (want_c.is_ipv6() || !v6only),
    }
}

fn port_report(
    port: u16,
    protocol: Option<Netid>,
    address: Option<IpAddr>,
    at: &Place<'_>,
) -> Result<Report, SnapshotError> {
    let tables: Vec<Netid> = protocol.map_or(vec![Netid::Tcp, Netid::Udp], |p| vec![p]);
    let mut snap = sockets(&tables, Some(port), at)?;
    let mut r = Report { unreadable: unreadable(&snap), ..Report::default() };
    // The sockets on the port move out of the snapshot into their answers (no copies); the
    // rest are dropped here.
    let all = std::mem::take(&mut snap.sockets);
    let mut on_port: Vec<Socket> = all
        .into_iter()
        .filter(|s| {
            let Endpoint::Inet { address: a, port: p } = &s.local else { return false };
            *p == port && address.is_none_or(|want| holds_address(*a, s.v6only == Some(true), want))
        })
        .collect();
    // The options the binders set (listeners, and UDP sockets with no peer) say whether a
    // restart can bind (SO_REUSEADDR) and whether a second socket can share the port
    // (SO_REUSEPORT). A connection's own options do not decide a bind: not reading them
    // keeps a port with 100k connections from costing 100k pidfd_getfd round trips.
    let binders: Vec<&Socket> = on_port.iter().filter(|s| binds_port(s)).collect();
    let options = at.host.socket_options(&snap, &binders, false);
    // Taken from the end, the list giving back its room as it empties: the sockets and
    // their answers (216 bytes each) are never both held whole (100k connections on one
    // port were 20 MB of each).
    while let Some(s) = on_port.pop() {
        let sockopts = if binds_port(&s) { options.get(s.inode).cloned().map(Box::new) } else { None };
        r.sockets.push(SocketHold { sockopts, ..holds(&snap, s) });
        if on_port.len().is_multiple_of(8192) {
            on_port.shrink_to_fit();
        }
    }
    r.sockets.reverse();
    let count =
        |st: SockState| r.sockets.iter().filter(|h| h.socket.state == st && h.socket.netid == Netid::Tcp).count();
    let listeners: Vec<&SocketHold> = r.sockets.iter().filter(|h| h.socket.state == SockState::Listen).collect();
    if let Some(l) = listeners.first() {
        let who = holder_name(l);
        let overlap = match &l.socket.local {
            Endpoint::Inet { address: a, .. } => overlapping_binds(*a, l.socket.v6only, port),
            _ => format!("bind() to port {port} there fails with EADDRINUSE"),
        };
        let reuseport = match l.sockopts.as_ref().and_then(|o| o.reuseport) {
            Some(true) => {
                "it set SO_REUSEPORT, so a socket of the same user that sets it too may bind there and share the port"
                    .to_string()
            }
            Some(false) => {
                "it did not set SO_REUSEPORT, so nothing can share it (SO_REUSEADDR does not help against a listener)"
                    .to_string()
            }
            None => "unless both sockets set SO_REUSEPORT (same user)".to_string(),
        };
        r.notes.push(format!("{who} listens on port {port}{}: {overlap}; {reuseport}.", place(l)));
        if l.sockopts.is_none() && !l.holders.is_empty() {
            r.notes.extend(options.notes());
        }
    }
    let mut places: Vec<&str> = listeners.iter().filter_map(|h| h.namespace.as_deref()).collect();
    places.sort_unstable();
    places.dedup();
    if places.len() > 1 {
        let list: Vec<String> = places.iter().map(|p| Untrusted(p).to_string()).collect();
        r.notes.push(format!(
            "port {port} is listened on in {} network namespaces ({}): each namespace has its own ports, so these do not conflict.",
            places.len(),
            list.join(", ")
        ));
    }
    let tw = count(SockState::TimeWait);
    let restart = listeners.first().and_then(|l| Some((l, l.sockopts.as_ref()?.reuseaddr?)));
    if let Some((l, reuseaddr)) = restart {
        let who = holder_name(l);
        let waiting = match tw {
            0 => "no TIME-WAIT sockets are on the port now".to_string(),
            1 => "1 TIME-WAIT socket is on the port now".to_string(),
            n => format!("{n} TIME-WAIT sockets are on the port now"),
        };
        r.notes.push(if reuseaddr {
            format!("{who} set SO_REUSEADDR: restarted, it can bind port {port} again at once, even while TIME-WAIT sockets remain ({waiting}).")
        } else {
            format!("{who} did not set SO_REUSEADDR: restarted, it fails with EADDRINUSE while TIME-WAIT sockets remain on port {port} (up to 60 s; {waiting}). Set SO_REUSEADDR before bind().")
        });
    } else if tw > 0 {
        r.notes.push(format!(
            "{tw} TIME-WAIT socket{} still hold{} port {port} (up to 60 s): a server restarting on it now fails with EADDRINUSE unless it sets SO_REUSEADDR before bind() — which every server should.",
            if tw == 1 { "" } else { "s" },
            if tw == 1 { "s" } else { "" }
        ));
    }
    if !r.found() {
        let where_ = match at.namespaces.len() {
            0 | 1 => "in this network namespace".to_string(),
            n => format!("in any of the {n} network namespaces read"),
        };
        let answer = match protocol {
            Some(Netid::Udp) => {
                "a datagram sent there is answered with ICMP port unreachable (a connected UDP socket's next call gets ECONNREFUSED)"
            }
            Some(_) => "connect() gets ECONNREFUSED",
            None => "a TCP connect() gets ECONNREFUSED, a UDP datagram ICMP port unreachable",
        };
        r.notes.push(format!("nothing holds port {port} {where_}: bind() will succeed; {answer}."));
    }
    Ok(r)
}

/// Which binds of port `port` a TCP listener on `address` makes fail with EADDRINUSE, and
/// which still succeed (Linux's bind conflict rules: addresses overlap when equal, or when
/// either is the wildcard of a family the other is in; a listener conflicts whatever
/// SO_REUSEADDR says).
fn overlapping_binds(address: std::net::IpAddr, v6only: Option<bool>, port: u16) -> String {
    use std::net::IpAddr;
    match address {
        IpAddr::V4(a) if a.is_unspecified() => format!(
            "bind() to port {port} on any IPv4 address fails with EADDRINUSE, and on [::] unless that socket sets IPV6_V6ONLY; other IPv6 addresses succeed"
        ),
        IpAddr::V4(a) => format!(
            "bind() to {a}:{port}, 0.0.0.0:{port} or [::]:{port} (unless IPV6_V6ONLY) fails with EADDRINUSE; another address on port {port} (another 127.x loopback, another interface's) succeeds"
        ),
        IpAddr::V6(a) if a.is_unspecified() && v6only == Some(true) => format!(
            "it is IPv6 only (IPV6_V6ONLY): bind() to port {port} on any IPv6 address fails with EADDRINUSE; IPv4 addresses succeed"
        ),
        IpAddr::V6(a) if a.is_unspecified() => format!(
            "it takes IPv4 too (not IPV6_V6ONLY): bind() to port {port} on any address, IPv4 or IPv6, fails with EADDRINUSE"
        ),
        IpAddr::V6(a) => format!(
            "bind() to [{a}]:{port} or [::]:{port} fails with EADDRINUSE; another address on port {port} (0.0.0.0 included) succeeds"
        ),
    }
}

fn unix_report(path: &str, at: &Place<'_>) -> Result<Report, SnapshotError> {
    let snap = sockets(&[Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket], None, at)?;
    let mut r = Report { unreadable: unreadable(&snap), ..Report::default() };
    for s in &snap.sockets {
        if let Endpoint::Unix { name: Some(n), .. } = &s.local
            && &*n.path == path
        {
            r.sockets.push(holds(&snap, s.clone()));
        }
    }
    let listening = r.sockets.iter().any(|h| h.socket.state == SockState::Listen || h.socket.netid == Netid::UnixDgram);
    let file = if path.starts_with('@') { UnixFile::Absent } else { at.host.unix_file(path) };
    if let (false, UnixFile::Present { bound_elsewhere }) = (listening, file) {
        match bound_elsewhere {
            Some(true) => r.notes.push(format!("{} is bound by a socket in another network namespace (a container?); `sockscope who {} --all-netns` names the namespace and its owners.", Untrusted(path), Untrusted(&shell_quote(path)))),
            None => r.notes.push(format!("no socket in this network namespace listens on {}, and other namespaces cannot be looked at without privilege (run as root to tell whether it is stale).", Untrusted(path))),
            Some(false) => {
            r.stale = true;
            r.notes.push(format!(
                "{} is a socket file, but no socket listens on it: connect() gets ECONNREFUSED. It is stale — left by a process that exited without unlink(). Remove it (rm -- {}) before starting the server, or have the server unlink() before bind().",
                Untrusted(path),
                Untrusted(&shell_quote(path))
            ));
            }
        }
    } else if r.sockets.is_empty() {
        r.notes.push(format!("no socket is bound to {}.", Untrusted(path)));
    }
    Ok(r)
}

/// Every process with the file open, as its cwd, root or executable, or mapped.
fn file_report(path: &Path, host: &dyn Host) -> Result<Report, SnapshotError> {
    let found = host.file_holders(path)?;
    let mut r = Report { unreadable: found.unreadable, ..Report::default() };
    r.files = found.holders.into_iter().map(|(pid, command, uid, fd)| Holder { pid, command, uid, fd }).collect();
    if r.files.is_empty() {
        r.notes.push(format!("no process has {} open.", Untrusted(&path_text(path))));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let svc = Services::parse("http 80/tcp\n");
        let t = |s: &str| Target::parse(s, &svc, &crate::hosts::LiveHost::default()).expect(s);
        assert_eq!(t(":8080"), Target::Port { port: 8080, protocol: None, address: None });
        assert_eq!(t("8080"), Target::Port { port: 8080, protocol: None, address: None });
        assert_eq!(t("53/udp"), Target::Port { port: 53, protocol: Some(Netid::Udp), address: None });
        assert_eq!(t(":http"), Target::Port { port: 80, protocol: None, address: None });
        assert_eq!(
            t("127.0.0.1:80"),
            Target::Port { port: 80, protocol: None, address: Some("127.0.0.1".parse().expect("ip")) }
        );
        assert_eq!(
            t("[::1]:80/tcp"),
            Target::Port { port: 80, protocol: Some(Netid::Tcp), address: Some("::1".parse().expect("ip")) }
        );
        assert_eq!(t("@abstract"), Target::UnixSocket { path: "@abstract".into() });
        assert_eq!(t("/etc/hostname"), Target::File { path: "/etc/hostname".into() });
        for bad in ["/no/such/file", "80/sctp", ":99999", "nonsense", "1.2.3.4:x", "[::1"] {
            assert!(Target::parse(bad, &svc, &crate::hosts::LiveHost::default()).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    /// Issue 11: `who FILE` answered "no process has it open" when /proc could not be read.
    #[test]
    fn who_on_a_file_is_an_error_when_proc_cannot_be_listed() {
        let path = std::env::temp_dir().join(format!("sockscope-who-{}", std::process::id()));
        std::fs::write(&path, b"x").expect("temp file");
        let file = Target::File { path: path.clone() };
        assert!(who(&file, &crate::hosts::LiveHost::new("/nonexistent/proc"), &[]).is_err());
        let missing = Target::File { path: PathBuf::from("/nonexistent/file") };
        assert!(who(&missing, &crate::hosts::LiveHost::default(), &[]).is_err());
        assert!(who(&file, &crate::hosts::LiveHost::default(), &[]).is_ok());
        let _ = std::fs::remove_file(path);
    }
}
