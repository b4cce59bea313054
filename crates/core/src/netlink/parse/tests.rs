//! Parser tests on sock_diag replies captured from a real kernel (tests/fixtures, made by
//! `examples/capture_fixtures.rs` in a namespace holding known sockets), and on those
//! replies cut short, extended and corrupted.

use super::*;
use crate::model::{Endpoint, Netid, SockState, Socket};
use proptest::prelude::*;
use std::net::IpAddr;

/// The payloads of one captured dump (`u32 length + bytes` records); the /proc reader's
/// tests use it too.
pub(crate) fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

const TCP4: &[u8] = include_bytes!("../../../tests/fixtures/tcp4.netlink");
const TCP6: &[u8] = include_bytes!("../../../tests/fixtures/tcp6.netlink");
const UDP4: &[u8] = include_bytes!("../../../tests/fixtures/udp4.netlink");
const UDP6: &[u8] = include_bytes!("../../../tests/fixtures/udp6.netlink");
const UNIX: &[u8] = include_bytes!("../../../tests/fixtures/unix.netlink");
const PACKET: &[u8] = include_bytes!("../../../tests/fixtures/packet.netlink");
const NETLINK: &[u8] = include_bytes!("../../../tests/fixtures/netlink.netlink");
/// An MPTCP listener on 127.0.0.1:8090 (backlog 5) and one connection to it that carried 500
/// bytes, dumped with every extension: the MPTCP table, then the TCP table with the subflows.
const MPTCP4: &[u8] = include_bytes!("../../../tests/fixtures/mptcp4_details.netlink");
const MPTCP4_SUBFLOWS: &[u8] = include_bytes!("../../../tests/fixtures/tcp4_mptcp_subflows.netlink");

fn parse_all(bytes: &[u8], f: impl Fn(&[u8]) -> Option<Socket>) -> Vec<Socket> {
    records(bytes).iter().map(|r| f(r).expect("captured reply parses")).collect()
}

fn inet_port(s: &Socket) -> (String, u16) {
    match &s.local {
        Endpoint::Inet { address, port } => (address.to_string(), *port),
        other => panic!("not inet: {other:?}"),
    }
}

fn find(v: &[Socket], port: u16, state: SockState) -> &Socket {
    v.iter()
        .find(|s| inet_port(s).1 == port && s.state == state)
        .unwrap_or_else(|| panic!("no socket on {port} in {state:?}"))
}

#[test]
fn mptcp_capture() {
    let v = parse_all(MPTCP4, |p| inet(p, Netid::Mptcp));
    assert_eq!(v.len(), 3);
    let l = find(&v, 8090, SockState::Listen);
    assert_eq!(l.send_q, Some(5));
    let client = v.iter().find(|s| s.state == SockState::Established && inet_port(s).1 != 8090).expect("client");
    let m = client.details.as_ref().and_then(|d| d.extra.as_ref()).and_then(|e| e.mptcp.as_ref()).expect("mptcp_info");
    assert_eq!(m.get("subflows_max"), Some(2));
    assert_eq!(m.get("flags"), Some(crate::model::MPTCP_REMOTE_KEY));
    assert_eq!(m.get("token"), Some(0x7172_eea9));
    assert_eq!(m.get("write_seq"), Some(0xc174_14bc_e85b_b8e1));
    assert_eq!(m.get("bytes_sent"), Some(500));
    assert!(client.details.as_ref().is_some_and(|d| d.tcp_info.is_none()), "mptcp_info is not tcp_info");
}

