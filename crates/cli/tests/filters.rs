//! The filter language against ss, the kernel path against the user-space path, and the
//! friendly flags, on one population of sockets per test in a private namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use sockscope_core::hosts::{Host, LiveHost};
use sockscope_lab::{Holder, sockets as lab};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

/// Sockets on fixed ports (the namespace is ours alone), kept open while the test runs.
struct Population {
    _keep: Vec<Box<dyn std::any::Any>>,
    holder: Holder,
    dir: lab::TempDir,
}

fn population() -> Population {
    private_netns();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let l80 = TcpListener::bind("127.0.0.1:80").unwrap();
    let l8080 = TcpListener::bind("0.0.0.0:8080").unwrap();
    let l443 = TcpListener::bind("[::1]:443").unwrap();
    let l9000 = TcpListener::bind("[::]:9000").unwrap();
    for _ in 0..2 {
        keep.push(Box::new(lab::connected_pair(&l80).unwrap()));
    }
    keep.push(Box::new(lab::connected_pair(&l8080).unwrap()));
    keep.push(Box::new(lab::connected_pair(&l443).unwrap()));
    // An IPv4 client of a dual-stack listener: the server side is ::ffff:127.0.0.1.
    let c = TcpStream::connect("127.0.0.1:9000").unwrap();
    keep.push(Box::new((c, l9000.accept().unwrap())));
    // Kept open: closed here, a child another test thread forks could hold it for a moment
    // longer, and two looks would disagree about it.
    keep.push(Box::new(l9000));
    keep.push(Box::new(lab::time_wait(&l8080).unwrap()));
    keep.push(Box::new(lab::close_wait(&l80).unwrap()));
    // A listener with a mark, one bound to a device.
    let marked = TcpListener::bind("127.0.0.1:7000").unwrap();
    lab::set_mark(&marked, 5).unwrap();
    let u53 = UdpSocket::bind("127.0.0.1:53").unwrap();
    let u5353 = UdpSocket::bind("[::1]:5353").unwrap();
    let ucon = UdpSocket::bind("127.0.0.1:0").unwrap();
    ucon.connect("127.0.0.1:53").unwrap();
    let udev = UdpSocket::bind("127.0.0.1:6000").unwrap();
    lab::bind_to_device(&udev, "lo").unwrap();
    // A listener held only by a child process.
    let child_listener = TcpListener::bind("127.0.0.1:6543").unwrap();
    let holder = Holder::spawn(vec![OwnedFd::from(child_listener)]).unwrap();
    let dir = lab::tempdir().unwrap();
    let ul = UnixListener::bind(format!("{dir}/api.sock")).unwrap();
    let ud = UnixDatagram::bind(format!("{dir}/log.dgram")).unwrap();
    let up = UnixStream::pair().unwrap();
    keep.push(Box::new((l80, l8080, l443, marked, u53, u5353, ucon, udev, ul, ud, up)));
    Population { _keep: keep, holder, dir }
}

/// sockscope and ss, same flags and filter, same rows.
fn same_as_ss(flags: &[&str], filter: &str) {
    // ss wants the filter as separate words (its `state` clauses are read word by word).
    let mut ours: Vec<&str> = flags.to_vec();
    ours.push("-H");
    ours.extend(filter.split_whitespace());
    let mut theirs = flags.to_vec();
    theirs.push("-H");
    theirs.extend(filter.split_whitespace());
    let got = rows(&sockscope_ok(&ours));
    let want = rows(&ss(&theirs));
    assert_eq!(got, want, "filter {filter:?} with {flags:?}");
}

