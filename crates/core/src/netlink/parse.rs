//! sock_diag replies → `Socket`. Each function takes one message payload and reads it in
//! place; fields past the end of a short struct read as zero, unknown attributes are skipped.

use super::request::{AF_INET, AF_INET6};
use super::wire::{Attrs, align4, array, u8_at, u16_be, u16_ne, u32_ne, u64_ne};
use crate::model::{Endpoint, Family, Netid, SkMemInfo, SockState, Socket, TcpInfo, Timer, TimerKind, UnixName};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU64;

/// `struct inet_diag_msg` (linux/inet_diag.h): where each field starts.
const INET_DIAG_MSG_LEN: usize = 72;
mod inet_msg {
    pub const FAMILY: usize = 0;
    pub const STATE: usize = 1;
    pub const TIMER: usize = 2;
    pub const RETRANS: usize = 3;
    /// `id.idiag_sport` and `id.idiag_dport`, big-endian.
    pub const SPORT: usize = 4;
    pub const DPORT: usize = 6;
    /// `id.idiag_src[4]` and `id.idiag_dst[4]`: 16 bytes each, IPv4 in the first 4.
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const IF: usize = 40;
    /// `id.idiag_cookie[2]`: low word first.
    pub const COOKIE: usize = 44;
    pub const EXPIRES: usize = 52;
    pub const RQUEUE: usize = 56;
    pub const WQUEUE: usize = 60;
    pub const UID: usize = 64;
    pub const INODE: usize = 68;
}
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_CONG: u16 = 4;
const INET_DIAG_VEGASINFO: u16 = 3;
const INET_DIAG_DCTCPINFO: u16 = 9;
const INET_DIAG_BBRINFO: u16 = 16;
const INET_DIAG_TOS: u16 = 5;
const INET_DIAG_TCLASS: u16 = 6;
const INET_DIAG_SKMEMINFO: u16 = 7;
const INET_DIAG_SHUTDOWN: u16 = 8;
const INET_DIAG_PROTOCOL: u16 = 10;
const INET_DIAG_SKV6ONLY: u16 = 11;
const INET_DIAG_MARK: u16 = 15;
const INET_DIAG_CLASS_ID: u16 = 17;
const INET_DIAG_CGROUP_ID: u16 = 21;
const INET_DIAG_ULP_INFO: u16 = 19;
const INET_DIAG_SOCKOPT: u16 = 22;
/// INET_ULP_INFO_*: nested in INET_DIAG_ULP_INFO.
const INET_ULP_INFO_NAME: u16 = 1;
const INET_ULP_INFO_MPTCP: u16 = 3;

const UNIX_DIAG_MSG_LEN: usize = 16;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_VFS: u16 = 1;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_ICONS: u16 = 3;
const UNIX_DIAG_RQLEN: u16 = 4;
const UNIX_DIAG_MEMINFO: u16 = 5;
const UNIX_DIAG_SHUTDOWN: u16 = 6;
const UNIX_DIAG_UID: u16 = 7;

const PACKET_DIAG_MSG_LEN: usize = 16;
const PACKET_DIAG_INFO: u16 = 0;
const PACKET_DIAG_FANOUT: u16 = 4;
const PACKET_DIAG_UID: u16 = 5;
const PACKET_DIAG_MEMINFO: u16 = 6;

const NETLINK_DIAG_MSG_LEN: usize = 28;
const NETLINK_DIAG_MEMINFO: u16 = 0;
const NETLINK_DIAG_GROUPS: u16 = 1;

const SK_MEMINFO_RMEM_ALLOC: usize = 0;
const SK_MEMINFO_WMEM_ALLOC: usize = 2;

/// An `inet_diag_msg` from a TCP, UDP or raw dump. `None` for a family we did not ask for
/// or a payload too short to hold the header fields that identify a socket.
/// The INET_DIAG_SOCKOPT attribute of an inet_diag message: struct inet_diag_sockopt, two
/// bytes of one-bit fields, the first declared in the lowest bit (as C lays bitfields out on
/// little-endian machines). Read apart from `inet`: the kernel sends it for every socket,
/// and it is kept only when asked for.
pub fn inet_sockopt(payload: &[u8]) -> Option<u16> {
    Attrs::new(payload.get(align4(INET_DIAG_MSG_LEN)..)?)
        .find(|(kind, data)| *kind == INET_DIAG_SOCKOPT && data.len() >= 2)
        .map(|(_, data)| u16::from_le_bytes([data[0], data[1]]))
}