#[test]
fn mptcp_subflows_carry_their_upper_layer() {
    let v = parse_all(MPTCP4_SUBFLOWS, |p| inet(p, Netid::Tcp));
    let ulp = |s: &Socket| s.details.as_ref().and_then(|d| d.extra.as_ref()).and_then(|e| e.ulp.as_deref().cloned());
    let listener = ulp(find(&v, 8090, SockState::Listen)).expect("the listener's ULP");
    assert_eq!((&*listener.name, listener.mptcp), ("mptcp", None));
    let server = v.iter().find(|s| s.state == SockState::Established && inet_port(s).1 == 8090).expect("server");
    let sf = ulp(server).and_then(|u| u.mptcp).expect("the subflow's state");
    // flags:Mec, token:0000(id:0)/cc411e0b(id:0), ssnoff:2f94e3f3, maplen:1f4 (a u16 attribute)
    assert_eq!(sf.flags, Some(0x01 | 0x40 | 0x80));
    assert_eq!(
        (sf.token_remote, sf.token_local, sf.id_remote, sf.id_local),
        (Some(0), Some(0xcc41_1e0b), Some(0), Some(0))
    );
    assert_eq!((sf.map_sfseq, sf.ssn_offset, sf.map_datalen), (Some(1), Some(0x2f94_e3f3), Some(500)));
    assert_eq!(sf.map_seq, Some(0xc174_14bc_e85b_b6ed));
}

#[test]
fn tcp4_capture() {
    let v = parse_all(TCP4, |p| inet(p, Netid::Tcp));
    assert_eq!(v.len(), 4);
    let l = find(&v, 8080, SockState::Listen);
    assert_eq!((l.recv_q, l.send_q), (0, Some(7)), "backlog 7 as listen(7) asked");
    assert_eq!(l.inode, 14038);
    assert!(l.cookie.is_some());
    assert_eq!(l.shutdown, Some(0));
    let server = v.iter().find(|s| s.state == SockState::Established && inet_port(s).1 == 8080).expect("server side");
    assert_eq!(server.recv_q, 5, "hello unread");
    let tw = find(&v, 36100, SockState::TimeWait);
    assert_eq!(tw.inode, 0);
    assert_eq!(tw.peer, Endpoint::Inet { address: "127.0.0.1".parse().expect("ip"), port: 8080 });
}

#[test]
fn tcp6_capture_with_v6only() {
    let v = parse_all(TCP6, |p| inet(p, Netid::Tcp));
    let l = find(&v, 8443, SockState::Listen);
    assert_eq!(l.v6only, Some(true));
    assert_eq!((l.recv_q, l.send_q), (1, Some(3)), "one connection waiting, backlog 3");
    assert_eq!(inet_port(l).0, "::1");
    let any = find(&v, 9000, SockState::Listen);
    assert_eq!(any.v6only, Some(false));
    assert!(matches!(any.local, Endpoint::Inet { address: IpAddr::V6(a), .. } if a.is_unspecified()));
    // The connection waiting in the accept queue has no inode yet.
    assert!(v.iter().any(|s| s.state == SockState::Established && s.inode == 0));
}

#[test]
fn udp_capture_with_bound_device() {
    let v = parse_all(UDP4, |p| inet(p, Netid::Udp));
    let bound = find(&v, 6000, SockState::Established);
    assert_eq!(bound.interface, 1, "SO_BINDTODEVICE lo");
    assert_eq!(find(&v, 5353, SockState::Close).interface, 0);
    let v6 = parse_all(UDP6, |p| inet(p, Netid::Udp));
    assert_eq!(v6.len(), 1);
    assert_eq!(v6[0].family, crate::model::Family::Inet6);
    assert_eq!(v6[0].v6only, Some(true));
}

#[test]
fn unix_capture() {
    let v = parse_all(UNIX, unix);
    let name = |s: &Socket| match &s.local {
        Endpoint::Unix { name, .. } => name.as_ref().map(|n| n.path.to_string()),
        _ => None,
    };
    let l = v.iter().find(|s| s.state == SockState::Listen).expect("listener");
    assert_eq!(name(l).as_deref(), Some("/tmp/fixture.sock"));
    assert_eq!((l.netid, l.recv_q, l.send_q), (Netid::UnixStream, 1, Some(4)));
    let a = v.iter().find(|s| s.netid == Netid::UnixDgram).expect("abstract dgram");
    assert_eq!(name(a).as_deref(), Some("@fixture@abstract"));
    let seq: Vec<&Socket> = v.iter().filter(|s| s.netid == Netid::UnixSeqpacket).collect();
    assert_eq!(seq.len(), 2);
    assert_eq!(seq[0].peer, Endpoint::Unix { name: None, inode: seq[1].inode });
    assert_eq!(seq[1].peer, Endpoint::Unix { name: None, inode: seq[0].inode });
    assert!(v.iter().all(|s| s.uid == Some(0)));
}

