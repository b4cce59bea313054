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

const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_VFS: u32 = 0x02;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UDIAG_SHOW_UID: u32 = 0x40;
const PACKET_SHOW_INFO: u32 = 0x01;
const PACKET_SHOW_MEMINFO: u32 = 0x10;
const NDIAG_SHOW_MEMINFO: u32 = 0x01;
const NDIAG_PROTO_ALL: u8 = 0xff;
const NO_COOKIE: u32 = !0;

/// `struct inet_diag_req_v2` (56 bytes) asking for every socket of one family and protocol
/// in the given states. For raw sockets the pad byte is `sdiag_raw_protocol`; we ask for
/// IPPROTO_RAW and the kernel dumps raw sockets of every protocol.
pub fn inet(family: u8, protocol: u8, states: StateSet, ext: u8) -> Vec<u8> {
    let mut r = Vec::with_capacity(56);
    r.extend_from_slice(&[family, protocol, ext, if protocol == IPPROTO_RAW { IPPROTO_RAW } else { 0 }]);
    r.extend_from_slice(&states.0.to_ne_bytes());
    // inet_diag_sockid: ports, addresses and interface all zero (wildcards), no cookie.
    r.extend_from_slice(&[0u8; 40]);
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r
}

/// `struct unix_diag_req` (24 bytes): every Unix socket in the given states, with its name,
/// peer, queue lengths and uid.
pub fn unix(states: StateSet) -> Vec<u8> {
    let show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    let mut r = Vec::with_capacity(24);
    r.extend_from_slice(&[AF_UNIX, 0, 0, 0]);
    r.extend_from_slice(&states.0.to_ne_bytes());
    r.extend_from_slice(&0u32.to_ne_bytes()); // inode: all
    r.extend_from_slice(&show.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    r
}

/// `struct packet_diag_req` (20 bytes).
pub fn packet() -> Vec<u8> {
    same_layout_req(AF_PACKET, 0, PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO)
}

/// `struct netlink_diag_req` (20 bytes), every netlink protocol.
pub fn netlink() -> Vec<u8> {
    same_layout_req(AF_NETLINK, NDIAG_PROTO_ALL, NDIAG_SHOW_MEMINFO)
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
        assert_eq!(unix(StateSet::ALL).len(), 24);
        assert_eq!(packet().len(), 20);
        assert_eq!(netlink().len(), 20);
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