pub fn inet(payload: &[u8], netid: Netid) -> Option<Socket> {
    // Identity needs at least family, state and the socket id.
    if payload.len() < 52 {
        return None;
    }
    let family = match payload[inet_msg::FAMILY] {
        AF_INET => Family::Inet,
        AF_INET6 => Family::Inet6,
        _ => return None,
    };
    let ip = |off: usize| -> IpAddr {
        if family == Family::Inet {
            IpAddr::V4(Ipv4Addr::from(array::<4>(payload, off)))
        } else {
            IpAddr::V6(Ipv6Addr::from(array::<16>(payload, off)))
        }
    };
    use inet_msg as m;
    let local = Endpoint::Inet { address: ip(m::SRC), port: u16_be(payload, m::SPORT) };
    let peer = Endpoint::Inet { address: ip(m::DST), port: u16_be(payload, m::DPORT) };
    let mut s = Socket::new(netid, family, SockState::from_kernel(payload[m::STATE]), local, peer);
    s.interface = u32_ne(payload, m::IF);
    s.cookie = cookie_at(payload, m::COOKIE);
    s.recv_q = u32_ne(payload, m::RQUEUE);
    s.send_q = Some(u32_ne(payload, m::WQUEUE));
    s.uid = Some(u32_ne(payload, m::UID));
    s.inode = u64::from(u32_ne(payload, m::INODE));
    s.timer = TimerKind::from_kernel(payload[m::TIMER]).map(|kind| Timer {
        kind,
        expires_ms: u32_ne(payload, m::EXPIRES),
        retransmits: payload[m::RETRANS],
    });
    for (kind, data) in Attrs::new(payload.get(align4(INET_DIAG_MSG_LEN)..).unwrap_or(&[])) {
        match kind {
            INET_DIAG_SHUTDOWN => s.shutdown = Some(u8_at(data, 0)),
            INET_DIAG_MARK => s.mark = Some(u32_ne(data, 0)),
            INET_DIAG_CGROUP_ID => s.cgroup_id = NonZeroU64::new(u64_ne(data, 0)),
            INET_DIAG_INFO if netid == Netid::Tcp && !data.is_empty() => {
                s.details_mut().tcp_info = Some(TcpInfo::parse(data))
            }
            INET_DIAG_INFO if netid == Netid::Mptcp && !data.is_empty() => {
                s.details_mut().extra_mut().mptcp = Some(crate::model::MptcpInfo::parse(data))
            }
            INET_DIAG_ULP_INFO if netid == Netid::Tcp => {
                if let Some(ulp) = ulp_info(data) {
                    s.details_mut().extra_mut().ulp = Some(Box::new(ulp));
                }
            }
            INET_DIAG_CONG => {
                let name = data.split(|b| *b == 0).next().unwrap_or(&[]);
                s.details_mut().extra_mut().congestion = Some(shared_name(name));
            }
            // struct tcpvegas_info { enabled, rttcnt, rtt, minrtt }: ss takes Vegas's RTT
            // for the send rate when Vegas runs.
            INET_DIAG_VEGASINFO if data.len() >= 16 && u32_ne(data, 0) != 0 => {
                s.details_mut().extra_mut().vegas_rtt_us = Some(u32_ne(data, 8));
            }
            // struct tcp_dctcp_info { u16 enabled, u16 ce_state, alpha, ab_ecn, ab_tot }
            INET_DIAG_DCTCPINFO if data.len() >= 16 => {
                let enabled = u16::from_ne_bytes([data[0], data[1]]) != 0;
                s.details_mut().extra_mut().dctcp = Some(crate::model::DctcpInfo {
                    enabled,
                    ce_state: u16::from_ne_bytes([data[2], data[3]]),
                    alpha: u32_ne(data, 4),
                    ab_ecn: u32_ne(data, 8),
                    ab_tot: u32_ne(data, 12),
                });
            }
            // struct tcp_bbr_info { bw_lo, bw_hi, min_rtt, pacing_gain, cwnd_gain }
            INET_DIAG_BBRINFO if data.len() >= 20 => {
                s.details_mut().extra_mut().bbr = Some(crate::model::BbrInfo {
                    bw_bytes_per_s: u64::from(u32_ne(data, 0)) | (u64::from(u32_ne(data, 4)) << 32),
                    min_rtt_us: u32_ne(data, 8),
                    pacing_gain: u32_ne(data, 12),
                    cwnd_gain: u32_ne(data, 16),
                });
            }
            INET_DIAG_TOS => s.details_mut().extra_mut().tos = Some(u8_at(data, 0)),
            INET_DIAG_TCLASS => s.details_mut().extra_mut().tclass = Some(u8_at(data, 0)),
            INET_DIAG_CLASS_ID => s.details_mut().extra_mut().class_id = Some(u32_ne(data, 0)),
            INET_DIAG_SKMEMINFO => s.details_mut().memory = Some(Box::new(meminfo(data))),
            INET_DIAG_SKV6ONLY => s.v6only = Some(u8_at(data, 0) != 0),
            INET_DIAG_PROTOCOL if netid == Netid::Raw && s.local.port() == Some(0) => {
                if let Endpoint::Inet { port, .. } = &mut s.local {
                    *port = u16::from(u8_at(data, 0));
                }
            }
            _ => {}
        }
    }
    Some(s)
}