#[test]
fn filters_select_what_ss_selects() {
    let p = population();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let cgroup = cgroup.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("/").to_string();
    let tcp = [
        "sport = :80",
        "dport = :80",
        "sport == :http",
        "( sport = :80 or dport = :80 )",
        "sport >= :1024",
        "dport < :1024",
        "sport > :80 and sport <= :8080",
        "sport eq :80",
        "dport gt :1000",
        "dport ge :443",
        "sport le :443",
        "sport lt :443",
        "sport neq :80",
        "sport != :80",
        "not sport = :80",
        "! dport = :8080",
        "src 127.0.0.1",
        "dst 127.0.0.0/8",
        "src 127.0.0.1:80",
        "src [::1]",
        "dst [::1]:443",
        "src *:8080",
        "src :9000",
        "dst 127.0.0.1",
        "state established",
        "state time-wait",
        "state close-wait",
        "state fin-wait-2",
        "state listening",
        "exclude listening",
        "state connected",
        "state synchronized",
        "state bucket",
        "state big",
        "state all",
        "state established sport = :80",
        "state established ( dport = :80 or sport = :80 )",
        "state established state time-wait",
        "autobound",
        "not autobound",
        "fwmark = 5",
        "fwmark = 0x4/0x4",
        "fwmark != 5",
        // ss evaluates left to right; where that agrees with and-before-or, no parentheses.
        "sport = :80 and dport = :0 or sport = :443",
        "( sport = :80 or sport = :443 ) and dport = :0",
        "sport = :80 dport = :0",
    ];
    for f in tcp {
        same_as_ss(&["-tan"], f);
    }
    // ss's own `cgroup =` lookup fails on hosts where cgroup2 is not at /sys/fs/cgroup (it
    // selects nothing here); its --cgroup column is the oracle for the ids instead.
    assert_eq!(rows(&sockscope_ok(&["-tanH", "--cgroup"])), rows(&ss(&["-tanH", "--cgroup"])));
    // Every full socket the test made is in our cgroup; TIME-WAIT mini-sockets (also shown
    // as FIN-WAIT-2) carry no cgroup and the kernel matches them as cgroup 0.
    let mut full = rows(&sockscope_ok(&["-tanH"]));
    full.retain(|r| r[0] != "TIME-WAIT" && r[0] != "FIN-WAIT-2");
    assert_eq!(rows(&sockscope_ok(&["-tanH", "cgroup", "=", &cgroup])), full);
    let others = rows(&sockscope_ok(&["-tanH", "cgroup", "!=", &cgroup]));
    assert!(others.iter().all(|r| r[0] == "TIME-WAIT" || r[0] == "FIN-WAIT-2"), "{others:?}");
    // Where ss is inconsistent we differ on purpose: state clauses that leave no state select
    // nothing (ss falls back to its default, connected sockets).
    assert!(rows(&sockscope_ok(&["-tanH", "state", "listening", "exclude", "listening"])).is_empty());
    for f in [
        "sport = :53",
        "dport = :53",
        "src [::1]",
        "dev = lo",
        "dev = 1",
        "dev != lo",
        "state established",
        "sport > :100",
    ] {
        same_as_ss(&["-uan"], f);
    }
    for f in [&format!("src {}/*.sock", p.dir), &format!("src {}/*", p.dir), "src /nonexistent/*"] {
        same_as_ss(&["-xa"], f);
    }
}

/// ss reads `A or B and C` as `(A or B) and C`; sockscope, like ss's manual, as
/// `A or (B and C)`. Parenthesised the way we read it, ss agrees with us.
#[test]
fn and_binds_tighter_than_or_unlike_ss() {
    let _p = population();
    let ours = "sport = :80 or sport = :8080 and dport = :0";
    let theirs = "sport = :80 or ( sport = :8080 and dport = :0 )";
    let got = rows(&sockscope_ok(&["-tanH", ours]));
    assert_eq!(got, rows(&ss(&["-tanH", theirs])));
    // What ss does with the bare form: only 8080's listener survives ((80 or 8080) and dport 0).
    let ss_bare = rows(&ss(&["-tanH", ours]));
    assert_ne!(got, ss_bare, "the precedence difference must show on this population");
    assert!(got.iter().any(|r| r[3].ends_with(":80")), "port 80 sockets selected: {got:?}");
    // `not` binds tightest: not A and B = (not A) and B.
    assert_eq!(
        rows(&sockscope_ok(&["-tanH", "not sport = :80 and dport = :0"])),
        rows(&ss(&["-tanH", "( not sport = :80 ) and dport = :0"]))
    );
}