#[test]
fn packet_and_netlink_capture() {
    let v = parse_all(PACKET, packet);
    let raw = v.iter().find(|s| s.netid == Netid::PacketRaw).expect("p_raw");
    assert_eq!(raw.local, Endpoint::Packet { protocol: 3, interface: 1 });
    let dgram = v.iter().find(|s| s.netid == Netid::PacketDgram).expect("p_dgr");
    assert_eq!(dgram.local, Endpoint::Packet { protocol: 0x0800, interface: 0 });
    assert_eq!(dgram.recv_q, 4164, "rmem_alloc from skmeminfo");
    let n = parse_all(NETLINK, netlink);
    assert_eq!(n.len(), 9);
    assert!(n.iter().any(|s| matches!(s.local, Endpoint::Netlink { protocol: 4, port_id: 0, .. }) && s.recv_q == 832));
}

/// Every prefix of every captured reply parses without panicking; replies cut inside the
/// identifying header are rejected, and cut inside the attributes keep the header's fields.
#[test]
fn truncated_replies_never_panic() {
    type Parser = fn(&[u8]) -> Option<Socket>;
    let all: [(&[u8], Parser); 5] = [
        (TCP4, |p| inet(p, Netid::Tcp)),
        (TCP6, |p| inet(p, Netid::Tcp)),
        (UNIX, unix),
        (PACKET, packet),
        (NETLINK, netlink),
    ];
    for (bytes, f) in all {
        for rec in records(bytes) {
            let full = f(&rec).expect("full record");
            for cut in 0..rec.len() {
                if let Some(s) = f(&rec[..cut]) {
                    assert_eq!(s.netid, full.netid);
                    // Identity lives in the fixed header: addresses for inet, the inode for the rest.
                    if matches!(full.local, Endpoint::Inet { .. }) {
                        assert_eq!(s.local, full.local, "cut at {cut}");
                    } else {
                        assert_eq!(s.inode, full.inode, "cut at {cut}");
                    }
                }
            }
        }
    }
    assert!(inet(&records(TCP4)[0][..51], Netid::Tcp).is_none());
}

#[test]
fn unknown_and_longer_attributes_are_tolerated() {
    let rec = &records(TCP6)[0];
    let base = inet(rec, Netid::Tcp).expect("parses");
    let mut extended = rec.clone();
    // An attribute type no kernel we know sends, and a SHUTDOWN carrying 4 bytes, not 1.
    extended.extend_from_slice(&[8, 0, 200, 0, 1, 2, 3, 4]);
    extended.extend_from_slice(&[8, 0, 8, 0, 3, 0, 0, 0]);
    let s = inet(&extended, Netid::Tcp).expect("still parses");
    assert_eq!(s.local, base.local);
    assert_eq!(s.shutdown, Some(3));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = inet(&bytes, Netid::Tcp);
        let _ = inet(&bytes, Netid::Raw);
        let _ = inet(&bytes, Netid::Mptcp);
        let _ = unix(&bytes);
        let _ = packet(&bytes);
        let _ = netlink(&bytes);
        for m in crate::netlink::wire::Messages::new(&bytes) {
            let _ = crate::netlink::wire::Attrs::new(m.payload).count();
        }
    }

    #[test]
    fn corrupted_captures_never_panic(idx in 0usize..4, pos in 0usize..200, val in any::<u8>()) {
        let recs = records(TCP4);
        let mut r = recs[idx % recs.len()].clone();
        let p = pos % r.len();
        r[p] = val;
        let _ = inet(&r, Netid::Tcp);
    }
}

const TCP4_DETAILS: &[u8] = include_bytes!("../../../tests/fixtures/tcp4_details.netlink");
const UNIX_DETAILS: &[u8] = include_bytes!("../../../tests/fixtures/unix_details.netlink");

