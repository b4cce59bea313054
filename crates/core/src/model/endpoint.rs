//! One end of a socket: an IP address and port, a Unix socket name, a packet socket's
//! protocol and interface, or a netlink port.

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP, UDP and raw sockets. For raw sockets `port` holds the IP protocol number, as in
    /// the kernel and in ss.
    Inet { address: IpAddr, port: u16 },
    /// Unix sockets: the bound name (if any) and an inode. The local end carries the socket's
    /// own inode, the peer end the peer socket's inode (0 when not connected or unknown). The
    /// name is boxed so every endpoint (and so every socket) stays small: most sockets are
    /// inet, and a name inline would make each endpoint of each socket 8 bytes larger.
    Unix { name: Option<Box<UnixName>>, inode: u64 },
    /// Packet sockets: the ethertype they receive and the interface they are bound to (0: all).
    Packet { protocol: u16, interface: u32 },
    /// Netlink sockets: the netlink protocol, the port id (0 is the kernel) and, for the
    /// peer end, the destination multicast group.
    Netlink { protocol: u8, port_id: u32, group: u32 },
    /// No peer (unconnected packet/netlink sockets).
    None,
}

/// One compact form for prose and JSON strings (the socket table has its own, ss's):
/// `127.0.0.1:80`, `[::1]:443`, `*` for port 0, `/run/x.sock ino:123` (escaped),
/// `proto 0x0003 if 2`, `proto 0 port -123`.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = |f: &mut fmt::Formatter<'_>, p: u16| if p == 0 { f.write_str("*") } else { write!(f, "{p}") };
        match self {
            Endpoint::Inet { address: IpAddr::V6(a), port: p } => {
                write!(f, "[{a}]:")?;
                port(f, *p)
            }
            Endpoint::Inet { address, port: p } => {
                write!(f, "{address}:")?;
                port(f, *p)
            }
            Endpoint::Unix { name: Some(n), inode } => write!(f, "{n} ino:{inode}"),
            Endpoint::Unix { name: None, inode } => write!(f, "* ino:{inode}"),
            Endpoint::Packet { protocol, interface } => write!(f, "proto 0x{protocol:04x} if {interface}"),
            Endpoint::Netlink { protocol, port_id, .. } => write!(f, "proto {protocol} port {}", *port_id as i32),
            Endpoint::None => f.write_str("*"),
        }
    }
}

impl Endpoint {
    pub fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Inet { port, .. } => Some(*port),
            _ => None,
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Inet { address, .. } => Some(*address),
            _ => None,
        }
    }

    /// An inet endpoint as a socket address.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Endpoint::Inet { address, port } => Some(std::net::SocketAddr::new(*address, *port)),
            _ => None,
        }
    }
}

impl From<std::net::SocketAddr> for Endpoint {
    fn from(a: std::net::SocketAddr) -> Endpoint {
        Endpoint::Inet { address: a.ip(), port: a.port() }
    }
}

/// The name a Unix socket is bound to. Abstract names (first byte NUL) are shown as ss shows
/// them: a leading `@`, and any further NUL bytes as `@` too.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnixName {
    /// The name as text: a filesystem path, or `@name` for the abstract namespace. Bytes that
    /// are not UTF-8 are kept (see `text::lossless_text`); JSON also gives them exactly in
    /// `path_bytes`.
    pub path: Box<str>,
    pub is_abstract: bool,
}

impl Serialize for UnixName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("UnixName", 3)?;
        crate::text::serialize_field(&mut st, "path", "path_bytes", &self.path)?;
        st.serialize_field("abstract", &self.is_abstract)?;
        st.end()
    }
}

impl UnixName {
    /// From the raw `sun_path` bytes (without the trailing NUL of a filesystem path).
    pub fn from_raw(raw: &[u8]) -> Option<UnixName> {
        if raw.is_empty() {
            return None;
        }
        let is_abstract = raw[0] == 0;
        let body: Vec<u8> = if is_abstract {
            raw.iter().map(|&b| if b == 0 { b'@' } else { b }).collect()
        } else {
            // A path ends at the first NUL; the kernel may hand back the padding.
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            raw[..end].to_vec()
        };
        if body.is_empty() {
            return None;
        }
        Some(UnixName { path: lossless_text(&body).into(), is_abstract })
    }
}

/// Escaped for a terminal: the name is chosen by whoever bound the socket.
impl fmt::Display for UnixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::Untrusted(&self.path).fmt(f)
    }
}

pub use crate::text::lossless_text;

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: three formatters wrote endpoints three ways; this is the one compact form.
    #[test]
    fn the_one_compact_form() {
        let v4 = Endpoint::Inet { address: std::net::Ipv4Addr::LOCALHOST.into(), port: 80 };
        let v6 = Endpoint::Inet { address: std::net::Ipv6Addr::LOCALHOST.into(), port: 0 };
        let unix = Endpoint::Unix { name: UnixName::from_raw(b"/run/a\x1b.sock").map(Box::new), inode: 7 };
        assert_eq!(v4.to_string(), "127.0.0.1:80");
        assert_eq!(v6.to_string(), "[::1]:*");
        assert_eq!(unix.to_string(), "/run/a\\x1b.sock ino:7", "escaped");
        assert_eq!(Endpoint::Unix { name: None, inode: 9 }.to_string(), "* ino:9");
        assert_eq!(Endpoint::Packet { protocol: 3, interface: 2 }.to_string(), "proto 0x0003 if 2");
        assert_eq!(Endpoint::Netlink { protocol: 0, port_id: u32::MAX, group: 0 }.to_string(), "proto 0 port -1");
    }

    #[test]
    fn abstract_names_get_at_signs() {
        let n = UnixName::from_raw(b"\0foo\0bar").expect("name");
        assert!(n.is_abstract);
        assert_eq!(&*n.path, "@foo@bar");
    }

    #[test]
    fn paths_stop_at_nul_and_keep_bad_bytes() {
        let n = UnixName::from_raw(b"/tmp/a\xffb\0\0\0").expect("name");
        assert!(!n.is_abstract);
        assert_eq!(n.to_string(), "/tmp/a\\xffb");
        assert_eq!(crate::text::raw_bytes(&n.path), Some(b"/tmp/a\xffb".to_vec()));
        assert_eq!(UnixName::from_raw(b""), None);
    }
}
