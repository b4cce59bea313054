//! A call's arguments in strace's words, one string per argument: read from the registers
//! saved at entry and from the tracee's memory at exit (so output arguments are filled in).

use crate::decode::{self, read_mem};
use nix::unistd::Pid;

/// What decoding needs besides the registers.
pub struct Ctx<'a> {
    pub pid: Pid,
    /// Bytes of a buffer shown (`-s`).
    pub string_limit: usize,
    /// An fd as it is to be shown: `3`, or `3<TCP:[…]>` with annotations.
    pub fd_text: &'a mut dyn FnMut(i64) -> String,
    /// The first argument's text when it is an fd, taken at entry (as strace: `connect`
    /// shows the socket as it was before connecting).
    pub fd0: Option<String>,
    /// An in/out length (`socklen_t *`) as it was at entry.
    pub len_in: Option<i32>,
}

impl Ctx<'_> {
    fn int(&self, addr: u64) -> Option<i32> {
        read_mem(self.pid, addr, 4).filter(|b| b.len() == 4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64_at(&self, addr: u64) -> Option<u64> {
        read_mem(self.pid, addr, 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes)
    }

    fn fd0(&mut self, raw: u64) -> String {
        self.fd0.take().unwrap_or_else(|| (self.fd_text)(i64::from(raw as i32)))
    }

    fn buffer(&self, addr: u64, len: u64) -> String {
        let shown = usize::try_from(len).unwrap_or(0).min(self.string_limit.saturating_add(1));
        if len == 0 {
            return "\"\"".to_string();
        }
        read_mem(self.pid, addr, shown).map_or_else(
            || format!("{addr:#x}"),
            |b| {
                let q = decode::quoted(&b[..b.len().min(self.string_limit)], usize::MAX);
                if len as usize > self.string_limit { format!("{q}...") } else { q }
            },
        )
    }

    /// `[16]`, or `[128 => 16]` when the call changed it.
    fn len_pair(&self, addr: u64, ok: bool) -> String {
        if addr == 0 {
            return "NULL".to_string();
        }
        match (self.len_in, self.int(addr)) {
            (Some(before), Some(after)) if ok && before != after => format!("[{before} => {after}]"),
            (_, Some(v)) => format!("[{v}]"),
            _ => format!("{addr:#x}"),
        }
    }
}

/// Which argument of the call is an `socklen_t *` whose entry value is kept.
pub fn len_arg(name: &str) -> Option<usize> {
    match name {
        "accept" | "accept4" | "getsockname" | "getpeername" => Some(2),
        "recvfrom" => Some(5),
        "getsockopt" => Some(4),
        _ => None,
    }
}

/// Whether the first argument is an fd (and so is annotated).
pub fn fd_first(name: &str) -> bool {
    !matches!(name, "socket" | "socketpair") && (crate::syscalls::FD_FIRST.contains(&name) || is_net(name))
}

fn is_net(name: &str) -> bool {
    matches!(
        name,
        "bind"
            | "listen"
            | "accept"
            | "accept4"
            | "connect"
            | "getsockname"
            | "getpeername"
            | "sendto"
            | "recvfrom"
            | "sendmsg"
            | "recvmsg"
            | "sendmmsg"
            | "recvmmsg"
            | "shutdown"
            | "setsockopt"
            | "getsockopt"
    )
}

/// The arguments of `name` called with `a`, which returned `ret` (None: it never returned,
/// as a process's last `exit_group`).
pub fn describe(name: &str, a: [u64; 6], ret: Option<i64>, ctx: &mut Ctx<'_>) -> Vec<String> {
    let ok = ret.is_some_and(|r| r >= 0);
    let pid = ctx.pid;
    match name {
        "socket" => vec![decode::family(a[0]), decode::sock_type(a[1]), decode::protocol(a[0], a[2])],
        "socketpair" => {
            let fds = read_mem(pid, a[3], 8).filter(|b| b.len() == 8 && ok).map_or_else(
                || format!("{:#x}", a[3]),
                |b| {
                    let first = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                    let second = i32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
                    format!("[{}, {}]", (ctx.fd_text)(i64::from(first)), (ctx.fd_text)(i64::from(second)))
                },
            );
            vec![decode::family(a[0]), decode::sock_type(a[1]), a[2].to_string(), fds]
        }
        "connect" | "bind" => vec![ctx.fd0(a[0]), decode::sockaddr(pid, a[1], a[2]), a[2].to_string()],
        "listen" => vec![ctx.fd0(a[0]), (a[1] as i32).to_string()],
        "accept" | "accept4" | "getsockname" | "getpeername" => {
            let addr = match ctx.int(a[2]) {
                _ if a[1] == 0 => "NULL".to_string(),
                Some(l) if ok => decode::sockaddr(pid, a[1], u64::try_from(l).unwrap_or(0)),
                _ => format!("{:#x}", a[1]),
            };
            let mut out = vec![ctx.fd0(a[0]), addr, ctx.len_pair(a[2], ok)];
            if name == "accept4" {
                out.push(accept_flags(a[3]));
            }
            out
        }
        "shutdown" => vec![ctx.fd0(a[0]), decode::shutdown_how(a[1])],
        "setsockopt" => {
            vec![
                ctx.fd0(a[0]),
                decode::sockopt_level(a[1]),
                decode::sockopt_name(a[1], a[2]),
                sockopt_value(ctx, a[1], a[2], a[3], a[4]),
                a[4].to_string(),
            ]
        }
        "getsockopt" => {
            let len = ctx.int(a[4]);
            let value = match len {
                Some(l) if ok => sockopt_value(ctx, a[1], a[2], a[3], u64::try_from(l).unwrap_or(0)),
                _ => format!("{:#x}", a[3]),
            };
            vec![
                ctx.fd0(a[0]),
                decode::sockopt_level(a[1]),
                decode::sockopt_name(a[1], a[2]),
                value,
                ctx.len_pair(a[4], ok),
            ]
        }
        "sendto" => vec![
            ctx.fd0(a[0]),
            ctx.buffer(a[1], a[2]),
            a[2].to_string(),
            msg_flags(a[3]),
            decode::sockaddr(pid, a[4], a[5]),
            a[5].to_string(),
        ],
        "recvfrom" => {
            let buf = if ok {
                ctx.buffer(a[1], u64::try_from(ret.unwrap_or(0)).unwrap_or(0))
            } else {
                format!("{:#x}", a[1])
            };
            let addr = match ctx.int(a[5]) {
                _ if a[4] == 0 => "NULL".to_string(),
                Some(l) if ok => decode::sockaddr(pid, a[4], u64::try_from(l).unwrap_or(0)),
                _ => format!("{:#x}", a[4]),
            };
            vec![ctx.fd0(a[0]), buf, a[2].to_string(), msg_flags(a[3]), addr, ctx.len_pair(a[5], ok)]
        }
        "sendmsg" | "recvmsg" => {
            let sending = name == "sendmsg";
            let data_len = if sending { u64::MAX } else { u64::try_from(ret.unwrap_or(0).max(0)).unwrap_or(0) };
            let msg = if sending || ok { msghdr(ctx, a[1], data_len) } else { format!("{:#x}", a[1]) };
            vec![ctx.fd0(a[0]), msg, msg_flags(a[2])]
        }
        "sendmmsg" | "recvmmsg" => {
            // struct mmsghdr: a msghdr (56 bytes) and the bytes sent or received (u32).
            let count = if ok { usize::try_from(ret.unwrap_or(0)).unwrap_or(0) } else { 0 };
            let items: Vec<String> = (0..count.min(16) as u64)
                .map(|i| {
                    let at = a[1].wrapping_add(i * 64);
                    let len = read_mem(pid, at.wrapping_add(56), 4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u32::from_ne_bytes);
                    let limit = if name == "sendmmsg" { u64::MAX } else { u64::from(len) };
                    format!("{{msg_hdr={}, msg_len={len}}}", msghdr(ctx, at, limit))
                })
                .collect();
            let vec = if ok { format!("[{}]", items.join(", ")) } else { format!("{:#x}", a[1]) };
            let mut out = vec![ctx.fd0(a[0]), vec, (a[2] as u32).to_string(), msg_flags(a[3])];
            if name == "recvmmsg" {
                out.push(if a[4] == 0 { "NULL".to_string() } else { format!("{:#x}", a[4]) });
            }
            out
        }
        "read" | "pread64" => {
            let buf = if ok {
                ctx.buffer(a[1], u64::try_from(ret.unwrap_or(0)).unwrap_or(0))
            } else {
                format!("{:#x}", a[1])
            };
            let mut out = vec![ctx.fd0(a[0]), buf, a[2].to_string()];
            if name == "pread64" {
                out.push((a[3] as i64).to_string());
            }
            out
        }
        "write" | "pwrite64" => {
            let mut out = vec![ctx.fd0(a[0]), ctx.buffer(a[1], a[2]), a[2].to_string()];
            if name == "pwrite64" {
                out.push((a[3] as i64).to_string());
            }
            out
        }
        "close" | "dup" | "fsync" | "fdatasync" | "epoll_create1" => {
            if name == "epoll_create1" {
                vec![a[0].to_string()]
            } else {
                vec![ctx.fd0(a[0])]
            }
        }
        "dup2" | "dup3" => {
            let mut out = vec![ctx.fd0(a[0]), (a[1] as i32).to_string()];
            if name == "dup3" {
                out.push(a[2].to_string());
            }
            out
        }
        _ if fd_first(name) => vec![ctx.fd0(a[0]), format!("{:#x}", a[1]), format!("{:#x}", a[2])],
        // Outside the calls decoded here: the raw registers, as strace -e raw=all shows them.
        _ => a.iter().take(3).map(|v| format!("{v:#x}")).collect(),
    }
}

/// A socket option's value (`[1]`, `{l_onoff=1, l_linger=0}`, `{tv_sec=1, tv_usec=0}`).
fn sockopt_value(ctx: &mut Ctx<'_>, level: u64, name: u64, addr: u64, len: u64) -> String {
    let raw = || format!("{addr:#x}");
    match (level, name, len) {
        // SO_LINGER
        (1, 13, 8) => read_mem(ctx.pid, addr, 8).filter(|b| b.len() == 8).map_or_else(raw, |b| {
            format!(
                "{{l_onoff={}, l_linger={}}}",
                i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                i32::from_ne_bytes([b[4], b[5], b[6], b[7]])
            )
        }),
        // SO_RCVTIMEO, SO_SNDTIMEO (the 64-bit timeval)
        (1, 20 | 21 | 66 | 67, 16) => match (ctx.u64_at(addr), ctx.u64_at(addr.wrapping_add(8))) {
            (Some(sec), Some(usec)) => format!("{{tv_sec={}, tv_usec={}}}", sec as i64, usec as i64),
            _ => raw(),
        },
        // TCP_CONGESTION: a name
        (6, 13, _) => ctx.buffer(addr, len.min(16)),
        (_, _, 4) => ctx.int(addr).map_or_else(raw, |v| format!("[{v}]")),
        _ => raw(),
    }
}

/// A `struct msghdr` (64-bit layout), with `data_len` bytes of its iovecs shown (what a
/// receive returned; `u64::MAX` for a send).
fn msghdr(ctx: &mut Ctx<'_>, addr: u64, data_len: u64) -> String {
    let Some(h) = read_mem(ctx.pid, addr, 56).filter(|b| b.len() == 56) else {
        return format!("{addr:#x}");
    };
    let word = |at: usize| u64::from_ne_bytes(h[at..at + 8].try_into().unwrap_or([0; 8]));
    let (name, namelen) = (word(0), u32::from_ne_bytes(h[8..12].try_into().unwrap_or([0; 4])));
    let (iov, iovlen, control, controllen) = (word(16), word(24), word(32), word(40));
    let flags = u32::from_ne_bytes(h[48..52].try_into().unwrap_or([0; 4]));
    let name_text = match (name, namelen) {
        (0, _) => "NULL".to_string(),
        (_, 0) => format!("{name:#x}"),
        _ => decode::sockaddr(ctx.pid, name, u64::from(namelen)),
    };
    // recvmsg fills msg_namelen in: `110 => 0`.
    let namelen_text = match ctx.len_in {
        Some(before) if data_len != u64::MAX && before as u32 != namelen => format!("{before} => {namelen}"),
        _ => namelen.to_string(),
    };
    let mut left = data_len;
    let iovs: Vec<String> = (0..iovlen.min(16))
        .map(|i| {
            let base = ctx.u64_at(iov.wrapping_add(i * 16)).unwrap_or(0);
            let len = ctx.u64_at(iov.wrapping_add(i * 16 + 8)).unwrap_or(0);
            let shown = len.min(left);
            left -= shown;
            format!("{{iov_base={}, iov_len={len}}}", ctx.buffer(base, shown))
        })
        .collect();
    let mut out = format!(
        "{{msg_name={name_text}, msg_namelen={namelen_text}, msg_iov=[{}], msg_iovlen={iovlen}",
        iovs.join(", ")
    );
    if controllen > 0 && control != 0 {
        out.push_str(&format!(", msg_control=[{}]", cmsgs(ctx, control, controllen)));
    }
    out.push_str(&format!(", msg_controllen={controllen}, msg_flags={}}}", msg_flags(u64::from(flags))));
    out
}

/// The control messages of a msghdr: SCM_RIGHTS fds (annotated), SCM_CREDENTIALS.
fn cmsgs(ctx: &mut Ctx<'_>, addr: u64, total: u64) -> String {
    match read_mem(ctx.pid, addr, usize::try_from(total.min(4096)).unwrap_or(0)) {
        Some(b) => cmsgs_bytes(&b, ctx.string_limit, ctx.fd_text),
        None => format!("{addr:#x}"),
    }
}

/// Control messages from their bytes (as the tracee laid them out, lengths unchecked).
pub fn cmsgs_bytes(b: &[u8], string_limit: usize, fd_text: &mut dyn FnMut(i64) -> String) -> String {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(header) = b.get(at..at + 16) {
        let len = usize::try_from(u64::from_ne_bytes(header[..8].try_into().unwrap_or([0; 8]))).unwrap_or(usize::MAX);
        let level = i32::from_ne_bytes(header[8..12].try_into().unwrap_or([0; 4]));
        let kind = i32::from_ne_bytes(header[12..16].try_into().unwrap_or([0; 4]));
        // A length the buffer does not hold ends the list (the tracee's word, not trusted).
        let Some(data) = at.checked_add(len).filter(|_| len >= 16).and_then(|end| b.get(at + 16..end)) else {
            break;
        };
        let (level_text, kind_text, data_text) = match (level, kind) {
            (1, 1) => {
                let fds: Vec<String> = data
                    .chunks_exact(4)
                    .map(|c| fd_text(i64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))))
                    .collect();
                ("SOL_SOCKET".to_string(), "SCM_RIGHTS".to_string(), format!("[{}]", fds.join(", ")))
            }
            (1, 2) if data.len() >= 12 => {
                let n = |i: usize| u32::from_ne_bytes(data[i..i + 4].try_into().unwrap_or([0; 4]));
                (
                    "SOL_SOCKET".to_string(),
                    "SCM_CREDENTIALS".to_string(),
                    format!("{{pid={}, uid={}, gid={}}}", n(0), n(4), n(8)),
                )
            }
            _ => (decode::sockopt_level(level as u64), kind.to_string(), decode::quoted(data, string_limit)),
        };
        out.push(format!("{{cmsg_len={len}, cmsg_level={level_text}, cmsg_type={kind_text}, cmsg_data={data_text}}}"));
        // The next header is 8-byte aligned; past the end, the loop ends.
        match len.checked_add(7).and_then(|l| at.checked_add(l & !7)) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.join(", ")
}

