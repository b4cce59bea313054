//! Every `--json` document against docs/json.md: each key the code emits (at any depth) is
//! documented in the section of its kind, and each documented key is emitted by the population
//! made here. Its own binary: `fds` reads this process's fd table whole. The captures' test
//! beside it adds only sockets of its own namespace and lowers the fd limit by one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use rustix::event::{EventfdFlags, epoll};
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
use serde_json::Value;
use sockscope_lab::{Holder, sockets as lab};
use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};

const DOCS: &str = include_str!("../../../docs/json.md");

/// Keys whose values are maps with data for keys (state names, rule evidence, thresholds,
/// a scenario's own account): their keys are described, not listed.
const MAPS: [&str; 4] = ["states", "evidence", "thresholds", "made"];

/// Documented keys no population here can make, and why.
const NOT_MADE_HERE: [(&str, &str); 32] = [
    ("capture", "only with --from (capture_documents_are_documented)"),
    ("path", "in capture"),
    ("host", "in capture"),
    ("kernel", "in capture"),
    ("written_by", "in capture"),
    ("taken_at", "in capture"),
    ("frame", "in capture"),
    ("frames", "in capture"),
    ("redacted", "in capture"),
    ("dctcp", "only for DCTCP connections (this kernel has no DCTCP; parse and text are unit-tested)"),
    ("enabled", "in dctcp"),
    ("ce_state", "in dctcp"),
    ("alpha", "in dctcp"),
    ("ab_ecn", "in dctcp"),
    ("ab_tot", "in dctcp"),
    ("vegas_rtt_us", "only for Vegas connections (this kernel has no Vegas)"),
    ("fanout", "only for a packet socket in a PACKET_FANOUT group"),
    ("reason", "only for a process that cannot be read (tests/robustness.rs)"),
    ("command_bytes", "only for a process name that is not UTF-8 (tests/hostile.rs)"),
    ("path_bytes", "only for a socket path that is not UTF-8 (tests/hostile.rs)"),
    ("hidepid", "only when /proc hides other users' processes (tests/robustness.rs)"),
    ("tid", "only with -T"),
    ("tracepoint_records", "only in a `lost` record, when the kernel dropped records (tests/events.rs storm)"),
    ("destroy_record_overflows", "only in a `lost` record"),
    ("namespaces", "only with --netns or --all-netns (tests/netns.rs)"),
    ("netns", "only with --netns or --all-netns (tests/netns.rs)"),
    ("container", "only with --netns or --all-netns, for a socket in a container (tests/containers.rs)"),
    ("namespace", "in `who`, only with --netns or --all-netns (tests/containers.rs)"),
    ("netns_name", "in `events`, only with --netns or --all-netns, for a named namespace (tests/events.rs)"),
    ("inet_sockopt", "only with --inet-sockopt (tests/ss_parity.rs)"),
    ("mptcp", "only for MPTCP sockets (tests/ss_parity.rs mptcp_sockets_are_read_as_ss_m_reads_them)"),
    ("ulp", "only for TCP sockets with an upper layer, MPTCP subflows and kTLS (tests/ss_parity.rs)"),
];

/// The backquoted words of the first column of every table row in `## title` (to the next
/// `## `), subsections included.
fn documented(title: &str) -> BTreeSet<String> {
    let body = DOCS
        .split(&format!("\n## {title}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/json.md has no section '## {title}'"))
        .split("\n## ")
        .next()
        .unwrap();
    body.lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(" |").next())
        .flat_map(|cell| cell.split(", ").filter_map(|w| w.strip_prefix('`')?.strip_suffix('`')).map(str::to_owned))
        .collect()
}

/// Every object key in `v`, at any depth, not looking inside `MAPS`.
fn emitted(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                out.insert(k.clone());
                if !MAPS.contains(&k.as_str()) {
                    emitted(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| emitted(i, out)),
        _ => {}
    }
}

/// One kind's documents against its section of the docs and the envelope's: the same keys.
/// Keys of objects it embeds from another kind (`embeds`: sockets in `fds` and `who`) must be
/// documented there.
fn check(kind: &str, docs: &[Value], embeds: &[&str]) {
    let mut made = BTreeSet::new();
    for d in docs {
        assert_eq!(d["kind"], kind, "{d}");
        emitted(d, &mut made);
    }
    let mut own: BTreeSet<String> = documented("Envelope");
    own.extend(documented(&format!("`{kind}`")));
    let mut known = own.clone();
    for other in embeds {
        known.extend(documented(&format!("`{other}`")));
    }
    let undocumented: Vec<&String> = made.difference(&known).collect();
    assert!(undocumented.is_empty(), "{kind}: emitted but not in docs/json.md: {undocumented:?}");
    let unmade: Vec<&String> = own.difference(&made).filter(|k| !NOT_MADE_HERE.iter().any(|(n, _)| n == k)).collect();
    assert!(unmade.is_empty(), "{kind}: in docs/json.md but never emitted here: {unmade:?}");
}

