//! The socket table against sockets each test makes in its own network namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use sockscope_lab::sockets as lab;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

#[test]
fn table_rows_match_ss_in_the_same_namespace() {
    private_netns();
    let dir = lab::tempdir().expect("lab socket");
    let l4 = TcpListener::bind("127.0.0.1:0").expect("bind");
    let l4any = TcpListener::bind("0.0.0.0:0").expect("bind");
    let l6 = TcpListener::bind("[::]:0").expect("bind");
    let _pair = lab::connected_pair(&l4).expect("pair");
    let _pair6 = lab::connected_pair(&l6).expect("pair6");
    let _tw = lab::time_wait(&l4any).expect("tw");
    let _cw = lab::close_wait(&l4).expect("cw");
    let _u = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let _u6 = UdpSocket::bind("[::]:0").expect("udp6");
    let _ul = UnixListener::bind(format!("{dir}/a.sock")).expect("unix");
    let _up = UnixStream::pair().expect("pair");
    let _ud = UnixDatagram::bind(format!("{dir}/d.sock")).expect("dgram");
    let _raw = lab::raw_socket(rustix::net::AddressFamily::INET, 1).expect("lab socket");
    let _raw6 = lab::raw_socket(rustix::net::AddressFamily::INET6, 58).expect("lab socket");
    let _p_all = lab::packet_socket(rustix::net::SocketType::RAW, 0x0003).expect("lab socket");
    let _p_ip = lab::packet_socket(rustix::net::SocketType::DGRAM, 0x0800).expect("lab socket");
    for flags in [
        &["-tan"][..],
        &["-tln"],
        &["-uan"],
        &["-xa"],
        &["-xl"],
        &["-n"],
        &["-4an"],
        &["-6an"],
        &["-tuaxn"],
        &["-an", "-A", "tcp,unix_stream"],
        &["-an", "-f", "inet6"],
        &["-tane"],
        &["-wan"],
        &["-wa"],
        &["-0a"],
        &["-0an"],
        &["-a", "-A", "packet,udp"],
    ] {
        let mut ours = flags.to_vec();
        ours.push("-H");
        let mut theirs = flags.to_vec();
        theirs.push("-H");
        let got = rows(&sockscope_ok(&ours));
        // -e includes the timers and cgroups, as in ss (issue 12).
        let want = rows(&ss(&theirs));
        // A timer may cross a second between the two runs (on a busy machine): its seconds
        // must agree within one, the rest of the row exactly.
        assert_eq!(got.len(), want.len(), "sockscope {flags:?} differs from ss: {got:?}\n{want:?}");
        for (g, w) in got.iter().zip(&want) {
            let (g_timers, w_timers) = (timer_seconds(g), timer_seconds(w));
            assert_eq!(without_timer_seconds(g), without_timer_seconds(w), "sockscope {flags:?} differs from ss");
            for (a, b) in g_timers.iter().zip(&w_timers) {
                assert!(a.abs_diff(*b) <= 1, "sockscope {flags:?}: timer {g:?} against ss's {w:?}");
            }
        }
    }
    // Where ss is wrong we differ on purpose: ss -A packet_dgram also lists p_raw sockets.
    let dgram_only = rows(&sockscope_ok(&["-a", "-H", "-A", "packet_dgram"]));
    assert_eq!(dgram_only.len(), 1, "{dgram_only:?}");
    assert_eq!(dgram_only[0][0], "UNCONN", "one table selected: no Netid column");
}