/// INET_DIAG_ULP_INFO: the upper layer's name and, for an MPTCP subflow, its state
/// (MPTCP_SUBFLOW_ATTR_*, linux/mptcp_pm.h). None without a name.
fn ulp_info(data: &[u8]) -> Option<crate::model::Ulp> {
    let mut name = None;
    let mut mptcp = None;
    for (kind, value) in Attrs::new(data) {
        match kind {
            INET_ULP_INFO_NAME => name = Some(shared_name(value.split(|b| *b == 0).next().unwrap_or(&[]))),
            INET_ULP_INFO_MPTCP => mptcp = Some(subflow(value)),
            _ => {}
        }
    }
    Some(crate::model::Ulp { name: name?, mptcp })
}

fn subflow(data: &[u8]) -> crate::model::Subflow {
    let mut f = crate::model::Subflow::default();
    // The kernel puts MAP_DATALEN as a u16; read each by the length it came with.
    let u32_of = |v: &[u8]| match v.len() {
        2 | 3 => Some(u32::from(u16_ne(v, 0))),
        n if n >= 4 => Some(u32_ne(v, 0)),
        _ => None,
    };
    for (kind, v) in Attrs::new(data) {
        match kind {
            1 => f.token_remote = u32_of(v),
            2 => f.token_local = u32_of(v),
            4 => f.map_seq = (v.len() >= 8).then(|| u64_ne(v, 0)),
            5 => f.map_sfseq = u32_of(v),
            6 => f.ssn_offset = u32_of(v),
            7 => f.map_datalen = u32_of(v),
            8 => f.flags = u32_of(v),
            9 => f.id_remote = v.first().copied(),
            10 => f.id_local = v.first().copied(),
            _ => {}
        }
    }
    f
}