#[test]
fn every_document_key_is_documented_and_every_documented_key_is_emitted() {
    // A socket of the namespace the test started in: `fds` names its protocol only.
    let elsewhere = UdpSocket::bind("127.0.0.1:0").unwrap();
    private_netns();
    let dir = lab::tempdir().unwrap();
    // Sockets of every family and endpoint kind, with timers, marks, queues and shutdowns.
    let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l6 = TcpListener::bind("[::]:0").unwrap();
    lab::set_mark(&l4, 7).unwrap();
    let port = l4.local_addr().unwrap().port().to_string();
    let pair = lab::connected_pair(&l4).unwrap();
    // BBR on one end: `bbr` (-i).
    rustix::net::sockopt::set_tcp_congestion(&pair.0, "bbr").unwrap();
    let _tw = lab::time_wait(&l4).unwrap();
    // Enough CLOSE-WAIT for the doctor to find a leak.
    let close_waits: Vec<_> = (0..6).map(|_| lab::close_wait(&l4).unwrap()).collect();
    let _u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _u6 = UdpSocket::bind("[::]:0").unwrap();
    let unix_path = format!("{dir}/a.sock");
    let _ul = UnixListener::bind(&unix_path).unwrap();
    // A connection it has not accepted yet: a listener's `pending`.
    let _waiting = UnixStream::connect(&unix_path).unwrap();
    let _abstract = lab::abstract_listener("sockscope-json-schema").unwrap();
    let _raw = lab::raw_socket(rustix::net::AddressFamily::INET, 1).unwrap();
    let _packet = lab::packet_socket(rustix::net::SocketType::RAW, 0x0003).unwrap();
    // A netlink socket in a multicast group: `netlink_groups`.
    let rtnl = rustix::net::socket(rustix::net::AddressFamily::NETLINK, rustix::net::SocketType::RAW, None).unwrap();
    rustix::net::bind(&rtnl, &rustix::net::netlink::SocketAddrNetlink::new(0, 1)).unwrap();
    // A stale socket file: bound, then its socket closed.
    let stale_path = format!("{dir}/stale.sock");
    drop(UnixListener::bind(&stale_path).unwrap());
    // fds of every detailed kind, with peers in another process.
    let (pipe_r, pipe_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let (sp_a, sp_b) = UnixStream::pair().unwrap();
    let efd = rustix::event::eventfd(7, EventfdFlags::CLOEXEC).unwrap();
    let tfd = rustix::time::timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC).unwrap();
    let spec =
        Itimerspec { it_interval: Timespec { tv_sec: 2, tv_nsec: 0 }, it_value: Timespec { tv_sec: 60, tv_nsec: 0 } };
    rustix::time::timerfd_settime(&tfd, TimerfdTimerFlags::empty(), &spec).unwrap();
    let mut mask = nix::sys::signal::SigSet::empty();
    mask.add(nix::sys::signal::Signal::SIGUSR2);
    mask.thread_block().unwrap();
    let _sfd = nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC).unwrap();
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
    epoll::add(&ep, &efd, epoll::EventData::new_u64(1), epoll::EventFlags::IN).unwrap();
    let ino = rustix::fs::inotify::init(rustix::fs::inotify::CreateFlags::CLOEXEC).unwrap();
    rustix::fs::inotify::add_watch(&ino, dir.as_str(), rustix::fs::inotify::WatchFlags::CREATE).unwrap();
    let pidfd = rustix::process::pidfd_open(rustix::process::getpid(), rustix::process::PidfdFlags::empty()).unwrap();
    let file = std::fs::File::create(format!("{dir}/data.log")).unwrap();
    // A TCP socket straight from socket(), held by a process of this namespace: `unbound`.
    let unbound = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::STREAM, None).unwrap();
    let holder = Holder::spawn(vec![pipe_w, OwnedFd::from(sp_b), unbound]).unwrap();
    let me = std::process::id().to_string();
    let holder_pid = holder.pid().to_string();

    let sockets = sockscope_json(&["-a", "-p", "-e", "-m", "-i", "--tos", "--cgroup", "--sockopts"]);
    check("sockets", &[sockets], &[]);
    check("summary", &[sockscope_json(&["-s"])], &[]);
    check("groups", &[sockscope_json(&["-a", "--summary-by", "port"])], &[]);
    let fds = sockscope_json(&["fds", &me, &holder_pid, "--peers"]);
    check("fds", &[fds], &["sockets"]);
    check("fd_limits", &[sockscope_json(&["fds", "--top"])], &[]);
    let who_port = sockscope_json(&["who", &format!(":{port}")]);
    let who_unix = sockscope_json(&["who", &unix_path]);
    let who_file = sockscope_json(&["who", &format!("{dir}/data.log")]);
    // A stale socket file is "found" by nobody: exit status 1, still a document.
    let stale = sockscope(&["who", &stale_path, "--json"]);
    let who_stale: Value = serde_json::from_slice(&stale.stdout).unwrap();
    assert_eq!(who_stale["stale"], true, "{who_stale}");
    check("who", &[who_port, who_unix, who_file, who_stale], &["sockets"]);
    let doctor = sockscope(&["doctor", "--interval", "0", "--json"]);
    let doctor: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    check("doctor", &[doctor], &[]);
    // Two refreshes: the second has rates and the doctor's findings (the CLOSE-WAIT above).
    let watch = sockscope(&["watch", "--count", "2", "--interval", "0.2", "--json"]);
    let watch: Vec<Value> =
        String::from_utf8_lossy(&watch.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(watch.len(), 2);
    assert!(watch[1]["findings"].as_array().is_some_and(|f| !f.is_empty()), "{}", watch[1]);
    check("watch", &watch, &["sockets", "doctor"]);
    let lab_doc = sockscope_json(&["lab", "time-wait", "--count", "1", "--hold", "0"]);
    check("lab", &[lab_doc], &[]);
    // A trace of every kind of event and fd: calls on sockets of each family (and on files,
    // with close), a signal, a child's exit, a death by signal; and its -c table.
    let unix = unix_scenario();
    let trace = sockscope(&[
        "trace",
        "-f",
        "-C",
        "--json",
        "-e",
        "trace=%net,close",
        "--",
        program(),
        "tcp4",
        "refused",
        "fork",
        &unix,
        "netlink",
        "die",
    ]);
    assert_eq!(trace.status.code(), Some(137), "{trace:?}");
    let trace: Value = serde_json::from_slice(&trace.stderr).unwrap();
    check("trace", &[trace], &[]);
    // Events: state changes, and lives, of connections made while they run.
    let events = |args: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .arg("events")
            .args(args)
            .args(["--json", "--count", "1", "dport = :7990"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:7990").unwrap();
        // Until it has seen one (its rings open a moment after it starts).
        while child.try_wait().unwrap().is_none() {
            drop(std::net::TcpStream::connect("127.0.0.1:7990").unwrap());
            drop(listener.accept().unwrap());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    check("events", &[events(&[]), events(&["--life"]), events(&["--all-netns"])], &[]);
    drop((rtnl, holder, elsewhere, close_waits, pipe_r, sp_a, tfd, ep, ino, pidfd, file, l6));
}

/// The `capture` object of a document answered `--from` a capture, and `diff` between two
/// captures around a leak, a new listener and a raised fd limit.
#[test]
fn capture_documents_are_documented() {
    private_netns();
    let dir = lab::tempdir().unwrap();
    let (a, b) = (format!("{dir}/a.cap"), format!("{dir}/b.cap"));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut held: Vec<_> = (0..10).map(|_| lab::close_wait(&l).unwrap()).collect();
    assert!(sockscope(&["record", "-o", &a, "--window", "0"]).status.success());
    held.extend((0..150).map(|_| lab::close_wait(&l).unwrap()));
    let _new = TcpListener::bind("127.0.0.1:0").unwrap();
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let lower = rustix::process::Rlimit { current: limit.current.map(|c| c - 1), maximum: limit.maximum };
    rustix::process::setrlimit(rustix::process::Resource::Nofile, lower).unwrap();
    assert!(sockscope(&["record", "-o", &b, "--window", "0"]).status.success());
    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit).unwrap();

    let from = sockscope_json(&["--from", &b, "-tan"]);
    let mut made = BTreeSet::new();
    emitted(&from["capture"], &mut made);
    let mut want = documented("Envelope");
    want.retain(|k| NOT_MADE_HERE.iter().any(|(n, why)| n == k && why.contains("capture")) && k != "capture");
    assert_eq!(made, want, "the capture object against docs/json.md");
    let out = sockscope(&["diff", &a, &b, "--json"]);
    assert_eq!(out.status.code(), Some(1), "a leak is a finding: {}", String::from_utf8_lossy(&out.stderr));
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    check("diff", &[diff], &["doctor"]);
    drop(held);
}
