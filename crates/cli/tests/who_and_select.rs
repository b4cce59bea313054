//! `sockscope who`, and `fds` errors, each test in its own network namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use sockscope_lab::{Holder, sockets as lab};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

fn who(target: &str) -> (i32, Value, String) {
    let json = sockscope(&["who", target, "--json"]);
    let text = sockscope(&["who", target]);
    assert_eq!(json.status.code(), text.status.code());
    let v: Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json.stderr)));
    (json.status.code().unwrap_or(-1), v, String::from_utf8_lossy(&text.stdout).into_owned())
}

#[test]
fn who_finds_a_listener_bound_by_a_child() {
    private_netns();
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let holder = Holder::spawn(vec![OwnedFd::from(l)]).unwrap();
    for target in [format!(":{port}"), format!("{port}"), format!("{port}/tcp"), format!("127.0.0.1:{port}")] {
        let (code, v, text) = who(&target);
        assert_eq!(code, 0, "{target}");
        let s = &v["sockets"][0];
        assert_eq!(s["socket"]["state"], "listening");
        let holders: Vec<(u64, u64)> = s["holders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["pid"].as_u64().unwrap(), h["fd"].as_u64().unwrap()))
            .collect();
        assert!(holders.contains(&(u64::from(holder.pid()), 0)), "{holders:?}");
        assert!(text.contains("sleep") && text.contains("EADDRINUSE"), "{text}");
    }
    let (code, v, _) = who(&format!("{port}/udp"));
    assert_eq!((code, v["found"].as_bool()), (1, Some(false)), "nothing on UDP");
}

#[test]
fn who_explains_time_wait_on_a_port() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // The server side closes first, so the TIME-WAIT socket holds the server's port.
    let (client, server) = lab::connected_pair(&l).unwrap();
    let (sa, ca) = (server.local_addr().unwrap(), client.local_addr().unwrap());
    drop(server);
    drop(client);
    lab::wait_for_state(sa, ca, lab::TCP_TIME_WAIT).unwrap();
    drop(l);
    let (code, v, text) = who(&format!(":{port}"));
    assert_eq!(code, 0);
    let states: Vec<&str> =
        v["sockets"].as_array().unwrap().iter().map(|s| s["socket"]["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["time-wait"]);
    assert!(v["sockets"][0]["holders"].as_array().unwrap().is_empty(), "TIME-WAIT belongs to no process");
    assert!(text.contains("TIME-WAIT") && text.contains("SO_REUSEADDR"), "{text}");
    // And the note is true: bind() without SO_REUSEADDR fails, with it succeeds.
    use rustix::net::{AddressFamily, SocketAddrV4, SocketType, bind, socket};
    let addr = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
    let plain = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    assert_eq!(bind(&plain, &addr), Err(rustix::io::Errno::ADDRINUSE));
    let reuse = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    rustix::net::sockopt::set_socket_reuseaddr(&reuse, true).unwrap();
    assert_eq!(bind(&reuse, &addr), Ok(()));
}

#[test]
fn who_calls_a_unix_socket_file_without_listener_stale() {
    private_netns();
    let dir = lab::tempdir().unwrap();
    let path = format!("{dir}/app.sock");
    let live = UnixListener::bind(&path).unwrap();
    let (code, v, _) = who(&path);
    assert_eq!((code, v["stale"].as_bool()), (0, Some(false)));
    assert_eq!(v["sockets"][0]["holders"][0]["fd"].as_u64(), Some(live.as_raw_fd() as u64));
    drop(live); // the file stays: a server that exits without unlink()
    let (code, v, text) = who(&path);
    assert_eq!((code, v["stale"].as_bool()), (1, Some(true)));
    assert!(text.contains("stale") && text.contains("ECONNREFUSED"), "{text}");
}

#[test]
fn who_finds_a_process_with_a_file_open() {
    private_netns();
    let dir = lab::tempdir().unwrap();
    let path = format!("{dir}/held.db");
    std::fs::write(&path, b"x").unwrap();
    let holder = Holder::spawn(vec![OwnedFd::from(std::fs::File::open(&path).unwrap())]).unwrap();
    let (code, v, text) = who(&path);
    assert_eq!(code, 0);
    let files: Vec<(u64, Value)> =
        v["files"].as_array().unwrap().iter().map(|f| (f["pid"].as_u64().unwrap(), f["fd"].clone())).collect();
    assert!(files.contains(&(u64::from(holder.pid()), Value::from(0))), "{files:?}");
    assert!(text.contains("sleep"), "{text}");
    let unused = format!("{dir}/unused");
    std::fs::write(&unused, b"").unwrap();
    assert_eq!(who(&unused).0, 1);
    let out = sockscope(&["who", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file"));
}

#[test]
fn fds_errors_are_one_line() {
    for (args, needle) in [
        (&["fds", "4000000000"][..], "no process with pid 4000000000"),
        (&["fds", "no-such-command-x"], "no process is named 'no-such-command-x'"),
        (&["fds", "-i", "sctp"], "-i sctp"),
        (&["fds", "-p", "abc"], "-p: 'abc' is not a pid"),
        (&["who", "nonsense"], "who: 'nonsense' is not a port"),
        (&["who", ":99999"], "who: '99999' is not a port"),
    ] {
        let out = sockscope(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // Issue 32 (10): a process that does not exist is exit 2 everywhere, by pid or by name.
    for args in [&["fds", "4000000000"][..], &["fds", "no-such-command-x"], &["trace", "-p", "4000000"]] {
        assert_eq!(sockscope(args).status.code(), Some(2), "{args:?}");
    }
}

/// Issue 32 (13): `who` says exactly which binds a listener makes fail, and they do; and for
/// UDP it does not promise ECONNREFUSED to a connect.
#[test]
fn who_says_exactly_which_binds_fail_and_what_udp_gets() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let text = sockscope_ok(&["who", &format!(":{port}")]);
    let said = format!(
        "bind() to 127.0.0.1:{port}, 0.0.0.0:{port} or [::]:{port} (unless IPV6_V6ONLY) fails with EADDRINUSE; another address on port {port}"
    );
    assert!(text.contains(&said), "{text}");
    assert!(!text.contains("every other bind()"), "{text}");
    // What it said, against the kernel.
    let refused = |at: &str| TcpListener::bind(at).err().map(|e| e.kind()) == Some(std::io::ErrorKind::AddrInUse);
    assert!(refused(&format!("127.0.0.1:{port}")) && refused(&format!("0.0.0.0:{port}")));
    assert!(TcpListener::bind(("127.0.0.2", port)).is_ok(), "another loopback address binds");
    drop(l);
    // A wildcard listener: every IPv4 address fails, a specific IPv6 one succeeds.
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let text = sockscope_ok(&["who", &format!(":{port}")]);
    assert!(text.contains(&format!("bind() to port {port} on any IPv4 address fails with EADDRINUSE")), "{text}");
    assert!(refused(&format!("127.0.0.2:{port}")));
    assert!(TcpListener::bind(("::1", port)).is_ok(), "[::1] binds beside 0.0.0.0");
    drop(l);
    // UDP: nothing on the port.
    let free = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    // Nothing found: exit 1, as lsof.
    let out = sockscope(&["who", &format!("{port}/udp")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ICMP port unreachable") && !text.contains("connect() gets ECONNREFUSED"), "{text}");
}