/// A congestion control or upper layer name, shared: a dump names the same few 100k times.
fn shared_name(raw: &[u8]) -> std::sync::Arc<str> {
    thread_local! {
        static NAMES: std::cell::RefCell<Vec<std::sync::Arc<str>>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let text = crate::model::lossless_text(raw);
    NAMES.with(|n| {
        let mut names = n.borrow_mut();
        if let Some(found) = names.iter().find(|x| ***x == *text) {
            return found.clone();
        }
        let name: std::sync::Arc<str> = text.into();
        if names.len() < 64 {
            names.push(name.clone());
        }
        name
    })
}

/// A socket cookie: two native u32 words, the low one first; 0 means none.
fn cookie_at(payload: &[u8], off: usize) -> Option<NonZeroU64> {
    NonZeroU64::new(u64::from(u32_ne(payload, off)) | (u64::from(u32_ne(payload, off + 4)) << 32))
}

/// A `unix_diag_msg`: family, type, state, pad, ino (4), cookie (8).
pub fn unix(payload: &[u8]) -> Option<Socket> {
    if payload.len() < 8 {
        return None;
    }
    let netid = match payload[1] /* udiag_type */ {
        1 => Netid::UnixStream,
        2 => Netid::UnixDgram,
        5 => Netid::UnixSeqpacket,
        _ => return None,
    };
    let inode = u64::from(u32_ne(payload, 4));
    let mut name = None;
    let mut peer_inode = 0u64;
    let mut queues = None;
    let mut uid = None;
    let mut shutdown = None;
    let mut memory = None;
    let mut file = None;
    let mut pending = None;
    for (kind, data) in Attrs::new(payload.get(align4(UNIX_DIAG_MSG_LEN)..).unwrap_or(&[])) {
        match kind {
            // struct unix_diag_vfs { udiag_vfs_ino, udiag_vfs_dev }
            UNIX_DIAG_VFS if data.len() >= 8 => {
                file = Some(crate::model::BoundFile { inode: u32_ne(data, 0), device: u32_ne(data, 4) });
            }
            UNIX_DIAG_ICONS => {
                pending = Some(data.chunks_exact(4).map(|c| u32_ne(c, 0)).collect::<Box<[u32]>>());
            }
            UNIX_DIAG_NAME => name = UnixName::from_raw(data),
            UNIX_DIAG_PEER => peer_inode = u64::from(u32_ne(data, 0)),
            UNIX_DIAG_RQLEN => queues = Some((u32_ne(data, 0), u32_ne(data, 4))),
            UNIX_DIAG_UID => uid = Some(u32_ne(data, 0)),
            UNIX_DIAG_SHUTDOWN => shutdown = Some(u8_at(data, 0)),
            UNIX_DIAG_MEMINFO => memory = Some(meminfo(data)),
            _ => {}
        }
    }
    let local = Endpoint::Unix { name: name.map(Box::new), inode };
    let peer = Endpoint::Unix { name: None, inode: peer_inode };
    let mut s = Socket::new(netid, Family::Unix, SockState::from_kernel(payload[2]), local, peer);
    s.inode = inode;
    s.cookie = cookie_at(payload, 8); // udiag_cookie / pdiag_cookie
    let (rq, wq) = queues.unwrap_or((0, 0));
    s.recv_q = rq;
    s.send_q = Some(wq);
    s.uid = uid;
    s.shutdown = shutdown;
    if memory.is_some() {
        s.details_mut().memory = memory.map(Box::new);
    }
    if file.is_some() || pending.is_some() {
        let e = s.details_mut().extra_mut();
        e.bound_file = file;
        e.pending = pending;
    }
    Some(s)
}

/// A `packet_diag_msg`.
pub fn packet(payload: &[u8]) -> Option<Socket> {
    if payload.len() < 8 {
        return None;
    }
    let netid = match payload[1] {
        3 => Netid::PacketRaw,
        2 => Netid::PacketDgram,
        _ => return None,
    };
    let protocol = u16_ne(payload, 2);
    let inode = u64::from(u32_ne(payload, 4));
    let mut s = Socket::new(
        netid,
        Family::Packet,
        SockState::Close,
        Endpoint::Packet { protocol, interface: 0 },
        Endpoint::None,
    );
    s.inode = inode;
    s.cookie = cookie_at(payload, 8); // udiag_cookie / pdiag_cookie
    for (kind, data) in Attrs::new(payload.get(align4(PACKET_DIAG_MSG_LEN)..).unwrap_or(&[])) {
        match kind {
            // struct packet_diag_info { index, version, reserve, copy_thresh, tstamp, flags }
            PACKET_DIAG_INFO => {
                let ifindex = u32_ne(data, 0);
                s.local = Endpoint::Packet { protocol, interface: ifindex };
                s.interface = ifindex;
                if data.len() >= 24 {
                    s.details_mut().extra_mut().packet = Some(crate::model::PacketInfo {
                        version: u32_ne(data, 4),
                        copy_thresh: u32_ne(data, 12),
                        flags: u32_ne(data, 20),
                        fanout: None,
                    });
                }
            }
            // u32: the group id in the low 16 bits, the type above.
            PACKET_DIAG_FANOUT if data.len() >= 4 => {
                if let Some(p) = s.details_mut().extra_mut().packet.as_mut() {
                    p.fanout = Some(u32_ne(data, 0));
                }
            }
            PACKET_DIAG_UID => s.uid = Some(u32_ne(data, 0)),
            PACKET_DIAG_MEMINFO => set_queues_from_meminfo(&mut s, data),
            _ => {}
        }
    }
    Some(s)
}

/// A `netlink_diag_msg`.
pub fn netlink(payload: &[u8]) -> Option<Socket> {
    if payload.len() < 20 {
        return None;
    }
    let protocol = payload[2];
    let state = if payload[3] == 1 { SockState::Established } else { SockState::Close };
    let local = Endpoint::Netlink { protocol, port_id: u32_ne(payload, 4), group: 0 };
    let peer = Endpoint::Netlink { protocol, port_id: u32_ne(payload, 8), group: u32_ne(payload, 12) };
    let mut s = Socket::new(Netid::Netlink, Family::Netlink, state, local, peer);
    s.inode = u64::from(u32_ne(payload, 16));
    s.cookie = cookie_at(payload, 20); // ndiag_cookie
    for (kind, data) in Attrs::new(payload.get(align4(NETLINK_DIAG_MSG_LEN)..).unwrap_or(&[])) {
        match kind {
            NETLINK_DIAG_MEMINFO => set_queues_from_meminfo(&mut s, data),
            // The multicast groups it listens to, a bitmap (ss shows the first word).
            NETLINK_DIAG_GROUPS if data.len() >= 4 => {
                s.details_mut().extra_mut().netlink_groups = Some(u32_ne(data, 0))
            }
            _ => {}
        }
    }
    Some(s)
}

/// ss shows rmem_alloc / wmem_alloc from skmeminfo as the queues of packet and netlink
/// sockets (whose memory is always fetched for that), so the memory details come along.
fn set_queues_from_meminfo(s: &mut Socket, data: &[u8]) {
    s.recv_q = u32_ne(data, SK_MEMINFO_RMEM_ALLOC * 4);
    s.send_q = Some(u32_ne(data, SK_MEMINFO_WMEM_ALLOC * 4));
    s.details_mut().memory = Some(Box::new(meminfo(data)));
}

/// `u32 skmeminfo[SK_MEMINFO_VARS]`; `drops` exists since Linux 4.x.
pub fn meminfo(data: &[u8]) -> SkMemInfo {
    let at = |i: usize| u32_ne(data, i * 4);
    SkMemInfo {
        rmem_alloc: at(0),
        rcvbuf: at(1),
        wmem_alloc: at(2),
        sndbuf: at(3),
        fwd_alloc: at(4),
        wmem_queued: at(5),
        optmem: at(6),
        backlog: at(7),
        drops: (data.len() >= 36).then(|| at(8)),
    }
}

/// A recorded reply (a capture asks for every extension), parsed as the reply to a live
/// dump asking for `ext` would be: the attributes that dump would not have carried are
/// skipped, and with `vitals` alone tcp_info is cut to its vitals. `table` is the dumped
/// table's netid (any Unix one for the Unix table); `scratch` holds the trimmed copy.
pub fn recorded(
    payload: &[u8],
    table: Netid,
    ext: super::request::Extensions,
    scratch: &mut Vec<u8>,
) -> Option<Socket> {
    let vitals_only = ext.vitals && !ext.tcp_info;
    let (head, asked): (usize, &dyn Fn(u16) -> bool) = match table {
        Netid::Tcp | Netid::Udp | Netid::Raw | Netid::Mptcp => (INET_DIAG_MSG_LEN, &|kind| match kind {
            INET_DIAG_INFO => ext.tcp_info || (ext.vitals && table == Netid::Tcp),
            INET_DIAG_CONG | INET_DIAG_VEGASINFO | INET_DIAG_DCTCPINFO | INET_DIAG_BBRINFO | INET_DIAG_ULP_INFO => {
                ext.tcp_info
            }
            INET_DIAG_TOS | INET_DIAG_TCLASS | INET_DIAG_CLASS_ID => ext.tos,
            INET_DIAG_SKMEMINFO => ext.memory || (ext.vitals && table != Netid::Tcp),
            // INET_DIAG_MEMINFO: never asked for.
            1 => false,
            _ => true,
        }),
        Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket => (UNIX_DIAG_MSG_LEN, &|kind| match kind {
            UNIX_DIAG_MEMINFO => ext.memory,
            UNIX_DIAG_VFS | UNIX_DIAG_ICONS => ext.extended,
            _ => true,
        }),
        Netid::PacketRaw | Netid::PacketDgram => {
            (PACKET_DIAG_MSG_LEN, &|kind| kind != PACKET_DIAG_FANOUT || ext.extended)
        }
        Netid::Netlink => (NETLINK_DIAG_MSG_LEN, &|kind| kind != NETLINK_DIAG_GROUPS || ext.extended),
    };
    let head = align4(head).min(payload.len());
    scratch.clear();
    scratch.extend_from_slice(&payload[..head]);
    let mut rest = &payload[head..];
    while rest.len() >= 4 {
        let len = usize::from(u16_ne(rest, 0));
        if len < 4 || len > rest.len() {
            break;
        }
        let whole = align4(len).min(rest.len());
        if asked(u16_ne(rest, 2) & 0x3fff) {
            scratch.extend_from_slice(&rest[..whole]);
        }
        rest = &rest[whole..];
    }
    let mut s = match table {
        Netid::Tcp | Netid::Udp | Netid::Raw | Netid::Mptcp => inet(scratch, table)?,
        Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket => unix(scratch)?,
        Netid::PacketRaw | Netid::PacketDgram => packet(scratch)?,
        Netid::Netlink => netlink(scratch)?,
    };
    if vitals_only {
        s.keep_vitals_only();
    }
    Some(s)
}

#[cfg(test)]
pub(crate) mod tests;
