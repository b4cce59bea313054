//! The exact report: every socket a test makes, with every owner, and nothing else.
//!
//! This test lives alone in its own test binary on purpose. In a test process running other
//! tests in parallel, a thread that spawns a child holds, between fork and exec, a copy of
//! every fd of the process — and sockscope, correctly, reports that child as one more owner
//! of every socket. Alone, nothing forks while sockscope looks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use sockscope_lab::{Holder, sockets as lab};
use std::net::{TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

/// What a test made, for one socket: how it is identified in JSON and who must own it.
struct Expect {
    netid: &'static str,
    state: &'static str,
    local: String,
    peer: String,
    /// (pid, fd) of every owner; empty for sockets no fd refers to (TIME-WAIT).
    owners: Vec<(u64, u64)>,
}

fn unix_text(path: Option<&str>, inode: u64) -> String {
    format!("{}#{}", path.unwrap_or("*"), inode)
}

type Row = (String, String, String, String, Vec<(u64, u64)>);

fn reported(json: &Value) -> Vec<Row> {
    let mut v: Vec<_> = json["sockets"]
        .as_array()
        .expect("sockets array")
        .iter()
        .map(|s| {
            let mut owners: Vec<(u64, u64)> = s["owners"]
                .as_array()
                .expect("owners array")
                .iter()
                .map(|o| (o["pid"].as_u64().expect("pid"), o["fd"].as_u64().expect("fd")))
                .collect();
            owners.sort();
            (
                s["netid"].as_str().expect("netid").to_owned(),
                s["state"].as_str().expect("state").to_owned(),
                endpoint_text(&s["local"]),
                endpoint_text(&s["peer"]),
                owners,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn reports_exactly_the_sockets_made_with_every_owner() {
    private_netns();
    let me = u64::from(std::process::id());
    let dir = lab::tempdir().expect("lab socket");
    let mut expect: Vec<Expect> = Vec::new();
    let inet = |netid, state, l: std::net::SocketAddr, p: String, owners| Expect {
        netid,
        state,
        local: format!("{}:{}", l.ip(), l.port()),
        peer: p,
        owners,
    };

    // TCP: listeners on IPv4 and IPv6, an established pair, a TIME-WAIT and a CLOSE-WAIT.
    let l4 = TcpListener::bind("127.0.0.1:0").expect("bind v4");
    expect.push(inet("tcp", "listening", l4.local_addr().expect("addr"), "0.0.0.0:0".into(), vec![(me, fd_of(&l4))]));
    let l6 = TcpListener::bind("[::1]:0").expect("bind v6");
    expect.push(inet("tcp", "listening", l6.local_addr().expect("addr"), ":::0".into(), vec![(me, fd_of(&l6))]));
    let (c, s) = lab::connected_pair(&l4).expect("pair");
    let (ca, sa) = (c.local_addr().expect("a"), s.local_addr().expect("a"));
    expect.push(inet("tcp", "established", ca, format!("{}:{}", sa.ip(), sa.port()), vec![(me, fd_of(&c))]));
    expect.push(inet("tcp", "established", sa, format!("{}:{}", ca.ip(), ca.port()), vec![(me, fd_of(&s))]));
    let l_tw = TcpListener::bind("127.0.0.1:0").expect("bind");
    expect.push(inet(
        "tcp",
        "listening",
        l_tw.local_addr().expect("addr"),
        "0.0.0.0:0".into(),
        vec![(me, fd_of(&l_tw))],
    ));
    let (tw_local, tw_remote) = lab::time_wait(&l_tw).expect("time-wait");
    expect.push(inet("tcp", "time-wait", tw_local, format!("{}:{}", tw_remote.ip(), tw_remote.port()), vec![]));
    let cw = lab::close_wait(&l_tw).expect("close-wait");
    let (cw_l, cw_p) = (cw.local_addr().expect("a"), cw.peer_addr().expect("a"));
    expect.push(inet("tcp", "close-wait", cw_l, format!("{}:{}", cw_p.ip(), cw_p.port()), vec![(me, fd_of(&cw))]));
    // Its client half, closed by us, lingers in FIN-WAIT-2 with no owner.
    expect.push(inet("tcp", "fin-wait-2", cw_p, format!("{}:{}", cw_l.ip(), cw_l.port()), vec![]));

    // UDP: bound v4 and v6, and a connected one.
    let u4 = UdpSocket::bind("127.0.0.1:0").expect("udp v4");
    expect.push(inet("udp", "closed", u4.local_addr().expect("a"), "0.0.0.0:0".into(), vec![(me, fd_of(&u4))]));
    let u6 = UdpSocket::bind("[::1]:0").expect("udp v6");
    expect.push(inet("udp", "closed", u6.local_addr().expect("a"), ":::0".into(), vec![(me, fd_of(&u6))]));
    let uc = UdpSocket::bind("127.0.0.1:0").expect("udp");
    uc.connect(u4.local_addr().expect("a")).expect("udp connect");
    let u4a = u4.local_addr().expect("a");
    expect.push(inet(
        "udp",
        "established",
        uc.local_addr().expect("a"),
        format!("{}:{}", u4a.ip(), u4a.port()),
        vec![(me, fd_of(&uc))],
    ));

    // Unix: a stream listener with a path and a connection to it, an abstract listener,
    // socketpairs of each type, a datagram socket with a path.
    let path = format!("{dir}/stream.sock");
    let ul = UnixListener::bind(&path).expect("unix bind");
    expect.push(Expect {
        netid: "unix_stream",
        state: "listening",
        local: unix_text(Some(&path), inode_of(&ul)),
        peer: unix_text(None, 0),
        owners: vec![(me, fd_of(&ul))],
    });
    let uclient = UnixStream::connect(&path).expect("unix connect");
    let (userver, _) = ul.accept().expect("accept");
    // The accepted socket carries the listener's name; the client is unnamed and its peer
    // is the named server side.
    expect.push(Expect {
        netid: "unix_stream",
        state: "established",
        local: unix_text(Some(&path), inode_of(&userver)),
        peer: unix_text(None, inode_of(&uclient)),
        owners: vec![(me, fd_of(&userver))],
    });
    expect.push(Expect {
        netid: "unix_stream",
        state: "established",
        local: unix_text(None, inode_of(&uclient)),
        peer: unix_text(Some(&path), inode_of(&userver)),
        owners: vec![(me, fd_of(&uclient))],
    });
    let abs_name = format!("sockscope-test-{}", std::process::id());
    let abs = lab::abstract_listener(&abs_name).expect("lab socket");
    expect.push(Expect {
        netid: "unix_stream",
        state: "listening",
        local: unix_text(Some(&format!("@{abs_name}")), inode_of(&abs)),
        peer: unix_text(None, 0),
        owners: vec![(me, fd_of(&abs))],
    });
    let (p1, p2) = UnixStream::pair().expect("socketpair");
    for (a, b) in [(&p1, &p2), (&p2, &p1)] {
        expect.push(Expect {
            netid: "unix_stream",
            state: "established",
            local: unix_text(None, inode_of(a)),
            peer: unix_text(None, inode_of(b)),
            owners: vec![(me, fd_of(a))],
        });
    }
    let (q1, q2) = lab::seqpacket_pair().expect("lab socket");
    for (a, b) in [(&q1, &q2), (&q2, &q1)] {
        expect.push(Expect {
            netid: "unix_seqpacket",
            state: "established",
            local: unix_text(None, inode_of(a)),
            peer: unix_text(None, inode_of(b)),
            owners: vec![(me, fd_of(a))],
        });
    }
    let dpath = format!("{dir}/dgram.sock");
    let ud = UnixDatagram::bind(&dpath).expect("dgram bind");
    expect.push(Expect {
        netid: "unix_dgram",
        state: "closed",
        local: unix_text(Some(&dpath), inode_of(&ud)),
        peer: unix_text(None, 0),
        owners: vec![(me, fd_of(&ud))],
    });

    // A listener owned only by a child process (fd 0 there), and one shared by both.
    let child_only = TcpListener::bind("127.0.0.1:0").expect("bind");
    let child_addr = child_only.local_addr().expect("a");
    let holder1 = Holder::spawn(vec![OwnedFd::from(child_only)]).expect("spawn holder");
    expect.push(inet("tcp", "listening", child_addr, "0.0.0.0:0".into(), vec![(u64::from(holder1.pid()), 0)]));
    let shared = TcpListener::bind("127.0.0.1:0").expect("bind");
    let holder2 = Holder::spawn(vec![OwnedFd::from(shared.try_clone().expect("dup"))]).expect("spawn holder");
    let mut shared_owners = vec![(me, fd_of(&shared)), (u64::from(holder2.pid()), 0)];
    shared_owners.sort();
    expect.push(inet("tcp", "listening", shared.local_addr().expect("a"), "0.0.0.0:0".into(), shared_owners));

    let json = sockscope_json(&["-a", "-t", "-u", "-x"]);
    assert_eq!(json["schema_version"], 2);
    let mut want: Vec<_> = expect
        .iter()
        .map(|e| {
            (e.netid.to_owned(), e.state.to_owned(), e.local.clone(), e.peer.clone(), {
                let mut o = e.owners.clone();
                o.sort();
                o
            })
        })
        .collect();
    want.sort();
    let got = reported(&json);
    assert_eq!(got, want, "sockscope reported something other than what the test made");

    // Queues: a listener with one connection not yet accepted shows 1 in Recv-Q and its
    // backlog in Send-Q; bytes written and not read show in the reader's Recv-Q.
    let backlog = TcpListener::bind("127.0.0.1:0").expect("bind");
    let _pending = std::net::TcpStream::connect(backlog.local_addr().expect("a")).expect("connect");
    use std::io::Write;
    (&c).write_all(b"hello").expect("write");
    lab::wait_for_state(sa, ca, lab::TCP_ESTABLISHED).expect("still established");
    let queued = format!("sport = :{}", backlog.local_addr().expect("a").port());
    wait_until("the pending connection in the accept queue", || {
        ss(&["-tnH", "state", "listening", &queued]).split_whitespace().next() == Some("1")
    });
    let reader = format!("sport = :{}", sa.port());
    wait_until("five unread bytes", || {
        ss(&["-tnH", "state", "established", &reader]).split_whitespace().next() == Some("5")
    });
    let json = sockscope_json(&["-t", "-a"]);
    let find = |port: u16, state: &str| -> Value {
        json["sockets"]
            .as_array()
            .expect("array")
            .iter()
            .find(|s| s["local"]["port"] == port && s["state"] == state)
            .cloned()
            .expect("socket listed")
    };
    let l = find(backlog.local_addr().expect("a").port(), "listening");
    assert_eq!(l["recv_q"], 1, "one connection waits in the accept queue");
    assert_eq!(l["send_q"], 128, "std's listen backlog is 128");
    assert_eq!(find(sa.port(), "established")["recv_q"], 5, "five unread bytes");
    drop((holder1, holder2, p1, p2, q1, q2));
}
