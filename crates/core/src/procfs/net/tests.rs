//! /proc/net parsers on files captured from a real kernel, at the same moment as the
//! sock_diag fixtures, so the two readers can be compared on identical sockets.

use super::*;
use crate::model::{Endpoint, SockState};
use crate::netlink::parse;
use proptest::prelude::*;

const TCP: &str = include_str!("../../../tests/fixtures/proc_net_tcp");
const TCP6: &str = include_str!("../../../tests/fixtures/proc_net_tcp6");
const UDP: &str = include_str!("../../../tests/fixtures/proc_net_udp");
const UNIX: &str = include_str!("../../../tests/fixtures/proc_net_unix");
const PACKET: &str = include_str!("../../../tests/fixtures/proc_net_packet");
const NETLINK: &str = include_str!("../../../tests/fixtures/proc_net_netlink");

use crate::netlink::parse::tests::records;

/// What both readers must agree on.
fn identity(v: &[Socket]) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|s| format!("{:?} {:?} {:?} {:?} {} {:?}", s.netid, s.state, s.local, s.peer, s.inode, s.uid))
        .collect();
    out.sort();
    out
}

#[test]
fn tcp_files_match_the_netlink_capture() {
    let proc4 = parse_file("tcp", Family::Inet, TCP).expect("parses");
    let nl4: Vec<Socket> = records(include_bytes!("../../../tests/fixtures/tcp4.netlink"))
        .iter()
        .filter_map(|r| parse::inet(r, Netid::Tcp))
        .collect();
    assert_eq!(identity(&proc4), identity(&nl4));
    let proc6 = parse_file("tcp6", Family::Inet6, TCP6).expect("parses");
    let nl6: Vec<Socket> = records(include_bytes!("../../../tests/fixtures/tcp6.netlink"))
        .iter()
        .filter_map(|r| parse::inet(r, Netid::Tcp))
        .collect();
    assert_eq!(identity(&proc6), identity(&nl6));
    // A listener's backlog is not in /proc: unknown, not zero.
    let l = proc4.iter().find(|s| s.state == SockState::Listen).expect("listener");
    assert_eq!(l.send_q, None);
    // Queues that /proc does have agree.
    let est = |v: &[Socket]| {
        v.iter()
            .filter(|s| s.state == SockState::Established)
            .map(|s| (s.inode, s.recv_q))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(est(&proc4), est(&nl4));
}

#[test]
fn udp_file_matches_the_netlink_capture() {
    let p = parse_file("udp", Family::Inet, UDP).expect("parses");
    let n: Vec<Socket> = records(include_bytes!("../../../tests/fixtures/udp4.netlink"))
        .iter()
        .filter_map(|r| parse::inet(r, Netid::Udp))
        .collect();
    assert_eq!(identity(&p), identity(&n));
}

#[test]
fn unix_file_matches_the_netlink_capture_on_what_it_has() {
    let p = parse_file("unix", Family::Unix, UNIX).expect("parses");
    let n: Vec<Socket> =
        records(include_bytes!("../../../tests/fixtures/unix.netlink")).iter().filter_map(|r| parse::unix(r)).collect();
    let key = |v: &[Socket]| {
        let mut k: Vec<String> = v.iter().map(|s| format!("{:?} {:?} {:?}", s.netid, s.state, s.local)).collect();
        k.sort();
        k
    };
    assert_eq!(key(&p), key(&n));
}

#[test]
fn packet_and_netlink_files() {
    let p = parse_file("packet", Family::Packet, PACKET).expect("parses");
    assert_eq!(p.len(), 2);
    assert!(p.iter().any(|s| s.local == Endpoint::Packet { protocol: 3, interface: 1 } && s.inode == 14052));
    let n = parse_file("netlink", Family::Netlink, NETLINK).expect("parses");
    assert_eq!(n.len(), 9);
}

#[test]
fn malformed_lines_name_their_line() {
    let text = "header\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: ZZZ:1 00000000:0000 0A 0:0 0 0 0 0 2\n";
    assert_eq!(parse_file("tcp", Family::Inet, text).err(), Some((3, "local address")));
    assert_eq!(parse_file("tcp", Family::Inet, "h\n 0: short\n").err(), Some((2, "socket line (too few fields)")));
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "(.{0,120}\n){0,6}") {
        for (file, fam) in [("tcp", Family::Inet), ("tcp6", Family::Inet6), ("udp", Family::Inet), ("raw", Family::Inet), ("unix", Family::Unix), ("packet", Family::Packet), ("netlink", Family::Netlink)] {
            let _ = parse_file(file, fam, &text);
        }
    }
}