/// The kernel's bytecode and the user-space evaluator select the same sockets.
#[test]
fn kernel_and_user_space_paths_agree() {
    let _p = population();
    for f in [
        "sport = :80",
        "( sport = :80 or dport = :80 )",
        "sport >= :1024 and not dport = :0",
        "dst 127.0.0.0/8",
        "src [::1]",
        "dst 127.0.0.1",
        "src ::ffff:127.0.0.1",
        "not ( sport > :80 and sport <= :8080 ) or dport = :443",
        "dev = lo",
        "sport < :0",
        "sport > :65535",
        "not sport < :0",
    ] {
        for flags in ["-tuan", "-tuan4", "-tuan6"] {
            let kernel = sockscope_ok(&[flags, "-H", "--kernel-filter", "only", f]);
            let user = sockscope_ok(&[flags, "-H", "--kernel-filter", "off", f]);
            let both = sockscope_ok(&[flags, "-H", f]);
            assert_eq!(rows(&kernel), rows(&user), "{flags} {f}");
            assert_eq!(rows(&both), rows(&user), "{flags} {f}");
        }
    }
    let json = sockscope_json(&["-ta", "sport = :80"]);
    assert_eq!(json["kernel_filtered"], true, "a port filter runs in the kernel");
    let json = sockscope_json(&["-ta", "sport = :80 or state listening"]);
    assert_eq!(json["kernel_filtered"], false);
}

#[test]
fn friendly_flags_compile_into_the_same_filter() {
    let p = population();
    let same = |flags: &[&str], filter: &str| {
        let mut a = vec!["-tuanH"];
        a.extend_from_slice(flags);
        assert_eq!(rows(&sockscope_ok(&a)), rows(&sockscope_ok(&["-tuanH", filter])), "{flags:?} vs {filter}");
    };
    same(&["--port", "80"], "( sport = :80 or dport = :80 )");
    same(&["--port", "http"], "( sport = :80 or dport = :80 )");
    same(&["--port", "80", "--port", "53"], "( sport = :80 or dport = :80 or sport = :53 or dport = :53 )");
    same(&["--state", "time-wait"], "state time-wait");
    same(&["--state", "listening", "--port", "80"], "state listening ( sport = :80 or dport = :80 )");
    let pid = p.holder.pid().to_string();
    let held = rows(&sockscope_ok(&["-tanH", "--pid", &pid]));
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0][3], "127.0.0.1:6543");
    let by_comm = rows(&sockscope_ok(&["-tanH", "--comm", "sleep"]));
    assert_eq!(by_comm, held);
    assert!(rows(&sockscope_ok(&["-tanH", "--comm", "no-such-command"])).is_empty());
    // -F reads the filter from a file, comments and line breaks allowed.
    let file = format!("{}/filter", p.dir);
    std::fs::write(&file, "# ssh and web\n( sport = :80\n  or dport = :80 )\n").unwrap();
    assert_eq!(rows(&sockscope_ok(&["-tanH", "-F", &file])), rows(&ss(&["-tanH", "( sport = :80 or dport = :80 )"])));
}

