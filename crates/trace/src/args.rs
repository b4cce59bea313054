//! A call's arguments in strace's words, one string per argument: read from the registers
//! saved at entry and from the tracee's memory at exit (so output arguments are filled in).

use crate::decode::{self, pointer, read_mem};
use crate::names;
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
    /// recvmmsg: each message's msg_namelen as it was at entry.
    pub names_in: Vec<u32>,
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
            || pointer(addr),
            |b| {
                let q = decode::quoted(&b[..b.len().min(self.string_limit)], usize::MAX);
                if len as usize > self.string_limit { format!("{q}...") } else { q }
            },
        )
    }

    /// `[16]`, or `[128 => 16]` when the call changed it; a failed call's is the length
    /// it was given.
    fn len_pair(&self, addr: u64, ok: bool) -> String {
        match (self.len_in, self.int(addr)) {
            (Some(before), Some(after)) if ok && before != after => format!("[{before} => {after}]"),
            (Some(before), _) if !ok => format!("[{before}]"),
            (_, Some(v)) => format!("[{v}]"),
            _ => pointer(addr),
        }
    }

    /// An address the kernel wrote with its in/out length at `len_addr` (accept,
    /// getsockname, recvfrom): only the bytes both the caller allowed and the kernel wrote,
    /// min(in, out), are the kernel's; past them is whatever the caller left. Returns the
    /// address and its length as strace writes them.
    fn returned_address(&self, addr: u64, len_addr: u64, ok: bool) -> (String, String) {
        let Some(before) = self.len_in.filter(|_| addr != 0 && len_addr != 0) else {
            return (pointer(addr), pointer(len_addr));
        };
        match self.int(len_addr).filter(|_| ok) {
            Some(after) => (decode::sockaddr(self.pid, addr, before.min(after)), self.len_pair(len_addr, ok)),
            None => (pointer(addr), format!("[{before}]")),
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
        // int arguments are 32 bits to the kernel: what a caller left above them is not
        // part of the call.
        "socket" => {
            vec![names::family(int32(a[0])), decode::sock_type(int32(a[1])), decode::protocol(int32(a[0]), int32(a[2]))]
        }
        "socketpair" => {
            let fds = read_mem(pid, a[3], 8).filter(|b| b.len() == 8 && ok).map_or_else(
                || pointer(a[3]),
                |b| {
                    let first = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                    let second = i32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
                    format!("[{}, {}]", (ctx.fd_text)(i64::from(first)), (ctx.fd_text)(i64::from(second)))
                },
            );
            vec![names::family(int32(a[0])), decode::sock_type(int32(a[1])), (a[2] as i32).to_string(), fds]
        }
        "connect" | "bind" => {
            vec![ctx.fd0(a[0]), decode::sockaddr(pid, a[1], a[2] as i32), (a[2] as i32).to_string()]
        }
        "listen" => vec![ctx.fd0(a[0]), (a[1] as i32).to_string()],
        "accept" | "accept4" | "getsockname" | "getpeername" => {
            let (addr, len) = ctx.returned_address(a[1], a[2], ok);
            let mut out = vec![ctx.fd0(a[0]), addr, len];
            if name == "accept4" {
                out.push(accept_flags(a[3]));
            }
            out
        }
        "shutdown" => vec![ctx.fd0(a[0]), decode::shutdown_how(int32(a[1]))],
        "setsockopt" => {
            let (level, option, len) = (a[1] as u32, a[2] as u32, a[4] as i32);
            vec![
                ctx.fd0(a[0]),
                names::sockopt_level(level),
                names::sockopt_name(level, option),
                sockopt_value(ctx, level, option, a[3], len, false),
                len.to_string(),
            ]
        }
        "getsockopt" => {
            let (level, option) = (a[1] as u32, a[2] as u32);
            let (value, len) = match (ctx.len_in.filter(|_| a[4] != 0), ctx.int(a[4])) {
                (None, _) => (pointer(a[3]), pointer(a[4])),
                (Some(before), Some(after)) if ok => {
                    // Lengths the kernel neither takes nor returns were forged.
                    let value = if before <= 0 || after <= 0 {
                        pointer(a[3])
                    } else {
                        sockopt_value(ctx, level, option, a[3], after, true)
                    };
                    (value, ctx.len_pair(a[4], ok))
                }
                (Some(before), _) => (pointer(a[3]), format!("[{before}]")),
            };
            vec![ctx.fd0(a[0]), names::sockopt_level(level), names::sockopt_name(level, option), value, len]
        }
        "sendto" => vec![
            ctx.fd0(a[0]),
            ctx.buffer(a[1], a[2]),
            a[2].to_string(),
            msg_flags(int32(a[3])),
            decode::sockaddr(pid, a[4], a[5] as i32),
            (a[5] as i32).to_string(),
        ],
        "recvfrom" => {
            let buf = if ok { ctx.buffer(a[1], u64::try_from(ret.unwrap_or(0)).unwrap_or(0)) } else { pointer(a[1]) };
            let (addr, len) = ctx.returned_address(a[4], a[5], ok);
            vec![ctx.fd0(a[0]), buf, a[2].to_string(), msg_flags(int32(a[3])), addr, len]
        }
        "sendmsg" | "recvmsg" => {
            let sending = name == "sendmsg";
            let data_len = if sending { u64::MAX } else { u64::try_from(ret.unwrap_or(0).max(0)).unwrap_or(0) };
            let name_in = if sending { None } else { ctx.len_in.and_then(|l| u32::try_from(l).ok()) };
            let msg = if sending || ok {
                msghdr(ctx, a[1], data_len, name_in)
            } else {
                // A receive that failed filled nothing in: what it was given for a name.
                match (read_mem(pid, a[1], 56), ctx.len_in) {
                    (Some(_), Some(before)) => format!("{{msg_namelen={before}}}"),
                    _ => pointer(a[1]),
                }
            };
            vec![ctx.fd0(a[0]), msg, msg_flags(int32(a[2]))]
        }
        "sendmmsg" | "recvmmsg" => {
            // struct mmsghdr: a msghdr (56 bytes) and the bytes sent or received (u32). A send
            // that failed shows what it was given, without the lengths sent.
            let failed_send = !ok && name == "sendmmsg";
            let count = if ok {
                usize::try_from(ret.unwrap_or(0)).unwrap_or(0)
            } else if failed_send {
                (a[2] as u32) as usize
            } else {
                0
            };
            let shown = count.min(ctx.string_limit);
            let mut items: Vec<String> = (0..shown as u64)
                .map(|i| {
                    let at = a[1].wrapping_add(i * 64);
                    let len = read_mem(pid, at.wrapping_add(56), 4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u32::from_ne_bytes);
                    let (limit, name_in) = if name == "sendmmsg" {
                        (u64::MAX, None)
                    } else {
                        (u64::from(len), usize::try_from(i).ok().and_then(|i| ctx.names_in.get(i).copied()))
                    };
                    if failed_send {
                        format!("{{msg_hdr={}}}", msghdr(ctx, at, limit, name_in))
                    } else {
                        format!("{{msg_hdr={}, msg_len={len}}}", msghdr(ctx, at, limit, name_in))
                    }
                })
                .collect();
            if count > shown {
                items.push("...".to_string());
            }
            let vec = if ok || failed_send { format!("[{}]", items.join(", ")) } else { pointer(a[1]) };
            let mut out = vec![ctx.fd0(a[0]), vec, (a[2] as u32).to_string(), msg_flags(int32(a[3]))];
            if name == "recvmmsg" {
                out.push(timespec(ctx, a[4]));
            }
            out
        }
        "read" | "pread64" => {
            let buf = if ok { ctx.buffer(a[1], u64::try_from(ret.unwrap_or(0)).unwrap_or(0)) } else { pointer(a[1]) };
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
        "sendfile" => vec![ctx.fd0(a[0]), (ctx.fd_text)(i64::from(a[1] as i32)), offset(ctx, a[2]), a[3].to_string()],
        "splice" => vec![
            ctx.fd0(a[0]),
            offset(ctx, a[1]),
            (ctx.fd_text)(i64::from(a[2] as i32)),
            offset(ctx, a[3]),
            a[4].to_string(),
            format!("{:#x}", a[5] as u32),
        ],
        // Outside the calls decoded here: the raw registers, as strace -e raw=all shows them,
        // as many as the call takes (an fd first is annotated).
        _ => {
            let count = crate::syscalls::arg_count(name);
            let mut out: Vec<String> = a.iter().take(count).map(|v| format!("{v:#x}")).collect();
            if fd_first(name)
                && let Some(first) = out.first_mut()
            {
                *first = ctx.fd0(a[0]);
            }
            out
        }
    }
}

/// An int argument: the low 32 bits of its register.
fn int32(v: u64) -> u64 {
    u64::from(v as u32)
}

/// A `loff_t *` (sendfile, splice): `[N]`, or the pointer.
fn offset(ctx: &Ctx<'_>, addr: u64) -> String {
    ctx.u64_at(addr).map_or_else(|| pointer(addr), |v| format!("[{}]", v as i64))
}

/// A `struct timespec *` (recvmmsg's timeout).
fn timespec(ctx: &Ctx<'_>, addr: u64) -> String {
    match (ctx.u64_at(addr), ctx.u64_at(addr.wrapping_add(8))) {
        (Some(sec), Some(nsec)) => format!("{{tv_sec={}, tv_nsec={}}}", sec as i64, nsec as i64),
        _ => pointer(addr),
    }
}

/// A socket option's value (`[1]`, `{l_onoff=1, l_linger=0}`, `{tv_sec=1, tv_usec=0}`,
/// `[ECONNREFUSED]`, an `ip_mreq`), of `len` bytes; a value of another length is shown as
/// its bytes, as strace shows one.
fn sockopt_value(ctx: &mut Ctx<'_>, level: u32, name: u32, addr: u64, len: i32, got: bool) -> String {
    let raw = || pointer(addr);
    let Ok(size) = usize::try_from(len) else { return raw() };
    if addr == 0 || size == 0 {
        return if size == 0 && addr != 0 { "\"\"".to_string() } else { raw() };
    }
    let bytes = || read_mem(ctx.pid, addr, size.min(64));
    let word = |b: &[u8], at: usize| b.get(at..at + 4).and_then(|w| w.try_into().ok()).map(i32::from_ne_bytes);
    let ipv4 = |b: &[u8], at: usize| {
        b.get(at..at + 4).map(|w| format!("inet_addr(\"{}\")", std::net::Ipv4Addr::new(w[0], w[1], w[2], w[3])))
    };
    let decoded = match (level, name, size) {
        // SO_LINGER: set, at least a struct linger; got, as much of one as the kernel wrote
        (1, 13, _) if !got && size < 8 => None,
        (1, 13, _) if !got => {
            bytes().and_then(|b| Some(format!("{{l_onoff={}, l_linger={}}}", word(&b, 0)?, word(&b, 4)?)))
        }
        (1, 13, 1..=8) => bytes().map(|b| {
            let fields: Vec<String> = [("l_onoff", 0), ("l_linger", 4)]
                .iter()
                .filter_map(|(name, at)| word(&b, *at).map(|v| format!("{name}={v}")))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }),
        // SO_ATTACH_FILTER, SO_ATTACH_REUSEPORT_CBPF: struct sock_fprog (the program's length
        // and where it is)
        (1, 26 | 51, 16) if !got => bytes().map(|b| {
            let len = u16::from_ne_bytes([b[0], b[1]]);
            let filter = u64::from_ne_bytes(b[8..16].try_into().unwrap_or([0; 8]));
            format!("{{len={len}, filter={}}}", pointer(filter))
        }),
        // SO_RCVTIMEO, SO_SNDTIMEO (the 64-bit timeval)
        (1, 20 | 21 | 66 | 67, 16) => match (ctx.u64_at(addr), ctx.u64_at(addr.wrapping_add(8))) {
            (Some(sec), Some(usec)) => Some(format!("{{tv_sec={}, tv_usec={}}}", sec as i64, usec as i64)),
            _ => None,
        },
        // SO_ERROR: an errno
        (1, 4, 4) if got => {
            ctx.int(addr).map(|e| if e == 0 { "[0]".to_string() } else { format!("[{}]", decode::errno_name(e)) })
        }
        // SO_PEERCRED: struct ucred
        (1, 17, 12) if got => bytes().and_then(|b| {
            Some(format!("{{pid={}, uid={}, gid={}}}", word(&b, 0)?, word(&b, 4)? as u32, word(&b, 8)? as u32))
        }),
        // IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP: struct ip_mreq (of an ip_mreqn too: strace
        // shows its first two fields)
        (0, 35 | 36, 8..) => {
            bytes().and_then(|b| Some(format!("{{imr_multiaddr={}, imr_interface={}}}", ipv4(&b, 0)?, ipv4(&b, 4)?)))
        }
        // PACKET_ADD_MEMBERSHIP, PACKET_DROP_MEMBERSHIP: struct packet_mreq
        (263, 1 | 2, 16) => bytes().and_then(|b| {
            let alen = usize::from(u16::from_ne_bytes([b[6], b[7]]));
            let address: Vec<String> = b[8..8 + alen.min(8)].iter().map(|x| format!("{x:02x}")).collect();
            Some(format!(
                "{{mr_ifindex={}, mr_type={}, mr_alen={alen}, mr_address={}}}",
                word(&b, 0)? as u32,
                names::packet_membership(u16::from_ne_bytes([b[4], b[5]])),
                address.join(":")
            ))
        }),
        // PACKET_RX_RING, PACKET_TX_RING: struct tpacket_req, or tpacket_req3
        (263, 5 | 13, 16 | 28) => bytes().and_then(|b| {
            let n = |at: usize| word(&b, at).map(|v| v as u32);
            let mut text = format!(
                "{{tp_block_size={}, tp_block_nr={}, tp_frame_size={}, tp_frame_nr={}",
                n(0)?,
                n(4)?,
                n(8)?,
                n(12)?
            );
            if size == 28 {
                let _ = std::fmt::Write::write_fmt(
                    &mut text,
                    format_args!(
                        ", tp_retire_blk_tov={}, tp_sizeof_priv={}, tp_feature_req_word={}",
                        n(16)?,
                        n(20)?,
                        n(24)?
                    ),
                );
            }
            text.push('}');
            Some(text)
        }),
        // TCP_CONGESTION: a name
        (6, 13, _) => Some(ctx.buffer(addr, size.min(16) as u64)),
        (_, _, 4) => ctx.int(addr).map(|v| format!("[{v}]")),
        _ => Some(ctx.buffer(addr, size as u64)),
    };
    decoded.unwrap_or_else(raw)
}

/// A `struct msghdr` (64-bit layout), with `data_len` bytes of its iovecs shown (what a
/// receive returned; `u64::MAX` for a send). `name_in`: a receive's msg_namelen at entry,
/// so that only the address bytes the kernel wrote are decoded.
fn msghdr(ctx: &mut Ctx<'_>, addr: u64, data_len: u64, name_in: Option<u32>) -> String {
    let Some(h) = read_mem(ctx.pid, addr, 56).filter(|b| b.len() == 56) else {
        return pointer(addr);
    };
    let word = |at: usize| u64::from_ne_bytes(h[at..at + 8].try_into().unwrap_or([0; 8]));
    let (name, namelen) = (word(0), u32::from_ne_bytes(h[8..12].try_into().unwrap_or([0; 4])));
    let (iov, iovlen, control, controllen) = (word(16), word(24), word(32), word(40));
    let flags = u32::from_ne_bytes(h[48..52].try_into().unwrap_or([0; 4]));
    let written = name_in.map_or(namelen, |before| before.min(namelen));
    let name_text = decode::sockaddr(ctx.pid, name, i32::try_from(written).unwrap_or(i32::MAX));
    // recvmsg fills msg_namelen in: `110 => 0`.
    let namelen_text = match name_in {
        Some(before) if before != namelen => format!("{before} => {namelen}"),
        _ => namelen.to_string(),
    };
    let mut left = data_len;
    let shown = iovlen.min(ctx.string_limit as u64);
    let mut iovs: Vec<String> = (0..shown)
        .map(|i| {
            let base = ctx.u64_at(iov.wrapping_add(i * 16)).unwrap_or(0);
            let len = ctx.u64_at(iov.wrapping_add(i * 16 + 8)).unwrap_or(0);
            let shown = len.min(left);
            left -= shown;
            format!("{{iov_base={}, iov_len={len}}}", ctx.buffer(base, shown))
        })
        .collect();
    if iovlen > shown {
        iovs.push("...".to_string());
    }
    let iov_text = if iov == 0 { "NULL".to_string() } else { format!("[{}]", iovs.join(", ")) };
    let mut out =
        format!("{{msg_name={name_text}, msg_namelen={namelen_text}, msg_iov={iov_text}, msg_iovlen={iovlen}");
    if controllen > 0 && control != 0 {
        out.push_str(&format!(", msg_control={}", cmsgs(ctx, control, controllen)));
    }
    out.push_str(&format!(", msg_controllen={controllen}, msg_flags={}}}", msg_flags(u64::from(flags))));
    out
}

/// The control messages of a msghdr in brackets (SCM_RIGHTS fds annotated,
/// SCM_CREDENTIALS), or the pointer when they cannot be read.
fn cmsgs(ctx: &mut Ctx<'_>, addr: u64, total: u64) -> String {
    match read_mem(ctx.pid, addr, usize::try_from(total.min(1 << 16)).unwrap_or(0)) {
        Some(b) => format!("[{}]", cmsgs_bytes(&b, ctx.string_limit, ctx.fd_text)),
        None => pointer(addr),
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
        // A length shorter than its header ends the list (the tracee's word, not trusted);
        // one longer than what was read shows what was, then `...`.
        let Some(end) = at.checked_add(len).filter(|_| len >= 16) else {
            break;
        };
        let cut = end > b.len();
        let data = &b[at + 16..end.min(b.len())];
        let (level_text, kind_text, data_text) = match (level, kind) {
            (1, 1) => {
                let mut fds: Vec<String> = data
                    .chunks_exact(4)
                    .take(string_limit)
                    .map(|c| fd_text(i64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))))
                    .collect();
                if data.len() / 4 > string_limit {
                    fds.push("...".to_string());
                }
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
            (1, _) => {
                ("SOL_SOCKET".to_string(), names::sockopt_name(1, kind as u32), cmsg_data(1, kind, data, string_limit))
            }
            (0, _) => {
                ("SOL_IP".to_string(), names::sockopt_name(0, kind as u32), cmsg_data(0, kind, data, string_limit))
            }
            _ => (names::sockopt_level(level as u32), kind.to_string(), decode::quoted(data, string_limit)),
        };
        out.push(format!("{{cmsg_len={len}, cmsg_level={level_text}, cmsg_type={kind_text}, cmsg_data={data_text}}}"));
        if cut {
            out.push("...".to_string());
            break;
        }
        // The next header is 8-byte aligned; past the end, the loop ends.
        match len.checked_add(7).and_then(|l| at.checked_add(l & !7)) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.join(", ")
}

/// A control message's data that strace decodes: timestamps (SO_TIMESTAMP_OLD: a timeval,
/// SO_TIMESTAMPNS_OLD: a timespec), IP_TTL (an int), IP_TOS (a byte), IP_PKTINFO; any other
/// as its bytes.
fn cmsg_data(level: i32, kind: i32, data: &[u8], string_limit: usize) -> String {
    let word = |at: usize| data.get(at..at + 8).and_then(|w| w.try_into().ok()).map(i64::from_ne_bytes);
    let int = |at: usize| data.get(at..at + 4).and_then(|w| w.try_into().ok()).map(i32::from_ne_bytes);
    let ipv4 = |at: usize| data.get(at..at + 4).map(|w| std::net::Ipv4Addr::new(w[0], w[1], w[2], w[3]));
    let decoded = match (level, kind, data.len()) {
        (1, 29, 16) => word(0).zip(word(8)).map(|(s, u)| format!("{{tv_sec={s}, tv_usec={u}}}")),
        (1, 35, 16) => word(0).zip(word(8)).map(|(s, n)| format!("{{tv_sec={s}, tv_nsec={n}}}")),
        (0, 2, 4) => int(0).map(|v| format!("[{v}]")),
        (0, 1, 1) => Some(format!("[{:#x}]", data[0])),
        (0, 8, 12) => match (int(0), ipv4(4), ipv4(8)) {
            (Some(ifindex), Some(spec), Some(addr)) => Some(format!(
                "{{ipi_ifindex={}, ipi_spec_dst=inet_addr(\"{spec}\"), ipi_addr=inet_addr(\"{addr}\")}}",
                ifindex as u32
            )),
            _ => None,
        },
        _ => None,
    };
    decoded.unwrap_or_else(|| decode::quoted(data, string_limit))
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

        /// A length past what was read shows what was read, then `...`, and ends the list.
        #[test]
        fn huge_lengths_end_the_list(len in (u64::MAX - 64)..=u64::MAX) {
            let mut b = len.to_ne_bytes().to_vec();
            b.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0]);
            let text = cmsgs_bytes(&b, 32, &mut |fd| fd.to_string());
            proptest::prop_assert!(text.ends_with("cmsg_data=[5]}, ..."), "{}", text);
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
