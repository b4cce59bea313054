//! A syscall's arguments in strace's words: socket families and types, sockaddrs, socket
//! options, flags, buffers as escaped strings, errno names with their text.

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;
use std::fmt::Write as _;
use std::io::IoSliceMut;

/// Reads `len` bytes (at most 64 KiB) at `addr` of the tracee: all of them, or None (a
/// range that runs into an unmapped page is not shown in part, as strace's umoven).
pub fn read_mem(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    if addr == 0 || len == 0 {
        return None;
    }
    let len = len.min(1 << 16);
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec { base: usize::try_from(addr).ok()?, len }];
    let n = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf)], &remote).ok()?;
    (n == len).then_some(buf)
}

/// A pointer as strace prints one it does not follow: `NULL`, or hex.
pub fn pointer(addr: u64) -> String {
    if addr == 0 { "NULL".to_string() } else { format!("{addr:#x}") }
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
        (2 | 10, 255) => "IPPROTO_RAW".into(),
        // A packet socket's protocol is in network byte order.
        (17, p) => format!("htons({})", crate::names::ethernet_protocol(u16::from_be(p as u16))),
        (16, p) => match u32::try_from(p).ok().and_then(netlink_protocol) {
            Some(name) => format!("NETLINK_{name}"),
            None => p.to_string(),
        },
        (_, p) => p.to_string(),
    }
}

/// Netlink protocol names, as strace prints them after `NETLINK_` (and in `NETLINK:[ROUTE:…]`).
pub fn netlink_protocol(protocol: u32) -> Option<&'static str> {
    const NAMES: [(u32, &str); 10] = [
        (0, "ROUTE"),
        (2, "USERSOCK"),
        (4, "SOCK_DIAG"),
        (6, "XFRM"),
        (7, "SELINUX"),
        (9, "AUDIT"),
        (10, "FIB_LOOKUP"),
        (12, "NETFILTER"),
        (15, "KOBJECT_UEVENT"),
        (16, "GENERIC"),
    ];
    NAMES.iter().find(|(p, _)| *p == protocol).map(|(_, n)| *n)
}

/// An inet sockaddr of the tracee as an address (None for other families).
pub fn inet_sockaddr(pid: Pid, addr: u64, len: u64) -> Option<std::net::SocketAddr> {
    let b = read_mem(pid, addr, usize::try_from(len).ok()?.min(28))?;
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    match u16::from_ne_bytes([*b.first()?, *b.get(1)?]) {
        2 if b.len() >= 8 => Some((std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]), port).into()),
        10 if b.len() >= 24 => {
            let ip: [u8; 16] = b[8..24].try_into().ok()?;
            Some((std::net::Ipv6Addr::from(ip), port).into())
        }
        _ => None,
    }
}

/// A sockaddr of `len` bytes (an int to the kernel) as strace writes it: the pointer when
/// it is shorter than a family or cannot be read whole, else at most 128 bytes decoded.
/// Callers pass only the bytes the kernel wrote, for an address it returned: min(in, out).
pub fn sockaddr(pid: Pid, addr: u64, len: i32) -> String {
    if len < 2 {
        return pointer(addr);
    }
    let len = usize::try_from(len).unwrap_or(0).min(SOCKADDR_STORAGE);
    match read_mem(pid, addr, len) {
        Some(b) => sockaddr_bytes(&b),
        None => pointer(addr),
    }
}

/// sizeof(struct sockaddr_storage): the most of an address that is decoded.
const SOCKADDR_STORAGE: usize = 128;

