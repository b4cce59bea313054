//! Each lab scenario, started through the library in a private namespace, checked through
//! /proc and ss (never through sockscope's own readers), then stopped and checked gone.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use sockscope_lab::scenarios::{
    addr_in_use, backlog, close_wait, ephemeral, farm, fd_exhaustion, reuseport, time_wait,
};
use std::path::Path;
use std::process::{Command, Stdio};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sockscope"))
}

/// `ss -tanH FILTER…` rows in this namespace.
fn ss_rows(filter: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["-tanH"];
    args.extend_from_slice(filter);
    rows(&ss(&args))
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn netstat(name: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/netstat").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let names: Vec<&str> = pair[0].split_whitespace().collect();
        let values: Vec<&str> = pair[1].split_whitespace().collect();
        if let Some(i) = names.iter().position(|n| *n == name) {
            return values[i].parse().unwrap();
        }
    }
    panic!("no counter {name}")
}

#[test]
fn backlog_fills_the_accept_queue_and_overflows() {
    private_netns();
    let b = backlog::Backlog::start(&backlog::Options { backlog: 3, clients: 20 }).unwrap();
    let port = format!("sport = :{}", b.truth.port);
    let listener = ss_rows(&["state", "listening", &port]);
    assert_eq!(listener.len(), 1);
    assert_eq!(
        (listener[0][0].as_str(), listener[0][1].as_str()),
        ("4", "3"),
        "Recv-Q = backlog + 1 queued, Send-Q = backlog"
    );
    assert!(netstat("ListenOverflows") > 0 && netstat("ListenDrops") > 0, "a fresh namespace starts at 0");
    assert_eq!(b.truth.connected, 4);
    drop(b);
    assert!(ss_rows(&[]).is_empty(), "{:?}", ss_rows(&[]));
}

#[test]
fn close_wait_sockets_are_held_by_this_process() {
    private_netns();
    let c = close_wait::CloseWait::start(&close_wait::Options { count: 7 }).unwrap();
    let cw = rows(&ss(&["-tanHe", "state", "close-wait"]));
    assert_eq!(cw.len(), 7);
    // Each is one of our fds: its inode (ss -e) is what /proc/self/fd/N points at.
    for fd in &c.truth.fds {
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let inode = link.to_string_lossy().trim_start_matches("socket:[").trim_end_matches(']').to_string();
        assert!(
            cw.iter().any(|r| r.iter().any(|t| *t == format!("ino:{inode}"))),
            "fd {fd} ({inode}) not in CLOSE-WAIT: {cw:?}"
        );
    }
    drop(c);
    assert!(ss_rows(&[]).is_empty(), "left behind: {:?}", ss_rows(&[]));
}

#[test]
fn time_wait_sockets_belong_to_no_one_and_are_reaped() {
    private_netns();
    let t = time_wait::TimeWait::start(&time_wait::Options { count: 25 }).unwrap();
    let tw = ss_rows(&["state", "time-wait"]);
    assert_eq!(tw.len(), 25);
    for (local, _) in &t.truth.sockets {
        assert!(tw.iter().any(|r| r[2] == local.to_string()), "{local} missing");
    }
    drop(t);
    assert!(ss_rows(&[]).is_empty(), "left behind: {:?}", ss_rows(&[]));
}

#[test]
fn fd_exhaustion_hits_emfile_in_a_worker() {
    private_netns();
    let f = fd_exhaustion::FdExhaustion::start(&fd_exhaustion::Options { limit: 64 }, exe()).unwrap();
    let pid = f.truth.pid;
    assert!(f.truth.error.starts_with("EMFILE"), "{}", f.truth.error);
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    assert_eq!(line.split_whitespace().nth(3), Some("64"), "{line}");
    // Every fd number below the soft limit is in use (fds inherited above it may exist).
    let below: std::collections::BTreeSet<u32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|n| *n < 64)
        .collect();
    assert_eq!(below, (0..64).collect(), "every fd below the soft limit is in use");
    let sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:")))
        })
        .count();
    assert_eq!(f.truth.opened as usize, sockets);
    drop(f);
    assert!(!process_exists(pid), "the worker is gone");
}

#[test]
fn addr_in_use_without_and_with_so_reuseaddr() {
    private_netns();
    let a = addr_in_use::AddrInUse::start(&addr_in_use::Options { connections: 3 }).unwrap();
    assert!(a.truth.without_reuseaddr.starts_with("EADDRINUSE"), "{}", a.truth.without_reuseaddr);
    assert_eq!(a.truth.with_reuseaddr, "ok");
    let port = format!("sport = :{}", a.truth.port);
    assert_eq!(ss_rows(&["state", "time-wait", &port]).len(), 3);
    assert_eq!(ss_rows(&["state", "listening", &port]).len(), 1, "the restarted listener");
    drop(a);
    assert!(ss_rows(&[]).is_empty(), "left behind: {:?}", ss_rows(&[]));
}

