//! Churn: the socket table, `fds` and `doctor` run again and again while connections open
//! and close thousands of times a second and short-lived processes come and go, all on
//! loopback in a private namespace, for a few seconds. Nothing may fail, no socket may be
//! listed twice, and the long-lived sockets must always show their true owners.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashSet;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHURN_FOR: Duration = Duration::from_secs(4);

#[test]
fn listings_stay_exact_while_connections_and_processes_churn() {
    private_netns();
    // The long-lived sockets whose owners must always be right.
    let steady: Vec<TcpListener> = (0..20).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let steady_fd: std::collections::HashMap<u16, u64> =
        steady.iter().map(|l| (l.local_addr().unwrap().port(), l.as_raw_fd() as u64)).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(AtomicU64::new(0));
    let churn = TcpListener::bind("127.0.0.1:0").unwrap();
    let churn_addr = churn.local_addr().unwrap();
    let mut threads = Vec::new();
    // Connections: open, accept, close, over and over (both sides close: TIME-WAIT churns too).
    {
        let (stop, connections) = (stop.clone(), connections.clone());
        // A new thread starts in the process's first namespace: it joins this test's.
        let ns = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
        threads.push(std::thread::spawn(move || {
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let c = TcpStream::connect(churn_addr).unwrap();
                let (s, _) = churn.accept().unwrap();
                drop(c);
                drop(s);
                connections.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Processes: short-lived children, so /proc entries vanish mid-walk.
    {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = Command::new("true").status();
            }
        }));
    }

    let me = std::process::id();
    // At least CHURN_FOR, and at least three rounds even on a loaded machine (bounded).
    let start = Instant::now();
    let mut rounds = 0;
    while (start.elapsed() < CHURN_FOR || rounds < 3) && start.elapsed() < 10 * CHURN_FOR {
        rounds += 1;
        let doc = sockscope_json(&["-tanp"]);
        let sockets = doc["sockets"].as_array().unwrap();
        let mut seen = HashSet::new();
        for s in sockets {
            let key = (
                s["cookie"].to_string(),
                endpoint_text(&s["local"]),
                endpoint_text(&s["peer"]),
                s["state"].to_string(),
            );
            assert!(seen.insert(key.clone()), "listed twice: {key:?}");
        }
        for (port, fd) in &steady_fd {
            let l = sockets
                .iter()
                .find(|s| s["state"] == "listening" && s["local"]["port"] == *port)
                .unwrap_or_else(|| panic!("steady listener :{port} missing"));
            let owners: Vec<(u64, u64)> = l["owners"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| (o["pid"].as_u64().unwrap(), o["fd"].as_u64().unwrap()))
                .collect();
            // A child being forked may briefly share our fds; we must always be among the owners.
            assert!(owners.contains(&(u64::from(me), *fd)), ":{port} owners {owners:?}");
        }
        let fds: Value = sockscope_json(&["fds", &me.to_string()]);
        let held: HashSet<u64> =
            fds["processes"][0]["fds"].as_array().unwrap().iter().filter_map(|f| f["fd"].as_u64()).collect();
        assert!(steady_fd.values().all(|fd| held.contains(fd)), "fds lost a steady listener");
        let out = sockscope(&["doctor", "--interval", "0", "--json"]);
        assert!(out.status.code().is_some_and(|c| c <= 2), "doctor: {}", String::from_utf8_lossy(&out.stderr));
        let _: Value = serde_json::from_slice(&out.stdout).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert!(rounds >= 3, "only {rounds} rounds in {CHURN_FOR:?}");
    assert!(connections.load(Ordering::Relaxed) > 1000, "too little churn to mean anything");
    drop(steady);
}