/// A sockaddr's bytes (2 to 128: as many as its length says) as strace writes it: the
/// family, then its fields when the length holds the family's structure, else the bytes
/// after the family as `sa_data`.
pub fn sockaddr_bytes(bytes: &[u8]) -> String {
    if bytes.len() < 2 {
        return "{}".into();
    }
    let len = bytes.len().min(SOCKADDR_STORAGE);
    // Past the length, the structure reads as zeros (as strace pads its copy).
    let mut b = [0u8; SOCKADDR_STORAGE + 1];
    b[..len].copy_from_slice(&bytes[..len]);
    let af = u16::from_ne_bytes([b[0], b[1]]);
    let mut out = format!("{{sa_family={}", crate::names::family(u64::from(af)));
    if len > 2 {
        out.push_str(", ");
        let fields = match af {
            1 if len >= 3 => unix_fields(&b, len),
            2 if len >= 16 => format!(
                "sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
                u16::from_be_bytes([b[2], b[3]]),
                std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7])
            ),
            10 if len >= 24 => {
                let ip: [u8; 16] = b[8..24].try_into().unwrap_or([0; 16]);
                let mut f = format!(
                    "sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{}\", &sin6_addr)",
                    u16::from_be_bytes([b[2], b[3]]),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    std::net::Ipv6Addr::from(ip),
                );
                if len > 24 {
                    let _ = write!(f, ", sin6_scope_id={}", u32::from_ne_bytes([b[24], b[25], b[26], b[27]]));
                }
                f
            }
            16 if len >= 12 => {
                // nl_pad is shown only when a program left garbage in it, as strace does.
                let pad = u16::from_ne_bytes([b[2], b[3]]);
                let pad = if pad == 0 { String::new() } else { format!("nl_pad={pad:#x}, ") };
                let groups = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
                // C's %#08x: no 0x before a zero.
                let groups = if groups == 0 { "00000000".to_string() } else { format!("{groups:#08x}") };
                format!("{pad}nl_pid={}, nl_groups={groups}", u32::from_ne_bytes([b[4], b[5], b[6], b[7]]))
            }
            17 if len >= 20 => packet_fields(&b, len),
            // AF_IPX: struct sockaddr_ipx
            4 if len >= 16 => format!(
                "sipx_port=htons({}), sipx_network=htonl({:#x}), sipx_node=[{}], sipx_type={:#x}",
                u16::from_be_bytes([b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                b[8..14].iter().map(|x| format!("{x:#x}")).collect::<Vec<_>>().join(", "),
                b[14]
            ),
            // AF_X25: struct sockaddr_x25, an address of up to 15 digits
            9 if len >= 18 => {
                let digits = &b[2..18];
                let end = digits.iter().position(|c| *c == 0).unwrap_or(digits.len());
                format!("sx25_addr={{x25_addr={}}}", quoted(&digits[..end], usize::MAX))
            }
            // AF_AX25: a callsign as the amateur radio service writes it, when it is one
            3 if len >= 16 && ax25_call(&b[2..9]).is_some() => format!(
                "sax25_call={}, sax25_ndigis={}",
                ax25_call(&b[2..9]).unwrap_or_default(),
                i32::from_ne_bytes([b[12], b[13], b[14], b[15]])
            ),
            _ => format!("sa_data={}", quoted(&b[2..len], usize::MAX)),
        };
        out.push_str(&fields);
    }
    out.push('}');
    out
}

/// `sun_path=…` of a Unix address of `len` bytes (at least 3; `b` is zero-padded past it):
/// a path up to its NUL, or `@` and an abstract name of every byte; never past the 108
/// bytes of sun_path.
fn unix_fields(b: &[u8], len: usize) -> String {
    const SUN_PATH: usize = 108;
    let path_len = (len - 2).min(SUN_PATH);
    let path = &b[2..2 + path_len];
    if path[0] == 0 {
        format!("sun_path=@{}", quoted(&path[1..], usize::MAX))
    } else {
        let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
        format!("sun_path={}", quoted(&path[..end], usize::MAX))
    }
}

/// An AX.25 callsign (`NOCALL-0`): six characters shifted left by one (letters, digits,
/// trailing spaces) and the SSID in the seventh byte; None when it is not one.
fn ax25_call(call: &[u8]) -> Option<String> {
    let (chars, ssid) = call.split_at(6);
    if chars.iter().any(|c| c & 1 != 0) {
        return None;
    }
    let text: String = chars.iter().map(|c| char::from(c >> 1)).collect();
    let name = text.trim_end_matches(' ');
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return None;
    }
    Some(format!("{name}-{}", (ssid[0] >> 1) & 0xf))
}

