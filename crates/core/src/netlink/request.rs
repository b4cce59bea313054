//! sock_diag dump requests, one per kernel table (uapi: linux/inet_diag.h, unix_diag.h,
//! packet_diag.h, netlink_diag.h).

use crate::model::StateSet;

pub const AF_UNIX: u8 = 1;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const AF_NETLINK: u8 = 16;
pub const AF_PACKET: u8 = 17;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_RAW: u8 = 255;
/// Above 255: asked for with the INET_DIAG_REQ_PROTOCOL attribute (Linux 5.7+).
pub const IPPROTO_MPTCP: u16 = 262;

const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_VFS: u32 = 0x02;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UDIAG_SHOW_ICONS: u32 = 0x08;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UDIAG_SHOW_MEMINFO: u32 = 0x20;
const UDIAG_SHOW_UID: u32 = 0x40;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_REQ_PROTOCOL: u16 = 3;

/// What to ask the kernel for beyond the basic socket line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// skmeminfo (-m)
    pub memory: bool,
    /// tcp_info and the congestion control name (-i)
    pub tcp_info: bool,
    /// TOS / traffic class / class id (--tos)
    pub tos: bool,
    /// Only the few tcp_info numbers diagnosis reads (`TcpVitals`), and memory counters only
    /// for datagram sockets (their drops): what a host-wide diagnosis keeps of 200k
    /// connections without 300 bytes each.
    pub vitals: bool,
    /// What `-e` shows beyond the basics: Unix sockets' bound file and a listener's pending
    /// connections, packet sockets' fanout group, netlink sockets' multicast groups
    pub extended: bool,
    /// The kernel's view of inet sockets' options (--inet-sockopt; sent whatever is asked)
    pub inet_sockopt: bool,
}

impl Extensions {
    /// The `idiag_ext` bit mask for one table: bit N-1 asks for attribute N.
    pub fn inet_ext_for(self, netid: crate::model::Netid) -> u8 {
        const INFO: u8 = 1 << (2 - 1);
        const SKMEMINFO: u8 = 1 << (7 - 1);
        let mut ext = self.inet_ext();
        if self.vitals {
            if netid == crate::model::Netid::Tcp {
                ext |= INFO;
            } else {
                ext |= SKMEMINFO;
            }
        }
        ext
    }

    /// The `idiag_ext` bit mask: bit N-1 asks for attribute N.
    pub fn inet_ext(self) -> u8 {
        const INFO: u8 = 1 << (2 - 1);
        const CONG: u8 = 1 << (4 - 1);
        // INET_DIAG_VEGASINFO: the congestion control's own attribute (BBR's, DCTCP's, Vegas's).
        const CC_INFO: u8 = 1 << (3 - 1);
        const TOS: u8 = 1 << (5 - 1);
        const TCLASS: u8 = 1 << (6 - 1);
        const SKMEMINFO: u8 = 1 << (7 - 1);
        let mut ext = 0;
        if self.memory {
            ext |= SKMEMINFO;
        }
        if self.tcp_info {
            ext |= INFO | CONG | CC_INFO;
        }
        if self.tos {
            ext |= TOS | TCLASS;
        }
        ext
    }
}
const PACKET_SHOW_INFO: u32 = 0x01;
const PACKET_SHOW_MEMINFO: u32 = 0x10;
/// linux/packet_diag.h: 0x08 (0x20 is PACKET_SHOW_FILTER, which asked for the BPF filter
/// instead, so no fanout ever came).
const PACKET_SHOW_FANOUT: u32 = 0x08;
const NDIAG_SHOW_MEMINFO: u32 = 0x01;
const NDIAG_SHOW_GROUPS: u32 = 0x02;
const NDIAG_PROTO_ALL: u8 = 0xff;
const NO_COOKIE: u32 = !0;

/// `struct inet_diag_req_v2` (56 bytes) asking for every socket of one family and protocol
/// in the given states. For raw sockets the pad byte is `sdiag_raw_protocol`; we ask for
/// IPPROTO_RAW and the kernel dumps raw sockets of every protocol.
pub fn inet(family: u8, protocol: u8, states: StateSet, ext: u8) -> Vec<u8> {
    let mut r = Vec::with_capacity(56);
    inet_head(&mut r, family, protocol, states, ext);
    r
}

/// The same, with a filter program the kernel runs on each socket
/// (`INET_DIAG_REQ_BYTECODE`, see `filter::bytecode`). `None` when the program is too long
/// for the attribute's 16-bit length: it is never truncated.
pub fn inet_with_bytecode(family: u8, protocol: u8, states: StateSet, ext: u8, code: &[u8]) -> Option<Vec<u8>> {
    inet_any(family, u16::from(protocol), states, ext, Some(code))
}

