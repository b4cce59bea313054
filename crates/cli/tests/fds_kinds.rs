//! `sockscope fds` on this test process, which opens one fd of each kind. Alone in its test
//! binary: the fd set is compared with /proc/self/fd, so no other test may open fds meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use rustix::event::{EventfdFlags, epoll};
use rustix::fs::{MemfdFlags, inotify};
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
use serde_json::Value;
use sockscope_lab::{Holder, sockets as lab};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

fn fd_numbers_now() -> BTreeSet<u64> {
    std::fs::read_dir("/proc/self/fd").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
}

#[test]
fn every_kind_of_fd_with_flags_details_and_peers() {
    private_netns();
    let dir = lab::tempdir().unwrap();
    let file = std::fs::File::create(format!("{dir}/data.log")).unwrap();
    let directory = std::fs::File::open(&dir).unwrap();
    let (pipe_r, pipe_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let (sp_a, sp_b) = UnixStream::pair().unwrap();
    let efd = rustix::event::eventfd(7, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC).unwrap();
    let tfd = rustix::time::timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC).unwrap();
    let spec = Itimerspec {
        it_interval: Timespec { tv_sec: 2, tv_nsec: 500_000_000 },
        it_value: Timespec { tv_sec: 60, tv_nsec: 0 },
    };
    rustix::time::timerfd_settime(&tfd, TimerfdTimerFlags::empty(), &spec).unwrap();
    let mut mask = nix::sys::signal::SigSet::empty();
    mask.add(nix::sys::signal::Signal::SIGUSR2);
    mask.add(nix::sys::signal::Signal::SIGWINCH);
    mask.thread_block().unwrap();
    let sfd = nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC).unwrap();
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
    epoll::add(&ep, &efd, epoll::EventData::new_u64(1), epoll::EventFlags::IN).unwrap();
    epoll::add(&ep, &pipe_r, epoll::EventData::new_u64(2), epoll::EventFlags::IN | epoll::EventFlags::ET).unwrap();
    epoll::add(
        &ep,
        &sp_a,
        epoll::EventData::new_u64(3),
        epoll::EventFlags::IN | epoll::EventFlags::OUT | epoll::EventFlags::RDHUP,
    )
    .unwrap();
    let ino = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).unwrap();
    inotify::add_watch(&ino, dir.as_str(), inotify::WatchFlags::CREATE | inotify::WatchFlags::DELETE).unwrap();
    let mfd = rustix::fs::memfd_create("sockscope-test", MemfdFlags::CLOEXEC).unwrap();
    rustix::io::write(&mfd, b"12345").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let (client, server) = lab::connected_pair(&listener).unwrap();
    // The other ends of the pipe and the socketpair live in another process.
    let holder = Holder::spawn(vec![pipe_w, OwnedFd::from(sp_b)]).unwrap();

    // Run sockscope with stdout/stderr going to files opened before the fd set is read, so
    // the spawn adds no fd to this process that the readdir does not see.
    let out_path = format!("{dir}/out.json");
    let out = std::fs::File::create(&out_path).unwrap();
    let err = std::fs::File::create(format!("{dir}/err.txt")).unwrap();
    let before = fd_numbers_now();
    let status = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["fds", &std::process::id().to_string(), "--json"])
        .stdin(Stdio::inherit())
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    let after = fd_numbers_now();
    assert!(status.success(), "{}", std::fs::read_to_string(format!("{dir}/err.txt")).unwrap());
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let procs = json["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1);
    let p = &procs[0];
    let fds = p["fds"].as_array().unwrap();
    let by_fd = |fd: i32| -> &Value {
        fds.iter().find(|f| f["fd"] == fd).unwrap_or_else(|| panic!("fd {fd} missing from {}", p["fds"]))
    };

    // The numbered fds are exactly those in /proc/self/fd (taken before and after the run;
    // the output files, closed here at spawn, are in `before` only).
    let reported: BTreeSet<u64> = fds.iter().filter_map(|f| f["fd"].as_u64()).collect();
    assert!(
        after.is_subset(&reported) && reported.is_subset(&before),
        "reported {reported:?}, before {before:?}, after {after:?}"
    );
    assert_eq!(p["open"].as_u64().unwrap() as usize, reported.len());
    assert_eq!(p["highest_fd"].as_u64(), reported.iter().max().copied());

    // An fd's peers: the holders of its peer group, less itself.
    let peers = |f: &Value| -> Value {
        let group = &json["shared"][f["peer_group"].as_u64().unwrap_or(u64::MAX) as usize];
        let holders = group["holders"].as_array().cloned().unwrap_or_default();
        let me = (p["pid"].clone(), f["fd"].clone());
        Value::Array(holders.into_iter().filter(|h| (h["pid"].clone(), h["fd"].clone()) != me).collect())
    };
    let f = by_fd(file.as_raw_fd());
    assert_eq!((f["kind"].as_str(), f["flags"]["access"].as_str()), (Some("regular"), Some("w")));
    assert!(f["link"].as_str().unwrap().ends_with("/data.log"));
    assert_eq!(by_fd(directory.as_raw_fd())["kind"], "directory");
    let pr = by_fd(pipe_r.as_raw_fd());
    assert_eq!((pr["kind"].as_str(), pr["flags"]["access"].as_str()), (Some("fifo"), Some("r")));
    assert_eq!(peers(pr), serde_json::json!([{"pid": holder.pid(), "command": "sleep", "fd": 0}]));
    let sa = by_fd(sp_a.as_raw_fd());
    assert_eq!((sa["kind"].as_str(), sa["socket"]["netid"].as_str()), (Some("socket"), Some("unix_stream")));
    assert_eq!(peers(sa), serde_json::json!([{"pid": holder.pid(), "command": "sleep", "fd": 1}]));
    let e = by_fd(efd.as_raw_fd());
    assert_eq!(e["kind"], "eventfd");
    assert_eq!(e["details"]["count"], 7);
    assert_eq!(e["flags"]["names"], serde_json::json!(["O_NONBLOCK", "O_CLOEXEC"]));
    let t = by_fd(tfd.as_raw_fd());
    assert_eq!(
        (t["details"]["clock"].as_str(), t["details"]["interval_ns"].as_u64()),
        (Some("CLOCK_MONOTONIC"), Some(2_500_000_000))
    );
    assert!(t["details"]["next_expiry_ns"].as_u64().unwrap() > 50_000_000_000);
    assert_eq!(by_fd(sfd.as_raw_fd())["details"]["signals"], serde_json::json!(["SIGUSR2", "SIGWINCH"]));
    let w = by_fd(ep.as_raw_fd());
    assert_eq!(w["kind"], "eventpoll");
    let mut watches: Vec<(u64, Vec<String>)> = w["details"]["watches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["fd"].as_u64().unwrap(), serde_json::from_value(x["event_names"].clone()).unwrap()))
        .collect();
    watches.sort();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut want = vec![
        (efd.as_raw_fd() as u64, names(&["EPOLLIN", "EPOLLERR", "EPOLLHUP"])),
        (pipe_r.as_raw_fd() as u64, names(&["EPOLLIN", "EPOLLERR", "EPOLLHUP", "EPOLLET"])),
        (sp_a.as_raw_fd() as u64, names(&["EPOLLIN", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLRDHUP"])),
    ];
    want.sort();
    assert_eq!(watches, want, "the epoll watch list, exactly");
    let i = by_fd(ino.as_raw_fd());
    assert_eq!(i["kind"], "inotify");
    assert_eq!(i["details"]["watches"][0]["mask_names"], serde_json::json!(["IN_CREATE", "IN_DELETE"]));
    let m = by_fd(mfd.as_raw_fd());
    assert_eq!((m["kind"].as_str(), m["pos"].as_u64()), (Some("memfd"), Some(5)));
    let l = by_fd(listener.as_raw_fd());
    assert_eq!((l["socket"]["netid"].as_str(), l["socket"]["state"].as_str()), (Some("tcp"), Some("listening")));
    // A loopback connection's peer is the other socket of the pair, here in this process.
    let c = by_fd(client.as_raw_fd());
    assert_eq!(
        peers(c),
        serde_json::json!([{"pid": std::process::id(), "command": p["command"], "fd": server.as_raw_fd()}])
    );
    // lsof's pseudo-fds.
    for special in ["cwd", "rtd", "txt", "mem"] {
        assert!(fds.iter().any(|f| f["fd"] == special), "{special}");
    }
    assert!(p["limit"]["soft"].as_u64().is_some());
    assert!(json["system"]["max"].as_u64().is_some_and(|m| m > 0));

    // The table names each kind the same way.
    let table = sockscope_ok(&["fds", &std::process::id().to_string(), "--peers", "--no-specials"]);
    for needle in [
        "eventfd",
        "timerfd",
        "signalfd",
        "eventpoll",
        "inotify",
        "memfd",
        "FIFO",
        "u_str",
        "tcp",
        "REG",
        "DIR",
        "SIGUSR2,SIGWINCH",
        "every 2.5s",
        "peers: sleep(",
    ] {
        assert!(table.contains(needle), "{needle} missing from\n{table}");
    }
    drop(holder);
}
