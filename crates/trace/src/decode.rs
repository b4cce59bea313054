//! A syscall's arguments in strace's words: socket families and types, sockaddrs, socket
//! options, flags, buffers as escaped strings, errno names with their text.

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;
use std::fmt::Write as _;
use std::io::IoSliceMut;

/// Reads `len` bytes at `addr` of the tracee (None when it cannot be read).
pub fn read_mem(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    if addr == 0 || len == 0 {
        return None;
    }
    let len = len.min(1 << 16);
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec { base: usize::try_from(addr).ok()?, len }];
    let n = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf)], &remote).ok()?;
    buf.truncate(n);
    Some(buf)
}

pub fn family(af: u64) -> String {
    match af {
        0 => "AF_UNSPEC".into(),
        1 => "AF_UNIX".into(),
        2 => "AF_INET".into(),
        10 => "AF_INET6".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        other => other.to_string(),
    }
}

/// `SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK`.
pub fn sock_type(t: u64) -> String {
    let base = match t & 0xf {
        1 => "SOCK_STREAM".to_string(),
        2 => "SOCK_DGRAM".to_string(),
        3 => "SOCK_RAW".to_string(),
        5 => "SOCK_SEQPACKET".to_string(),
        other => other.to_string(),
    };
    let mut out = base;
    if t & 0o2_000_000 != 0 {
        out.push_str("|SOCK_CLOEXEC");
    }
    if t & 0o4000 != 0 {
        out.push_str("|SOCK_NONBLOCK");
    }
    out
}

pub fn protocol(af: u64, p: u64) -> String {
    match (af, p) {
        (2 | 10, 0) => "IPPROTO_IP".into(),
        (2 | 10, 6) => "IPPROTO_TCP".into(),
        (2 | 10, 17) => "IPPROTO_UDP".into(),
        (2 | 10, 1) => "IPPROTO_ICMP".into(),
        (2 | 10, 58) => "IPPROTO_ICMPV6".into(),
        (_, p) => p.to_string(),
    }
}

/// A sockaddr as strace writes it.
pub fn sockaddr(pid: Pid, addr: u64, len: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let Some(b) = read_mem(pid, addr, usize::try_from(len).unwrap_or(0).min(128)) else {
        return format!("{addr:#x}");
    };
    if b.len() < 2 {
        return "{}".into();
    }
    let af = u16::from_ne_bytes([b[0], b[1]]);
    let port = |b: &[u8]| if b.len() >= 4 { u16::from_be_bytes([b[2], b[3]]) } else { 0 };
    match af {
        2 if b.len() >= 8 => format!(
            "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}",
            port(&b),
            std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7])
        ),
        10 if b.len() >= 28 => {
            let ip: [u8; 16] = b[8..24].try_into().unwrap_or([0; 16]);
            format!(
                "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{}\", &sin6_addr), sin6_scope_id={}}}",
                port(&b),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                std::net::Ipv6Addr::from(ip),
                u32::from_ne_bytes([b[24], b[25], b[26], b[27]])
            )
        }
        1 => {
            let path = &b[2..];
            if path.is_empty() {
                "{sa_family=AF_UNIX}".into()
            } else if path[0] == 0 {
                format!("{{sa_family=AF_UNIX, sun_path=@{}}}", quoted(&path[1..], usize::MAX))
            } else {
                let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
                format!("{{sa_family=AF_UNIX, sun_path={}}}", quoted(&path[..end], usize::MAX))
            }
        }
        16 if b.len() >= 12 => format!(
            "{{sa_family=AF_NETLINK, nl_pid={}, nl_groups={:08x}}}",
            u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            u32::from_ne_bytes([b[8], b[9], b[10], b[11]])
        ),
        other => format!("{{sa_family={}}}", family(u64::from(other))),
    }
}

/// Bytes as a C string literal, escaped, cut at `limit` with `...` (strace's -s).
pub fn quoted(bytes: &[u8], limit: usize) -> String {
    let mut out = String::from("\"");
    for &c in bytes.iter().take(limit) {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:o}");
            }
        }
    }
    out.push('"');
    if bytes.len() > limit {
        out.push_str("...");
    }
    out
}

pub fn sockopt_level(l: u64) -> String {
    match l {
        1 => "SOL_SOCKET".into(),
        0 => "SOL_IP".into(),
        6 => "SOL_TCP".into(),
        17 => "SOL_UDP".into(),
        41 => "SOL_IPV6".into(),
        other => other.to_string(),
    }
}

pub fn sockopt_name(level: u64, name: u64) -> String {
    let known = match (level, name) {
        (1, 2) => "SO_REUSEADDR",
        (1, 7) => "SO_SNDBUF",
        (1, 8) => "SO_RCVBUF",
        (1, 9) => "SO_KEEPALIVE",
        (1, 13) => "SO_LINGER",
        (1, 15) => "SO_REUSEPORT",
        (1, 4) => "SO_ERROR",
        (1, 3) => "SO_TYPE",
        (1, 36) => "SO_MARK",
        (6, 1) => "TCP_NODELAY",
        (6, 13) => "TCP_CONGESTION",
        (41, 26) => "IPV6_V6ONLY",
        _ => return name.to_string(),
    };
    known.to_string()
}

pub fn shutdown_how(h: u64) -> String {
    match h {
        0 => "SHUT_RD".into(),
        1 => "SHUT_WR".into(),
        2 => "SHUT_RDWR".into(),
        other => other.to_string(),
    }
}

/// `= 3`, or `= -1 ECONNREFUSED (Connection refused)`.
pub fn result(ret: i64) -> (String, Option<String>) {
    if (-4095..0).contains(&ret) {
        let e = nix::errno::Errno::from_raw(i32::try_from(-ret).unwrap_or(0));
        let name = format!("{e:?}");
        (format!("-1 {name} ({})", e.desc()), Some(name))
    } else {
        (ret.to_string(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_words() {
        assert_eq!(sock_type(1 | 0o2_000_000), "SOCK_STREAM|SOCK_CLOEXEC");
        assert_eq!(sock_type(2 | 0o4000), "SOCK_DGRAM|SOCK_NONBLOCK");
        assert_eq!(family(10), "AF_INET6");
        assert_eq!(protocol(2, 0), "IPPROTO_IP");
        assert_eq!(quoted(b"ab\"\n\x01", 32), "\"ab\\\"\\n\\1\"");
        assert_eq!(quoted(b"abcdef", 3), "\"abc\"...");
        assert_eq!(result(3).0, "3");
        assert_eq!(
            result(-111),
            ("-1 ECONNREFUSED (Connection refused)".to_string(), Some("ECONNREFUSED".to_string()))
        );
        assert_eq!(sockopt_name(1, 2), "SO_REUSEADDR");
    }
}