/// A request for any inet protocol, those above 255 (MPTCP) included: their number goes in
/// an INET_DIAG_REQ_PROTOCOL attribute (the header's byte keeps its low 8 bits, as ss
/// sends it). `None` when the program is too long for its attribute.
pub fn inet_any(family: u8, protocol: u16, states: StateSet, ext: u8, code: Option<&[u8]>) -> Option<Vec<u8>> {
    let code_len = code.map_or(0, |c| c.len() + 4);
    let mut r = Vec::with_capacity(56 + code_len + 8);
    inet_head(&mut r, family, protocol.to_le_bytes()[0], states, ext);
    if let Some(code) = code {
        push_bytecode(&mut r, code)?;
    }
    if protocol > 255 {
        r.extend_from_slice(&8u16.to_ne_bytes());
        r.extend_from_slice(&INET_DIAG_REQ_PROTOCOL.to_ne_bytes());
        r.extend_from_slice(&u32::from(protocol).to_ne_bytes());
    }
    Some(r)
}

fn inet_head(r: &mut Vec<u8>, family: u8, protocol: u8, states: StateSet, ext: u8) {
    r.extend_from_slice(&[family, protocol, ext, if protocol == IPPROTO_RAW { IPPROTO_RAW } else { 0 }]);
    r.extend_from_slice(&states.0.to_ne_bytes());
    // inet_diag_sockid: ports, addresses and interface all zero (wildcards), no cookie.
    r.extend_from_slice(&[0u8; 40]);
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
}

/// `struct inet_diag_req` (60 bytes), the request of the older TCPDIAG_GETSOCK interface:
/// the kernel answers it with the sockets of both IP families in one walk of its tables
/// (`inet_diag_dump_compat` asks for AF_UNSPEC), where the newer request takes one walk per
/// family. With many namespaces those walks are most of the time: every namespace's dump
/// walks the whole host's established table. The program, if any, follows as with `inet`.
pub fn tcp_both_families(states: StateSet, ext: u8, code: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut r = Vec::with_capacity(60 + code.map_or(0, |c| c.len() + 4));
    // family (ignored: AF_UNSPEC), source and destination prefix lengths, extensions
    r.extend_from_slice(&[AF_INET, 0, 0, ext]);
    // inet_diag_sockid: all wildcards, no cookie
    r.extend_from_slice(&[0u8; 40]);
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&states.0.to_ne_bytes());
    r.extend_from_slice(&0u32.to_ne_bytes()); // idiag_dbs, unused
    if let Some(code) = code {
        push_bytecode(&mut r, code)?;
    }
    Some(r)
}

/// Appends the filter program as an INET_DIAG_REQ_BYTECODE attribute; None when it is too
/// long for the attribute's 16-bit length (it is never truncated).
fn push_bytecode(r: &mut Vec<u8>, code: &[u8]) -> Option<()> {
    let attr_len = u16::try_from(code.len() + 4).ok()?;
    r.extend_from_slice(&attr_len.to_ne_bytes());
    r.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    r.extend_from_slice(code);
    r.resize(super::wire::align4(r.len()), 0);
    Some(())
}

/// A SOCK_DESTROY request naming exactly one inet socket: family, protocol and the full
/// `inet_diag_sockid` (ports, addresses, interface, cookie) as the dump reported it.
pub fn destroy(s: &crate::model::Socket) -> Option<Vec<u8>> {
    use crate::model::{Endpoint, Netid};
    let protocol = match s.netid {
        Netid::Tcp => IPPROTO_TCP,
        Netid::Udp => IPPROTO_UDP,
        Netid::Raw => IPPROTO_RAW,
        _ => return None,
    };
    let (Endpoint::Inet { address: la, port: lp }, Endpoint::Inet { address: pa, port: pp }) = (&s.local, &s.peer)
    else {
        return None;
    };
    let family = if la.is_ipv4() { AF_INET } else { AF_INET6 };
    let addr = |a: &std::net::IpAddr| -> [u8; 16] {
        let mut b = [0u8; 16];
        match a {
            std::net::IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
            std::net::IpAddr::V6(v6) => b.copy_from_slice(&v6.octets()),
        }
        b
    };
    let cookie = s.cookie?.get();
    let mut r = Vec::with_capacity(56);
    // For raw sockets the pad byte names the protocol (the local "port").
    let raw_protocol = if protocol == IPPROTO_RAW { *lp as u8 } else { 0 };
    r.extend_from_slice(&[family, protocol, 0, raw_protocol]);
    r.extend_from_slice(&s.state.bit().to_ne_bytes());
    let (sport, dport) = if protocol == IPPROTO_RAW { (0u16, 0u16) } else { (*lp, *pp) };
    r.extend_from_slice(&sport.to_be_bytes());
    r.extend_from_slice(&dport.to_be_bytes());
    r.extend_from_slice(&addr(la));
    r.extend_from_slice(&addr(pa));
    r.extend_from_slice(&s.interface.to_ne_bytes());
    r.extend_from_slice(&(cookie as u32).to_ne_bytes());
    r.extend_from_slice(&((cookie >> 32) as u32).to_ne_bytes());
    Some(r)
}