#[test]
fn filter_errors_name_token_and_column() {
    for (args, needle) in [
        (&["-t", "sport", "=", ":80", ")"][..], "unmatched ')' at column 13 (')')"),
        (&["-t", "dport >= :99999"], "port out of range (0-65535) at column 10 (':99999')"),
        (&["-t", "state", "sleepy"], "unknown state"),
        (&["-t", "dev = nosuchdev0"], "no such network interface in this namespace ('nosuchdev0')"),
        (&["-t", "cgroup = /no/such/cgroup"], "no such cgroup"),
        (&["-t", "frobnicate"], "unknown condition"),
        (&["-t", "--port", "99999"], "--port: '99999'"),
        (&["-t", "--state", "sleepy"], "--state: unknown state 'sleepy'"),
        (&["-t", "-F", "/nonexistent/filter"], "cannot read filter file /nonexistent/filter"),
        (&["-t", "--source", "proc", "fwmark = 1"], "'fwmark' is decided by the kernel"),
        (&["-K", "-t"], "needs a filter"),
    ] {
        let out = sockscope(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn kill_destroys_only_the_matching_sockets() {
    private_netns();
    let l1 = TcpListener::bind("127.0.0.1:7001").unwrap();
    let l2 = TcpListener::bind("127.0.0.1:7002").unwrap();
    let (c1, _s1) = lab::connected_pair(&l1).unwrap();
    let (c2, _s2) = lab::connected_pair(&l2).unwrap();
    let before = rows(&ss(&["-tanH"]));

    // --dry-run lists and destroys nothing.
    let dry = rows(&sockscope_ok(&["-tnH", "-K", "--dry-run", "dport = :7001"]));
    assert_eq!(dry.len(), 1);
    assert_eq!(rows(&ss(&["-tanH"])), before);

    let killed = rows(&sockscope_ok(&["-tnH", "-K", "dport = :7001"]));
    assert_eq!(killed, dry, "prints what it destroyed");
    // The owner of the destroyed socket sees ECONNABORTED; the other connection is intact.
    use std::io::Read;
    let err = (&c1).read(&mut [0u8; 1]).expect_err("destroyed");
    assert_eq!(err.raw_os_error(), Some(rustix::io::Errno::CONNABORTED.raw_os_error()));
    let after = rows(&ss(&["-tanH", "state", "established"]));
    assert!(after.iter().all(|r| !r.join(" ").contains(":7001")), "{after:?}");
    assert_eq!(after.len(), 2, "the 7002 pair remains: {after:?}");
    c2.set_nonblocking(true).unwrap();
    assert_eq!((&c2).read(&mut [0u8; 1]).map_err(|e| e.kind()).err(), Some(std::io::ErrorKind::WouldBlock));
}

#[test]
fn summary_counts_this_namespace() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:80").unwrap();
    let pairs: Vec<_> = (0..3).map(|_| lab::connected_pair(&l).unwrap()).collect();
    let tws: Vec<_> = (0..4).map(|_| lab::time_wait(&l).unwrap()).collect();
    let _u = UdpSocket::bind("127.0.0.1:53").unwrap();
    let _u6 = UdpSocket::bind("[::1]:53").unwrap();
    // ss's TCP line, from the same kernel counters. Its total and "closed" come from
    // host-wide counters (as ss's do), which other tests change at any moment: compared
    // when ss reads the same line just before and just after sockscope.
    let tcp_line = |text: &str| text.lines().find(|l| l.starts_with("TCP:")).unwrap_or_default().to_string();
    let mut tries = 0;
    let out = loop {
        let before = tcp_line(&ss(&["-s"]));
        let out = sockscope_ok(&["-s"]);
        if before == tcp_line(&ss(&["-s"])) || tries == 200 {
            assert_eq!(tcp_line(&out), before, "{out}");
            break out;
        }
        tries += 1;
    };
    assert!(tcp_line(&out).contains("estab 6,") && tcp_line(&out).contains("timewait 4)"), "{out}");
    // The transport rows come from per-namespace counters in ss too: they must agree.
    let transport = |text: &str| -> Vec<Vec<String>> {
        text.lines()
            .filter(|l| {
                l.starts_with("RAW")
                    || l.starts_with("UDP")
                    || l.starts_with("TCP\t")
                    || l.starts_with("TCP ")
                    || l.starts_with("INET")
            })
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect()
    };
    assert_eq!(transport(&out), transport(&ss(&["-s"])));
    let json = sockscope_json(&["-s"]);
    assert_eq!(json["summary"]["tcp"]["timewait"], 4);
    assert_eq!(json["summary"]["udp"]["ipv6"], 1);
    drop((pairs, tws));
}

#[test]
fn summary_by_port_process_state_remote() {
    private_netns();
    let l80 = TcpListener::bind("127.0.0.1:80").unwrap();
    let l443 = TcpListener::bind("127.0.0.1:443").unwrap();
    let _a: Vec<_> = (0..3).map(|_| lab::connected_pair(&l80).unwrap()).collect();
    let _b: Vec<_> = (0..2).map(|_| lab::connected_pair(&l443).unwrap()).collect();
    let json = sockscope_json(&["-ta", "--summary-by", "port"]);
    let groups = json["groups"].as_array().unwrap();
    let g = |key: &str| groups.iter().find(|g| g["key"] == key).cloned().unwrap();
    assert_eq!(groups[0]["key"], "80/tcp", "largest first");
    assert_eq!(g("80/tcp")["total"], 7, "listener + 3 server + 3 client sockets");
    assert_eq!(g("80/tcp")["states"]["established"], 6);
    assert_eq!(g("443/tcp")["total"], 5);
    let by_state = sockscope_json(&["-ta", "--summary-by", "state"]);
    assert_eq!(by_state["groups"][0]["key"], "established");
    assert_eq!(by_state["groups"][0]["total"], 10);
    let by_proc = sockscope_json(&["-ta", "--summary-by", "process"]);
    // Other groups can only be children another test thread is forking at that instant
    // (they briefly hold copies of every fd); ours holds all 12.
    let me = format!("({})", std::process::id());
    let mine =
        by_proc["groups"].as_array().unwrap().iter().find(|g| g["key"].as_str().unwrap().ends_with(&me)).cloned();
    assert_eq!(mine.map(|g| g["total"].clone()), Some(12.into()), "{by_proc}");
    let by_remote = sockscope_json(&["-t", "--summary-by", "remote"]);
    assert_eq!(by_remote["groups"][0]["key"], "127.0.0.1");
    let table = sockscope_ok(&["-ta", "--summary-by", "port"]);
    assert!(table.lines().next().unwrap().split_whitespace().eq(["Port", "Total", "ESTAB", "LISTEN"]), "{table}");
}

#[test]
fn details_timers_memory_tcp_info_tos_threads_cgroup() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:80").unwrap();
    let (c, s) = lab::connected_pair(&l).unwrap();
    rustix::net::sockopt::set_socket_keepalive(&c, true).unwrap();
    rustix::net::sockopt::set_ip_tos(&c, 0x10).unwrap();
    use std::io::{Read, Write};
    (&c).write_all(&[7u8; 1000]).unwrap();
    let mut buf = [0u8; 1000];
    (&s).read_exact(&mut buf).unwrap();
    let (tw_local, _) = lab::time_wait(&l).unwrap();
    let tw_port = format!("sport = :{}", tw_local.port());
    wait_until("the TIME-WAIT socket", || ss_count(&["state", "time-wait", &tw_port]) == 1);

    let json = sockscope_json(&["-ta", "-o", "-m", "-i", "--tos", "--cgroup", "-T"]);
    let socks = json["sockets"].as_array().unwrap();
    let find =
        |port: u16, state: &str| socks.iter().find(|x| x["local"]["port"] == port && x["state"] == state).unwrap();
    let client = find(c.local_addr().unwrap().port(), "established");
    let server = socks.iter().find(|x| x["local"]["port"] == 80 && x["state"] == "established").unwrap();
    assert_eq!(client["timer"]["kind"], "keepalive");
    assert!(client["timer"]["expires_ms"].as_u64().unwrap() > 7_000_000, "keepalive in about 2 h");
    let tw = find(tw_local.port(), "time-wait");
    assert_eq!(tw["timer"]["kind"], "timewait");
    assert!(tw["timer"]["expires_ms"].as_u64().unwrap() <= 60_000);
    assert!(client["memory"]["sndbuf"].as_u64().unwrap() > 0);
    assert_eq!(client["tcp_info"]["bytes_acked"].as_u64(), Some(1001), "1000 bytes and the SYN");
    assert_eq!(server["tcp_info"]["bytes_received"].as_u64(), Some(1000));
    assert!(client["tcp_info"]["rtt_us"].as_u64().unwrap() > 0);
    assert!(client["tcp_info"]["snd_mss_bytes"].as_u64().unwrap() > 0);
    assert!(!client["congestion"].as_str().unwrap().is_empty());
    assert!(client["send_rate_bits_per_s"].as_u64().unwrap() > 0);
    assert_eq!(client["tos"], 0x10);
    let my_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let my_cgroup = my_cgroup.lines().find_map(|l| l.strip_prefix("0::")).unwrap().to_string();
    assert_eq!(client["cgroup"].as_str(), Some(my_cgroup.as_str()));
    // -T: every thread of this (multi-threaded) test process shares the fd table.
    // A child another test thread is forking at that instant may briefly hold a copy too.
    let owners = client["owners"].as_array().unwrap();
    assert!(owners.iter().all(|o| o["tid"].is_u64()), "{owners:?}");
    let me = u64::from(std::process::id());
    let tids: std::collections::HashSet<u64> =
        owners.iter().filter(|o| o["pid"] == me).map(|o| o["tid"].as_u64().unwrap()).collect();
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    assert!(tids.len() >= 2 && tids.len() <= threads + 1, "{tids:?}");

    // The same in the table: ss's notation.
    let table =
        sockscope_ok(&["-tn", "-o", "-m", "-i", "--tos", &format!("sport = :{}", c.local_addr().unwrap().port())]);
    assert!(table.contains("timer:(keepalive,"), "{table}");
    assert!(table.contains("\n\tskmem:(r"), "{table}");
    assert!(table.contains(" bytes_acked:1001"), "{table}");
    assert!(table.contains("tos:0x10"), "{table}");
    let one = sockscope_ok(&["-tnmO", &format!("sport = :{}", c.local_addr().unwrap().port())]);
    assert_eq!(one.lines().count(), 2, "-O keeps each socket on one line: {one}");
    let ss_table = ss(&["-tnoi", &format!("sport = :{}", c.local_addr().unwrap().port())]);
    assert!(ss_table.contains("bytes_acked:1001"), "ss agrees: {ss_table}");
    let _ = (SocketAddr::from(([127, 0, 0, 1], 0)), s.as_fd());
}

/// Generated filters, run on the real sockets of the population twice through the library —
/// once only by the kernel's bytecode, once only in user space — select the same sockets.
/// The kernel here is the real one, not a copy of its evaluator.
#[test]
fn generated_filters_agree_in_kernel_and_user_space() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use sockscope_core::filter::eval::Truth;
    use sockscope_core::{KernelFilter, Netid, Selection, SnapshotOptions};
    use std::collections::BTreeSet;

    let _p = population();
    let ports = prop::sample::select(vec![0u16, 53, 80, 443, 5353, 6000, 6543, 7000, 8080, 9000, 65535]);
    let hosts = prop::sample::select(vec![
        "127.0.0.1",
        "127.0.0.0/8",
        "[::1]",
        "::ffff:127.0.0.1",
        "127.0.0.1:80",
        "[::1]:443",
        "*:8080",
        "10.0.0.0/8",
        "[::]/0",
    ]);
    let ops = prop::sample::select(vec!["=", "!=", "<", "<=", ">", ">="]);
    let atom = prop_oneof![
        (prop::sample::select(vec!["sport", "dport"]), ops, ports).prop_map(|(k, o, p)| format!("{k} {o} :{p}")),
        (prop::sample::select(vec!["src", "dst"]), hosts).prop_map(|(k, h)| format!("{k} {h}")),
        Just("dev = lo".to_string()),
        Just("fwmark = 5".to_string()),
        Just("fwmark = 0x4/0xc".to_string()),
    ];
    let filter = atom.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("( {a} and {b} )")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("( {a} or {b} )")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} {b}")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    });
    let services = sockscope_core::names::Services::load();
    let selection = Selection::resolve(&[Netid::Tcp, Netid::Udp], &[], sockscope_core::model::StateSet::ALL);
    let row = |s: &sockscope_core::Socket| format!("{:?} {:?} {:?} {:?}", s.netid, s.state, s.local, s.peer);
    let mut runner = TestRunner::new(Config { cases: 300, ..Config::default() });
    runner
        .run(&filter, |text| {
            let mut expr = sockscope_core::filter::parse(&text, &services).unwrap().expr.unwrap();
            let mut interfaces = sockscope_core::names::Interfaces::new();
            sockscope_core::filter::resolve(&mut expr, &mut interfaces, "/sys/fs/cgroup".as_ref()).unwrap();
            // The kernel alone.
            let mut opts = SnapshotOptions::new(selection);
            opts.filter = Some(expr.clone());
            opts.kernel_filter = KernelFilter::Only;
            let snap = LiveHost::default().snapshot(&opts).unwrap_or_else(|e| panic!("{text}: {e}"));
            prop_assert!(snap.kernel_filtered);
            let kernel: BTreeSet<String> = snap.sockets.iter().map(row).collect();
            // Every socket, looked at the same moment (a forked child briefly holding a
            // copy of a closed listener must not make the two looks differ).
            let everything = LiveHost::default().snapshot(&SnapshotOptions::new(selection)).unwrap();
            // User space alone, on every socket. A socket it cannot decide (the kernel does
            // not report a TIME-WAIT socket's mark) is left out of the comparison.
            let ctx = sockscope_core::filter::eval::Context::default();
            let mut user = BTreeSet::new();
            let mut undecided = BTreeSet::new();
            for s in &everything.sockets {
                match expr.eval(s, ctx) {
                    Truth::True => {
                        user.insert(row(s));
                    }
                    Truth::Unknown => {
                        undecided.insert(row(s));
                    }
                    Truth::False => {}
                }
            }
            let decided: BTreeSet<String> = kernel.difference(&undecided).cloned().collect();
            let kernel_only: Vec<&String> = decided.difference(&user).collect();
            let user_only: Vec<&String> = user.difference(&decided).collect();
            prop_assert!(
                kernel_only.is_empty() && user_only.is_empty(),
                "{}: only the kernel selects {:?}; only user space selects {:?}",
                text,
                kernel_only,
                user_only
            );
            Ok(())
        })
        .unwrap();
}