fn accept_flags(f: u64) -> String {
    let mut names = Vec::new();
    if f & 0o2_000_000 != 0 {
        names.push("SOCK_CLOEXEC");
    }
    if f & 0o4000 != 0 {
        names.push("SOCK_NONBLOCK");
    }
    if names.is_empty() { "0".to_string() } else { names.join("|") }
}

/// `MSG_*` flags as strace names them.
pub fn msg_flags(f: u64) -> String {
    const NAMES: [(u64, &str); 14] = [
        (0x1, "MSG_OOB"),
        (0x2, "MSG_PEEK"),
        (0x4, "MSG_DONTROUTE"),
        (0x8, "MSG_CTRUNC"),
        (0x20, "MSG_TRUNC"),
        (0x40, "MSG_DONTWAIT"),
        (0x80, "MSG_EOR"),
        (0x100, "MSG_WAITALL"),
        (0x2000, "MSG_ERRQUEUE"),
        (0x4000, "MSG_NOSIGNAL"),
        (0x8000, "MSG_MORE"),
        (0x10000, "MSG_WAITFORONE"),
        (0x4000_0000, "MSG_CMSG_CLOEXEC"),
        (0x2_0000_0000, "MSG_ZEROCOPY"),
    ];
    let names: Vec<&str> = NAMES.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n).collect();
    let rest = NAMES.iter().fold(f, |f, (b, _)| f & !b);
    match (names.is_empty(), rest) {
        (true, _) => format!("{f:#x}").replace("0x0", "0"),
        (false, 0) => names.join("|"),
        (false, rest) => format!("{}|{rest:#x}", names.join("|")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_flags_as_strace() {
        assert_eq!(msg_flags(0), "0");
        assert_eq!(msg_flags(0x4040), "MSG_DONTWAIT|MSG_NOSIGNAL");
        assert_eq!(msg_flags(0x4000_0000), "MSG_CMSG_CLOEXEC");
        assert_eq!(msg_flags(0x10_0000_0000 | 1), "MSG_OOB|0x1000000000");
    }

    #[test]
    fn scm_rights_and_credentials_as_strace() {
        let mut b = Vec::new();
        b.extend_from_slice(&20u64.to_ne_bytes());
        b.extend_from_slice(&1i32.to_ne_bytes());
        b.extend_from_slice(&1i32.to_ne_bytes());
        b.extend_from_slice(&7i32.to_ne_bytes());
        b.extend_from_slice(&[0; 4]); // padding to 8
        b.extend_from_slice(&28u64.to_ne_bytes());
        b.extend_from_slice(&1i32.to_ne_bytes());
        b.extend_from_slice(&2i32.to_ne_bytes());
        for v in [42u32, 0, 0] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        let text = cmsgs_bytes(&b, 32, &mut |fd| format!("{fd}<x>"));
        assert_eq!(
            text,
            "{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7<x>]}, \
             {cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=42, uid=0, gid=0}}"
        );
    }

    proptest::proptest! {
        /// Whatever a tracee leaves in its buffers (lengths included), decoding ends, and
        /// never panics.
        #[test]
        fn control_messages_of_any_bytes_decode(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = cmsgs_bytes(&b, 32, &mut |fd| fd.to_string());
        }

        #[test]
        fn huge_lengths_end_the_list(len in (u64::MAX - 64)..=u64::MAX) {
            let mut b = len.to_ne_bytes().to_vec();
            b.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0]);
            proptest::prop_assert_eq!(cmsgs_bytes(&b, 32, &mut |fd| fd.to_string()), "");
        }
    }

    #[test]
    fn which_arguments_are_fds() {
        assert!(fd_first("connect"));
        assert!(fd_first("read"));
        assert!(!fd_first("socket"));
        assert!(!fd_first("openat"));
    }
}