/// `struct unix_diag_req` (24 bytes): every Unix socket in the given states, with its name,
/// peer, queue lengths and uid, and what `ext` asks for.
pub fn unix(states: StateSet, ext: Extensions) -> Vec<u8> {
    let mut show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    if ext.memory {
        show |= UDIAG_SHOW_MEMINFO;
    }
    if ext.extended {
        show |= UDIAG_SHOW_VFS | UDIAG_SHOW_ICONS;
    }
    let mut r = Vec::with_capacity(24);
    r.extend_from_slice(&[AF_UNIX, 0, 0, 0]);
    r.extend_from_slice(&states.0.to_ne_bytes());
    r.extend_from_slice(&0u32.to_ne_bytes()); // inode: all
    r.extend_from_slice(&show.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r
}

/// `struct unix_diag_req` for one socket by inode (an exact lookup, not a dump): its name and
/// peer.
pub fn unix_one(inode: u32) -> Vec<u8> {
    let mut r = Vec::with_capacity(24);
    r.extend_from_slice(&[AF_UNIX, 0, 0, 0]);
    r.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    r.extend_from_slice(&inode.to_ne_bytes());
    r.extend_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER).to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r
}

/// `struct packet_diag_req` (20 bytes).
pub fn packet(ext: Extensions) -> Vec<u8> {
    let fanout = if ext.extended { PACKET_SHOW_FANOUT } else { 0 };
    same_layout_req(AF_PACKET, 0, PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO | fanout)
}

/// `struct netlink_diag_req` (20 bytes), every netlink protocol.
pub fn netlink(ext: Extensions) -> Vec<u8> {
    let groups = if ext.extended { NDIAG_SHOW_GROUPS } else { 0 };
    same_layout_req(AF_NETLINK, NDIAG_PROTO_ALL, NDIAG_SHOW_MEMINFO | groups)
}

/// packet_diag_req and netlink_diag_req share one layout: family, protocol, pad, ino, show,
/// cookie[2].
fn same_layout_req(family: u8, protocol: u8, show: u32) -> Vec<u8> {
    let mut r = Vec::with_capacity(20);
    r.extend_from_slice(&[family, protocol, 0, 0]);
    r.extend_from_slice(&0u32.to_ne_bytes());
    r.extend_from_slice(&show.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_sizes_match_the_uapi_structs() {
        assert_eq!(inet(AF_INET, IPPROTO_TCP, StateSet::ALL, 0).len(), 56);
        assert_eq!(unix(StateSet::ALL, Extensions { memory: true, extended: true, ..Extensions::default() }).len(), 24);
        assert_eq!(
            inet_with_bytecode(AF_INET, IPPROTO_TCP, StateSet::ALL, 0, &[1, 4, 8, 0, 0, 0]).map(|r| r.len()),
            Some(56 + 4 + 8)
        );
        assert_eq!(packet(Extensions::default()).len(), 20);
        assert_eq!(tcp_both_families(StateSet::ALL, 0, None).map(|r| r.len()), Some(60));
        assert_eq!(netlink(Extensions { extended: true, ..Extensions::default() }).len(), 20);
    }

    #[test]
    fn a_program_too_long_for_the_attribute_is_refused_not_truncated() {
        let long = vec![0u8; usize::from(u16::MAX)];
        assert_eq!(inet_with_bytecode(AF_INET, IPPROTO_TCP, StateSet::ALL, 0, &long), None);
        let longest = vec![0u8; usize::from(u16::MAX) - 4];
        assert!(inet_with_bytecode(AF_INET, IPPROTO_TCP, StateSet::ALL, 0, &longest).is_some());
    }

    #[test]
    fn raw_requests_carry_the_raw_protocol_in_the_pad_byte() {
        let r = inet(AF_INET6, IPPROTO_RAW, StateSet::ALL, 0);
        assert_eq!(&r[..4], &[AF_INET6, IPPROTO_RAW, 0, IPPROTO_RAW]);
        let t = inet(AF_INET, IPPROTO_TCP, StateSet(0x400), 0);
        assert_eq!(t[3], 0);
        assert_eq!(u32::from_ne_bytes([t[4], t[5], t[6], t[7]]), 0x400);
    }
}