/// A dump asked for -m -i --tos: tcp_info with the kernel's own length, congestion control,
/// skmeminfo, TOS, timers.
#[test]
fn details_capture() {
    let v = parse_all(TCP4_DETAILS, |p| inet(p, Netid::Tcp));
    let server = v.iter().find(|s| s.state == SockState::Established && inet_port(s).1 == 8080).expect("server");
    let d = server.details.as_ref().expect("details");
    let info = d.tcp_info.as_ref().expect("tcp_info");
    assert!(info.length() >= 232, "this kernel sends at least the 232 bytes we know: {}", info.length());
    assert_eq!(info.bytes_received(), Some(5), "hello");
    assert!(info.snd_mss_bytes().is_some_and(|m| m > 0) && info.rtt_us().is_some_and(|r| r > 0));
    let extra = d.extra.as_ref().expect("the congestion control and TOS");
    assert!(extra.congestion.as_deref().is_some_and(|c| !c.is_empty()));
    let mem = d.memory.as_ref().expect("skmeminfo");
    assert!(mem.rcvbuf > 0 && mem.sndbuf > 0);
    assert!(mem.drops.is_some(), "this kernel reports drops");
    assert_eq!(extra.tos, Some(0));
    let tw = v.iter().find(|s| s.state == SockState::TimeWait).expect("time-wait");
    let timer = tw.timer.expect("a time-wait socket has its timer");
    assert_eq!(timer.kind, crate::model::TimerKind::Timewait);
    assert!(timer.expires_ms <= 60_000);
    assert!(tw.details.is_none(), "time-wait mini-sockets carry no attributes");
    let u = parse_all(UNIX_DETAILS, unix);
    assert!(u.iter().all(|s| s.details.as_ref().is_some_and(|d| d.memory.is_some())));
}

/// tcp_info cut short (an older kernel) or extended (a newer one) inside a real reply.
#[test]
fn tcp_info_attribute_of_any_length() {
    let rec = records(TCP4_DETAILS)
        .into_iter()
        .find(|r| inet(r, Netid::Tcp).is_some_and(|s| s.details.as_ref().is_some_and(|d| d.tcp_info.is_some())));
    let rec = rec.expect("a reply with tcp_info");
    // Find the INFO attribute (type 2) and rebuild the reply with it resized.
    let base = rec[..72].to_vec();
    let attrs: Vec<(u16, Vec<u8>)> =
        crate::netlink::wire::Attrs::new(&rec[72..]).map(|(t, p)| (t, p.to_vec())).collect();
    for new_len in [0usize, 8, 104, 160, 232, 300] {
        let mut b = base.clone();
        for (t, p) in &attrs {
            let mut p = p.clone();
            if *t == 2 {
                p.resize(new_len, 0xee);
            }
            b.extend_from_slice(&((p.len() + 4) as u16).to_ne_bytes());
            b.extend_from_slice(&t.to_ne_bytes());
            b.extend_from_slice(&p);
            b.resize(crate::netlink::wire::align4(b.len()), 0);
        }
        let s = inet(&b, Netid::Tcp).expect("parses");
        let info = s.details.as_ref().and_then(|d| d.tcp_info.clone());
        if new_len == 0 {
            assert!(info.is_none());
            continue;
        }
        let info = info.expect("tcp_info");
        assert_eq!(info.length() as usize, new_len);
        assert_eq!(info.rto_us().is_some(), new_len >= 12);
        assert_eq!(info.pacing_rate_bytes_per_s().is_some(), new_len >= 112);
        assert_eq!(info.bytes_sent().is_some(), new_len >= 208);
        assert_eq!(info.rcv_wnd_bytes().is_some(), new_len >= 236);
    }
}

#[test]
fn skmeminfo_of_any_length() {
    let words = |n: u32| -> Vec<u8> { (1..=n).flat_map(|i| (i * 100).to_ne_bytes()).collect() };
    let m = meminfo(&words(9));
    assert_eq!((m.rmem_alloc, m.rcvbuf, m.backlog, m.drops), (100, 200, 800, Some(900)));
    let old = meminfo(&words(8));
    assert_eq!((old.backlog, old.drops), (800, None), "kernels before drops existed");
    let newer = meminfo(&words(12));
    assert_eq!(newer.drops, Some(900), "unknown trailing counters are ignored");
    let short = meminfo(&words(3));
    assert_eq!((short.wmem_alloc, short.sndbuf), (300, 0), "missing counters read as zero");
    assert_eq!(meminfo(&[]), crate::model::SkMemInfo::default());
}