#[test]
fn ephemeral_range_exhaustion_is_eaddrnotavail() {
    private_netns();
    let e = ephemeral::Ephemeral::start(&ephemeral::Options { low: 41000, high: 41015 }).unwrap();
    assert_eq!(e.truth.connected, 16);
    assert!(e.truth.error.starts_with("EADDRNOTAVAIL"), "{}", e.truth.error);
    let clients = ss_rows(&["state", "established", &format!("dport = :{}", e.truth.server_port)]);
    let ports: std::collections::BTreeSet<u16> =
        clients.iter().map(|r| r[2].rsplit_once(':').unwrap().1.parse().unwrap()).collect();
    assert_eq!(ports, (41000..=41015).collect());
    drop(e);
    assert!(ss_rows(&[]).is_empty(), "left behind: {:?}", ss_rows(&[]));
}

#[test]
fn reuseport_spreads_over_listeners() {
    private_netns();
    let r = reuseport::Reuseport::start(&reuseport::Options { listeners: 4, clients: 200 }).unwrap();
    assert_eq!(r.truth.accepted.iter().sum::<u32>(), 200);
    assert!(r.truth.accepted.iter().all(|n| *n > 0), "{:?}", r.truth.accepted);
    assert_eq!(ss_rows(&["state", "listening", &format!("sport = :{}", r.truth.port)]).len(), 4);
    assert_eq!(ss_rows(&["state", "established"]).len(), 400);
    drop(r);
    assert!(ss_rows(&[]).is_empty(), "left behind: {:?}", ss_rows(&[]));
}

#[test]
fn farm_spreads_sockets_over_workers_and_leaves_nothing() {
    private_netns();
    let f = farm::Farm::start(&farm::Options { sockets: 3000, processes: 3 }, exe()).unwrap();
    assert_eq!(f.truth.workers.len(), 3);
    let est = ss_rows(&["state", "established"]).len() as u64;
    assert_eq!(est, f.truth.established);
    assert_eq!(ss_rows(&["state", "time-wait"]).len() as u64, f.truth.time_wait);
    let unix = rows(&ss(&["-xH"])).len() as u64;
    assert_eq!(unix, f.truth.unix);
    let mut fds = 0;
    for w in &f.truth.workers {
        fds += std::fs::read_dir(format!("/proc/{}/fd", w.pid)).unwrap().count() as u64;
    }
    assert!(fds >= f.truth.held, "workers hold their sockets: {fds} fds for {}", f.truth.held);
    assert!(f.truth.total() >= 2990, "{}", f.truth.total());
    let pids: Vec<u32> = f.truth.workers.iter().map(|w| w.pid).collect();
    drop(f);
    assert!(pids.iter().all(|p| !process_exists(*p)), "workers gone");
    assert!(ss_rows(&[]).is_empty(), "left behind: {} sockets", ss_rows(&[]).len());
}