#[test]
fn proc_reader_reports_the_same_sockets_as_sock_diag() {
    private_netns();
    let dir = lab::tempdir().expect("lab socket");
    let l4 = TcpListener::bind("127.0.0.1:0").expect("bind");
    let l6 = TcpListener::bind("[::1]:0").expect("bind");
    let _p = lab::connected_pair(&l4).expect("pair");
    let _p6 = lab::connected_pair(&l6).expect("pair");
    let _tw = lab::time_wait(&l4).expect("tw");
    let _cw = lab::close_wait(&l6).expect("cw");
    let _u = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let _u6 = UdpSocket::bind("[::1]:0").expect("udp");
    let _ul = UnixListener::bind(format!("{dir}/p.sock")).expect("unix");
    let _abs = lab::abstract_listener(&format!("proc-test-{}", std::process::id()));
    let _pair = UnixStream::pair().expect("pair");
    let _sq = lab::seqpacket_pair().expect("lab socket");
    let _ud = UnixDatagram::bind(format!("{dir}/d.sock")).expect("dgram");

    // Identity and the fields /proc/net has: queues except a listener's backlog, uid except
    // for Unix sockets (/proc/net/unix has neither queues nor uids nor peers).
    let key = |s: &Value| -> String {
        let local = endpoint_text(&s["local"]);
        let peer = if s["family"] == "unix" { String::new() } else { endpoint_text(&s["peer"]) };
        let send_q = if s["state"] == "listening" || s["family"] == "unix" { Value::Null } else { s["send_q"].clone() };
        let recv_q = if s["family"] == "unix" { Value::Null } else { s["recv_q"].clone() };
        let uid = if s["family"] == "unix" { Value::Null } else { s["uid"].clone() };
        format!("{} {} {local} {peer} ino={} uid={uid} q={recv_q}/{send_q}", s["netid"], s["state"], s["inode"])
    };
    let collect = |source: &str| -> Vec<String> {
        let json = sockscope_json(&["-a", "-t", "-u", "-x", "--source", source]);
        let mut v: Vec<String> = json["sockets"].as_array().expect("array").iter().map(key).collect();
        v.sort();
        v
    };
    let netlink = collect("netlink");
    assert!(netlink.len() >= 14, "the test's sockets are listed: {netlink:#?}");
    assert_eq!(collect("proc"), netlink);
}

#[test]
fn a_table_large_enough_to_be_formatted_in_parts_matches_ss_and_stays_aligned() {
    private_netns();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_sockscope"));
    let farm = sockscope_lab::scenarios::farm::Farm::start(
        &sockscope_lab::scenarios::farm::Options { sockets: 20_000, processes: 2 },
        exe,
    )
    .expect("farm");
    // IPv6 sockets are dumped last, so this wide address lands in the last part.
    let wide = TcpListener::bind("[::]:0").expect("bind");
    let port = wide.local_addr().expect("addr").port();
    let _client = std::net::TcpStream::connect(("::ffff:127.0.0.1", port)).expect("connect");
    let _server = wide.accept().expect("accept");
    let ours = sockscope_ok(&["-tanp", "-H"]);
    let got = rows(&ours);
    assert!(got.len() as u64 >= farm.truth.established, "{} rows", got.len());
    assert_eq!(got, rows(&ss(&["-tanp", "-H"])), "sockscope -tanp differs from ss");
    // Every owner column starts at the same offset, whichever part formatted the row.
    let offsets: std::collections::BTreeSet<usize> = ours.lines().filter_map(|l| l.find("users:((")).collect();
    assert_eq!(offsets.len(), 1, "owner column offsets {offsets:?}");
}

/// The seconds of each `timer:(NAME,Nsec,…)` token of a row.
fn timer_seconds(row: &[String]) -> Vec<u64> {
    row.iter()
        .filter_map(|t| t.strip_prefix("timer:("))
        .filter_map(|t| t.split(',').nth(1)?.strip_suffix("sec")?.parse().ok())
        .collect()
}

/// A row with each timer's seconds blanked (`timer_seconds` compares them).
fn without_timer_seconds(row: &[String]) -> Vec<String> {
    row.iter()
        .map(|t| match t.strip_prefix("timer:(").map(|r| r.split(',').collect::<Vec<_>>()) {
            Some(mut parts) if parts.len() > 1 && parts[1].ends_with("sec") => {
                parts[1] = "Nsec";
                format!("timer:({}", parts.join(","))
            }
            _ => t.clone(),
        })
        .collect()
}