/// The fields of a `sockaddr_ll` of `len` bytes (at least 20).
fn packet_fields(b: &[u8], len: usize) -> String {
    let halen = b[11];
    let mut out = format!(
        "sll_protocol=htons({}), sll_ifindex={}, sll_hatype={}, sll_pkttype={}, sll_halen={halen}",
        crate::names::ethernet_protocol(u16::from_be_bytes([b[2], b[3]])),
        u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        crate::names::hardware_type(u16::from_ne_bytes([b[8], b[9]])),
        crate::names::packet_type(b[10]),
    );
    if halen > 0 {
        // sll_addr's bytes that the length holds; `...` for those past it.
        let held = len.saturating_sub(12);
        let mut bytes = Vec::new();
        for i in 0..usize::from(halen) {
            if i >= held {
                bytes.push("...".to_string());
                break;
            }
            bytes.push(format!("{:#04x}", b[12 + i]));
        }
        let _ = write!(out, ", sll_addr=[{}]", bytes.join(", "));
    }
    out
}

/// Bytes as a C string literal, escaped as strace escapes them, cut at `limit` with `...`
/// (strace's -s). An octal escape followed by an octal digit takes three digits (`\0010`
/// is bytes 1 and '0'; `\10` would be byte 8).
pub fn quoted(bytes: &[u8], limit: usize) -> String {
    let shown = &bytes[..bytes.len().min(limit)];
    let mut out = String::from("\"");
    for (i, &c) in shown.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0c => out.push_str("\\f"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(c as char),
            _ if shown.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n)) => {
                let _ = write!(out, "\\{c:03o}");
            }
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

/// Text from the tracee or the system (a path, a command name) with its control characters
/// escaped as `quoted` escapes them, without the quotes.
pub fn escaped(s: &str) -> String {
    let q = quoted(s.as_bytes(), usize::MAX);
    q[1..q.len() - 1].to_string()
}

pub fn shutdown_how(h: u64) -> String {
    match h {
        0 => "SHUT_RD".into(),
        1 => "SHUT_WR".into(),
        2 => "SHUT_RDWR".into(),
        other => other.to_string(),
    }
}

/// `= 3`, or `= -1 ECONNREFUSED (Connection refused)`, or for a call a signal interrupted,
/// `= ? ERESTARTSYS (To be restarted if SA_RESTART is set)` (the kernel's restart codes,
/// which a program never sees).
pub fn result(ret: i64) -> (String, Option<String>) {
    const RESTART: [(i64, &str, &str); 4] = [
        (512, "ERESTARTSYS", "To be restarted if SA_RESTART is set"),
        (513, "ERESTARTNOINTR", "To be restarted"),
        (514, "ERESTARTNOHAND", "To be restarted if no handler"),
        (516, "ERESTART_RESTARTBLOCK", "Interrupted by signal"),
    ];
    if let Some((_, name, text)) = RESTART.iter().find(|(code, _, _)| -ret == *code) {
        return (format!("? {name} ({text})"), Some((*name).to_string()));
    }
    if (-4095..0).contains(&ret) {
        let code = i32::try_from(-ret).unwrap_or(0);
        let name = errno_name(code);
        // The C library's text (strerror), as strace prints it; std asks the same function.
        let text = std::io::Error::from_raw_os_error(code).to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        (format!("-1 {name} ({text})"), Some(name))
    } else {
        (ret.to_string(), None)
    }
}

/// An errno's name (`ECONNREFUSED`), as strace prints an `SO_ERROR` value.
pub fn errno_name(code: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(code))
}

fn signal_name(signo: i32) -> String {
    nix::sys::signal::Signal::try_from(signo).map_or_else(|_| signo.to_string(), |s| s.as_str().to_string())
}