#[test]
fn sizes_beyond_the_limits_are_refused_up_front() {
    private_netns();
    let too_many = farm::Farm::start(&farm::Options { sockets: 200_000, processes: 2 }, exe());
    let msg = too_many.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.starts_with("refused:") && msg.contains("RLIMIT_NOFILE") && msg.contains("--processes"), "{msg}");
    assert!(ss_rows(&[]).is_empty(), "nothing half-created");
    let e = ephemeral::Ephemeral::start(&ephemeral::Options { low: 5, high: 1 })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.starts_with("refused:"), "{e}");
    let out = sockscope(&["lab", "close-wait", "--count", "999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

/// The command: prints what it made, holds, and cleans up on SIGTERM.
#[test]
fn lab_command_cleans_up_on_sigterm() {
    private_netns();
    let mut child = Command::new(exe())
        .args(["lab", "farm", "--sockets", "300", "--processes", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["scenario"], "farm");
    let pids: Vec<u32> =
        v["made"]["workers"].as_array().unwrap().iter().map(|w| w["pid"].as_u64().unwrap() as u32).collect();
    assert_eq!(pids.len(), 2);
    assert!(!ss_rows(&["state", "established"]).is_empty());
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(pids.iter().all(|p| !process_exists(*p)), "workers gone after SIGTERM");
    assert!(ss_rows(&[]).is_empty(), "left behind: {}", ss_rows(&[]).len());
}

#[test]
fn benchmarks_report_beside_their_claims() {
    let made = |args: &[&str]| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&sockscope_ok(args)).unwrap();
        assert!(v["made"]["claim"].as_str().is_some_and(|c| !c.is_empty()), "each result sits beside its claim: {v}");
        v["made"].clone()
    };
    let num = |v: &serde_json::Value, k: &str| -> f64 {
        let n = v[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {v}"));
        assert!(n.is_finite() && n > 0.0, "{k} = {n} in {v}");
        n
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);

    let u = made(&["lab", "unix-vs-tcp", "--seconds", "0.1", "--json"]);
    let ratio = num(&u, "unix_mib_per_s") / num(&u, "tcp_mib_per_s");
    assert!(close(num(&u, "throughput_ratio"), ratio), "{u}");
    let reduction = 1.0 - num(&u, "unix_rtt_us") / num(&u, "tcp_rtt_us");
    assert!(close(u["latency_reduction"].as_f64().unwrap(), reduction), "{u}");

    let p = made(&["lab", "poll-vs-epoll", "--fds", "10,100", "--seconds-per-size", "0.02", "--json"]);
    let rows = p["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["fds"].as_u64().unwrap()).collect::<Vec<_>>(), vec![10, 100], "{p}");
    for r in rows {
        for k in ["poll_ns", "select_ns", "epoll_ns"] {
            num(r, k);
        }
    }
    let last = &rows[1];
    assert!(close(num(&p, "poll_over_epoll_at_max"), num(last, "poll_ns") / num(last, "epoll_ns")), "{p}");

    let n = made(&["lab", "nagle", "--requests", "3", "--json"]);
    assert_eq!(n["requests"], 3);
    // Nagle's algorithm meeting a delayed ACK costs a timer of tens of milliseconds; with
    // TCP_NODELAY a loopback round trip is microseconds.
    assert!(num(&n, "default_us") > num(&n, "nodelay_us"), "{n}");
    num(&n, "quickack_us");

    let b = made(&["lab", "blocking-vs-epoll", "--connections", "50", "--seconds", "0.2", "--json"]);
    assert_eq!(b["connections"], 50);
    let (threads, epoll) = (&b["thread_per_connection"], &b["epoll_loop"]);
    assert!(num(threads, "threads") >= 50.0, "{b}");
    assert_eq!(epoll["threads"], 1, "{b}");
    num(threads, "requests_per_s");
    num(epoll, "requests_per_s");
    assert!(num(threads, "rss_kib") > num(epoll, "rss_kib"), "a thread per connection costs memory: {b}");
}

/// Security issue 4: cleanup destroyed every closing socket on the lab's port, on any
/// address. Unrelated half-closed connections that reuse the lab's port number (on
/// 127.0.0.3) must survive the lab's cleanup.
#[test]
fn lab_cleanup_leaves_other_programs_connections_alone() {
    private_netns();
    let c = close_wait::CloseWait::start(&close_wait::Options { count: 3 }).unwrap();
    let lab_port = c.truth.port;
    // Another program: a server on 127.0.0.3 and clients bound to 127.0.0.3:<lab port>,
    // 127.0.0.3:<lab port + i>…, each half-closed (client FIN-WAIT-2, server CLOSE-WAIT).
    let server = std::net::TcpListener::bind("127.0.0.3:0").unwrap();
    let target = server.local_addr().unwrap();
    let mut keep = Vec::new();
    for i in 0..5u16 {
        let s = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::STREAM, None).unwrap();
        rustix::net::sockopt::set_socket_reuseaddr(&s, true).unwrap();
        let local = std::net::SocketAddrV4::new(std::net::Ipv4Addr::new(127, 0, 0, 3), lab_port.wrapping_add(i));
        rustix::net::bind(&s, &local).unwrap();
        rustix::net::connect(&s, &target).unwrap();
        let (accepted, _) = server.accept().unwrap();
        rustix::net::shutdown(&s, rustix::net::Shutdown::Write).unwrap();
        keep.push((s, accepted));
    }
    // Their half-closed states, on the clients' side (each shut its writing side down).
    let half_closed = || ss_rows(&["state", "fin-wait-2", "src", "127.0.0.3"]).len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while half_closed() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let theirs = || ss_rows(&["src", "127.0.0.3"]).len() + ss_rows(&["dst", "127.0.0.3"]).len();
    let before = theirs();
    assert!(before >= 10 && half_closed() == 5, "{:?}", ss_rows(&[]));
    drop(c);
    assert_eq!(theirs(), before, "the lab's cleanup touched another program's connections: {:?}", ss_rows(&[]));
    assert!(ss_rows(&[&format!("sport = :{lab_port}"), "src", "127.0.0.1"]).is_empty(), "the lab's own are gone");
}

/// Security issue 15: a port of the range held by another socket stopped the scenario early,
/// which still claimed every pair was taken.
#[test]
fn ephemeral_skips_a_port_held_by_another_socket() {
    private_netns();
    let held = std::net::TcpListener::bind("127.0.0.1:41104").unwrap();
    let e = ephemeral::Ephemeral::start(&ephemeral::Options { low: 41100, high: 41107 }).unwrap();
    assert_eq!(e.truth.held_elsewhere, vec![41104]);
    assert_eq!(e.truth.connected, 7);
    assert!(e.truth.error.starts_with("EADDRNOTAVAIL"), "{}", e.truth.error);
    drop(e);
    drop(held);
}