/// DCTCP's and Vegas's attributes (this kernel has neither congestion control, so they are
/// appended to a captured reply as the kernel lays them out).
#[test]
fn dctcp_and_vegas_attributes() {
    let mut rec = records(TCP4)[0].clone();
    let mut dctcp = vec![20u8, 0, 9, 0];
    dctcp.extend_from_slice(&1u16.to_ne_bytes());
    dctcp.extend_from_slice(&0u16.to_ne_bytes());
    for v in [1024u32, 5, 100] {
        dctcp.extend_from_slice(&v.to_ne_bytes());
    }
    let mut vegas = vec![20u8, 0, 3, 0];
    for v in [1u32, 8, 500, 400] {
        vegas.extend_from_slice(&v.to_ne_bytes());
    }
    rec.extend_from_slice(&dctcp);
    rec.extend_from_slice(&vegas);
    let s = inet(&rec, Netid::Tcp).expect("parses");
    let extra = s.details.as_ref().and_then(|d| d.extra.as_ref()).expect("extra details");
    let d = extra.dctcp.expect("dctcp");
    assert_eq!((d.enabled, d.ce_state, d.alpha, d.ab_ecn, d.ab_tot), (true, 0, 1024, 5, 100));
    assert_eq!(extra.vegas_rtt_us, Some(500));
}

/// A recorded reply (every extension) read for a command that asked for less: the kernel's
/// replies to the narrower request would not have carried the other attributes, so neither
/// does the parse; and with vitals alone, tcp_info is cut to its vitals as the live path does.
#[test]
fn recorded_replies_keep_only_what_was_asked() {
    use super::super::request::Extensions;
    let mut scratch = Vec::new();
    for rec in records(TCP4_DETAILS) {
        let Some(full) = inet(&rec, Netid::Tcp) else { continue };
        let all =
            Extensions { memory: true, tcp_info: true, tos: true, vitals: false, extended: true, inet_sockopt: true };
        assert_eq!(recorded(&rec, Netid::Tcp, all, &mut scratch).as_ref(), Some(&full), "everything asked: the same");
        let plain = recorded(&rec, Netid::Tcp, Extensions::default(), &mut scratch).expect("a socket");
        let (d, pd) = (full.details.as_ref(), plain.details.as_ref());
        assert!(pd.is_none_or(|d| d.tcp_info.is_none() && d.memory.is_none()) && plain.vitals.is_none());
        assert!(pd.and_then(|d| d.extra.as_ref()).is_none_or(|e| e.congestion.is_none() && e.tos.is_none()));
        assert_eq!(
            (plain.inode, plain.state, plain.cookie, plain.timer),
            (full.inode, full.state, full.cookie, full.timer)
        );
        let memory = recorded(&rec, Netid::Tcp, Extensions { memory: true, ..Extensions::default() }, &mut scratch);
        let memory = memory.expect("a socket");
        assert_eq!(memory.details.as_ref().and_then(|d| d.memory.clone()), d.and_then(|d| d.memory.clone()));
        assert!(memory.details.as_ref().is_none_or(|d| d.tcp_info.is_none()));
        let vitals = recorded(&rec, Netid::Tcp, Extensions { vitals: true, ..Extensions::default() }, &mut scratch);
        let vitals = vitals.expect("a socket");
        let want = d.and_then(|d| d.tcp_info.as_ref()).map(|t| t.vitals());
        assert_eq!(vitals.vitals.as_deref().copied(), want);
        assert_eq!(vitals.vitals(), want);
        // Nothing else was asked: no details box is kept beside the vitals' own.
        assert!(vitals.details.is_none(), "{:?}", vitals.details);
    }
    for rec in records(UNIX_DETAILS) {
        let Some(full) = unix(&rec) else { continue };
        let plain = recorded(&rec, Netid::UnixStream, Extensions::default(), &mut scratch).expect("a socket");
        assert!(plain.details.as_ref().is_none_or(|d| d.memory.is_none()));
        assert_eq!((plain.inode, &plain.local, plain.recv_q), (full.inode, &full.local, full.recv_q));
    }
}