/// A signal's siginfo as strace shows it: `{si_signo=SIGPIPE, si_code=SI_USER, si_pid=42,
/// si_uid=0}`.
pub fn siginfo(si: &crate::sys::SigInfo) -> String {
    const CODES: [(i32, &str); 8] = [
        (0, "SI_USER"),
        (0x80, "SI_KERNEL"),
        (-1, "SI_QUEUE"),
        (-2, "SI_TIMER"),
        (-3, "SI_MESGQ"),
        (-4, "SI_ASYNCIO"),
        (-5, "SI_SIGIO"),
        (-6, "SI_TKILL"),
    ];
    const CHILD: [&str; 6] = ["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"];
    const SEGV: [&str; 2] = ["SEGV_MAPERR", "SEGV_ACCERR"];
    let child = si.signo == nix::libc::SIGCHLD && (1..=6).contains(&si.code);
    let segv = si.signo == nix::libc::SIGSEGV && (1..=2).contains(&si.code);
    let code = if child {
        CHILD[(si.code - 1) as usize].to_string()
    } else if segv {
        SEGV[(si.code - 1) as usize].to_string()
    } else {
        CODES.iter().find(|(c, _)| *c == si.code).map_or_else(|| si.code.to_string(), |(_, n)| (*n).to_string())
    };
    let mut out = format!("{{si_signo={}, si_code={code}", signal_name(si.signo));
    if child {
        // Killed, dumped, stopped and continued children carry a signal, exits a code.
        let status = if si.code == 1 { si.status.to_string() } else { signal_name(si.status) };
        let ticks = |t: i64| if t == 0 { "0".to_string() } else { format!("{t} /* {:.2} s */", t as f64 / 100.0) };
        let _ = write!(
            out,
            ", si_pid={}, si_uid={}, si_status={status}, si_utime={}, si_stime={}",
            si.pid,
            si.uid,
            ticks(si.utime),
            ticks(si.stime)
        );
    } else if si.code <= 0 {
        let _ = write!(out, ", si_pid={}, si_uid={}", si.pid, si.uid);
    } else if si.addr != 0 || segv {
        let addr = if si.addr == 0 { "NULL".to_string() } else { format!("{:#x}", si.addr) };
        let _ = write!(out, ", si_addr={addr}");
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any bytes a tracee passes as a sockaddr decode without panicking.
        #[test]
        fn any_sockaddr_bytes_decode(b in proptest::collection::vec(proptest::num::u8::ANY, 0..130)) {
            let _ = sockaddr_bytes(&b);
        }

        /// An inet address laid out as the kernel takes it reads back as strace writes it.
        #[test]
        fn inet_sockaddrs_read_back(ip in proptest::num::u32::ANY, port in proptest::num::u16::ANY) {
            let mut b = 2u16.to_ne_bytes().to_vec();
            b.extend_from_slice(&port.to_be_bytes());
            b.extend_from_slice(&ip.to_be_bytes());
            b.extend_from_slice(&[0; 8]);
            let want = format!(
                "{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr(\"{}\")}}",
                std::net::Ipv4Addr::from(ip)
            );
            proptest::prop_assert_eq!(sockaddr_bytes(&b), want);
        }

        /// Escaped text holds no control character and no raw byte above ASCII.
        #[test]
        fn quoted_bytes_are_printable(b in proptest::collection::vec(proptest::num::u8::ANY, 0..100), limit in 0usize..120) {
            let q = quoted(&b, limit);
            proptest::prop_assert!(q.chars().all(|c| (' '..='~').contains(&c)), "{}", q);
        }
    }

    #[test]
    fn strace_words() {
        assert_eq!(sock_type(1 | 0o2_000_000), "SOCK_STREAM|SOCK_CLOEXEC");
        assert_eq!(sock_type(2 | 0o4000), "SOCK_DGRAM|SOCK_NONBLOCK");
        assert_eq!(protocol(2, 0), "IPPROTO_IP");
        assert_eq!(quoted(b"ab\"\n\x01", 32), "\"ab\\\"\\n\\1\"");
        assert_eq!(quoted(b"abcdef", 3), "\"abc\"...");
        assert_eq!(result(3).0, "3");
        assert_eq!(
            result(-111),
            ("-1 ECONNREFUSED (Connection refused)".to_string(), Some("ECONNREFUSED".to_string()))
        );
        assert_eq!(quoted(b"\x010\x001\xff7\x0c\x0b8", 32), r#""\0010\0001\3777\f\v8""#);
        assert_eq!(quoted(b"\x018\x01", 32), r#""\18\1""#);
        let pipe = crate::sys::SigInfo { signo: 13, code: 0, pid: 42, uid: 0, ..Default::default() };
        assert_eq!(siginfo(&pipe), "{si_signo=SIGPIPE, si_code=SI_USER, si_pid=42, si_uid=0}");
        let chld = crate::sys::SigInfo { signo: 17, code: 1, pid: 7, status: 3, stime: 1, ..Default::default() };
        assert_eq!(
            siginfo(&chld),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7, si_uid=0, si_status=3, si_utime=0, si_stime=1 /* 0.01 s */}"
        );
        assert_eq!(result(-512).0, "? ERESTARTSYS (To be restarted if SA_RESTART is set)");
        assert_eq!(escaped("a\u{1b}[31m"), "a\\33[31m");
    }
}
