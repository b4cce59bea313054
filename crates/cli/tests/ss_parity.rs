//! Issue 12: the last differences from ss, each compared with ss on real sockets in a private
//! network namespace (ss 6.1 is the reference).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use sockscope_lab::sockets as lab;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};

/// Rows with their columns split on whitespace: the two tools pad differently.
fn words(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

fn same_as_ss(args: &[&str]) {
    let mut with_h = args.to_vec();
    with_h.push("-H");
    let ours = words(&sockscope_ok(&with_h));
    let theirs = words(&ss(&with_h));
    let (mut a, mut b) = (ours.clone(), theirs.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "sockscope {args:?} differs from ss:\nours:\n{}\nss:\n{}", ours.join("\n"), theirs.join("\n"));
}

#[test]
fn extended_shows_fwmark_cgroup_and_extended_as_ss() {
    private_netns();
    let dir = lab::tempdir().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    lab::set_mark(&l, 0x7).unwrap();
    let _pair = lab::connected_pair(&l).unwrap();
    let path = format!("{dir}/e.sock");
    let _ul = UnixListener::bind(&path).unwrap();
    let _pending = UnixStream::connect(&path).unwrap();
    let _udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for args in [&["-tane"][..], &["-xae"], &["-uane"], &["-tan", "-e", "-o"]] {
        same_as_ss(args);
    }
}

#[test]
fn extended_implies_timers() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _tw = lab::time_wait(&l).unwrap();
    let _pair = lab::connected_pair(&l).unwrap();
    let out = sockscope_ok(&["-tane", "state", "time-wait"]);
    assert!(out.contains("timer:(timewait,"), "{out}");
}

#[test]
fn repeated_flags_are_accepted_as_ss_accepts_them() {
    private_netns();
    let _l = TcpListener::bind("127.0.0.1:0").unwrap();
    for args in [&["-tnn"][..], &["-t", "-t", "-an"], &["-a", "-t", "-a"], &["-tlnl"]] {
        same_as_ss(args);
    }
}

/// Issue 12: without -a, --summary-by port keyed a server's connections by its clients' ports.
#[test]
fn summary_by_port_keys_connections_by_the_service_port() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let pairs: Vec<_> = (0..20).map(|_| lab::connected_pair(&l).unwrap()).collect();
    for args in [&["-t", "--summary-by", "port"][..], &["-ta", "--summary-by", "port"]] {
        let doc = sockscope_json(args);
        let groups = doc["groups"].as_array().unwrap();
        let key = format!("{port}/tcp");
        let row = groups.iter().find(|g| g["key"] == key.as_str()).unwrap_or_else(|| panic!("no {key}: {doc}"));
        assert_eq!(row["states"]["established"], 40, "both ends of 20 connections: {doc}");
        assert_eq!(groups.iter().filter(|g| g["states"]["established"].as_u64().is_some()).count(), 1, "{doc}");
    }
    drop(pairs);
}

/// Issue 12: `fds` listed the executable twice (txt and mem), said `tcpv6` for a socket of
/// another namespace, and `socket:[N]` for a socket straight from socket().
#[test]
fn fds_names_each_file_once_and_every_socket_by_its_protocol() {
    // A TCP socket of the namespace the test started in, then one of ours never bound.
    let elsewhere = std::net::TcpListener::bind("[::1]:0").unwrap();
    private_netns();
    // Held by a process of this namespace (this test's threads are not all in it).
    let unbound = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::STREAM, None).unwrap();
    let holder = sockscope_lab::Holder::spawn(vec![unbound]).unwrap();
    let me = std::process::id().to_string();
    let table = sockscope_ok(&["fds", &me, &holder.pid().to_string()]);
    let exe = std::fs::read_link("/proc/self/exe").unwrap().to_string_lossy().into_owned();
    let naming_exe: Vec<&str> = table.lines().filter(|l| l.ends_with(&exe)).collect();
    assert_eq!(naming_exe.len(), 1, "the executable once, as txt: {naming_exe:?}");
    assert!(naming_exe[0].contains(" txt "), "{naming_exe:?}");
    let fd_line = |pid: &str, fd: i32| {
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(pid) && l.split_whitespace().nth(3) == Some(&fd.to_string()))
            .unwrap_or_default()
            .to_string()
    };
    use std::os::fd::AsRawFd;
    let other = fd_line(&me, elsewhere.as_raw_fd());
    assert!(
        other.contains(" tcp ") && !other.contains("tcpv6") && other.contains("another network namespace"),
        "{other}"
    );
    let holder_pid = holder.pid().to_string();
    let fresh = fd_line(&holder_pid, 0);
    assert!(fresh.contains(" tcp ") && fresh.contains("UNCONN (not bound"), "{fresh}\n{table}");
    // lsof agrees that it is a TCP socket.
    let lsof = std::process::Command::new("lsof").args(["-nP", "-a", "-p", &holder_pid, "-d", "0"]).output().unwrap();
    assert!(String::from_utf8_lossy(&lsof.stdout).contains("TCP"), "{}", String::from_utf8_lossy(&lsof.stdout));
}

/// Issue 12: a dual-stack listener was `*:PORT` in the table but `[::]:PORT` in who and fds,
/// and `who 127.0.0.1:PORT` missed the `[::ffff:127.0.0.1]` connections.
#[test]
fn a_dual_stack_listener_reads_the_same_everywhere() {
    private_netns();
    let l = TcpListener::bind("[::]:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, _) = l.accept().unwrap();
    let wildcard = format!("*:{port}");
    assert!(ss(&["-tlnH"]).contains(&wildcard), "ss writes the dual-stack listener as *");
    assert!(sockscope_ok(&["-tln"]).contains(&wildcard));
    let who = sockscope_ok(&["who", &format!(":{port}")]);
    assert!(who.contains(&wildcard) && !who.contains(&format!("[::]:{port}")), "{who}");
    let fds = sockscope_ok(&["fds", &std::process::id().to_string(), "-i", &format!(":{port}")]);
    assert!(fds.contains(&wildcard) && !fds.contains(&format!("[::]:{port}")), "{fds}");
    // Asked by its IPv4 address, the connection accepted as ::ffff:127.0.0.1 is found.
    let doc = sockscope_json(&["who", &format!("127.0.0.1:{port}")]);
    let locals: Vec<String> =
        doc["sockets"].as_array().unwrap().iter().map(|h| endpoint_text(&h["socket"]["local"])).collect();
    assert!(locals.iter().any(|l| l.contains("::ffff:127.0.0.1")), "{locals:?}");
    assert!(locals.iter().any(|l| l.starts_with("[::]") || l.starts_with("::")), "the listener covers it: {locals:?}");
    drop(client);
}

/// Issue 12: `-tan src ::1/128` failed with "unknown port or service name".
#[test]
fn unbracketed_ipv6_prefixes_select_as_in_ss() {
    private_netns();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let _p6 = lab::connected_pair(&l6).unwrap();
    let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let _p4 = lab::connected_pair(&l4).unwrap();
    for filter in [&["src", "::1/128"][..], &["dst", "::/0"], &["src", "[::1]/128"]] {
        let mut args = vec!["-tan"];
        args.extend_from_slice(filter);
        let ours = sockscope_ok(&[&args[..], &["-H"]].concat());
        assert!(!ours.trim().is_empty(), "{args:?} selects the IPv6 sockets");
        if filter[1] != "[::1]/128" {
            same_as_ss(&args);
        }
    }
}

/// Issue 12: `-u` and `-w` alone have no State column in ss; `--tos` zero is `tos:0`; a raw
/// protocol /etc/protocols does not name is `ipproto-N`.
#[test]
fn datagram_tables_tos_and_raw_protocols_as_ss() {
    private_netns();
    let connected = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    connected.connect(other.local_addr().unwrap()).unwrap();
    let _raw = lab::raw_socket(rustix::net::AddressFamily::INET, 253).unwrap();
    let icmp = lab::raw_socket(rustix::net::AddressFamily::INET, 1).unwrap();
    rustix::net::connect(&icmp, &std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _pair = lab::connected_pair(&l).unwrap();
    for args in
        [&["-u"][..], &["-un"], &["-w"], &["-wn"], &["-uw"], &["-wa"], &["-ut"], &["-t", "--tos"], &["-uan", "--tos"]]
    {
        // Headers too: the State column is the point.
        let ours = words(&sockscope_ok(args));
        let theirs = words(&ss(args));
        assert_eq!(
            ours.first().map(|h| h.starts_with("State") || h.contains(" State")),
            theirs.first().map(|h| h.starts_with("State") || h.contains(" State")),
            "{args:?} header:\n{ours:?}\n{theirs:?}"
        );
        same_as_ss(args);
    }
}

/// Issue 12: `-t -0`, `-u -0`, `-x -0` dropped the first table, and `-x -4`, `-f unix -t`
/// and `-t -x -4` intersected where ss adds the selections together.
#[test]
fn tables_and_families_combine_as_in_ss() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _p4 = lab::connected_pair(&l).unwrap();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let _p6 = lab::connected_pair(&l6).unwrap();
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.connect(l.local_addr().unwrap()).unwrap();
    let _pair = UnixStream::pair().unwrap();
    let dir = lab::tempdir().unwrap();
    let _dgram = std::os::unix::net::UnixDatagram::bind(format!("{dir}/d.sock")).unwrap();
    let _packet = lab::packet_socket(rustix::net::SocketType::RAW, 0x0003).unwrap();
    let icmp = lab::raw_socket(rustix::net::AddressFamily::INET, 1).unwrap();
    rustix::net::connect(&icmp, &std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    // Netlink rows are left out: each tool has its own sock_diag socket.
    let rows = |text: String| -> Vec<String> {
        let mut r: Vec<String> = words(&text).into_iter().filter(|l| !l.starts_with("nl ")).collect();
        r.sort();
        r
    };
    for flags in [
        &["-t", "-0"][..],
        &["-u", "-0"],
        &["-w", "-0"],
        &["-x", "-0"],
        &["-x", "-4"],
        &["-f", "unix", "-t"],
        &["-t", "-x", "-4"],
        &["-ta", "-0"],
        &["-xa", "-4"],
        &["-a", "-f", "unix", "-t"],
        &["-6", "-x", "-a"],
        &["-A", "unix_dgram"],
        &["-A", "unix_dgram", "-a"],
        &["-A", "all,!unix", "-a"],
        &["-x"],
        &["-l"],
        &["-a"],
    ] {
        let mut args = vec!["-Hn"];
        args.extend_from_slice(flags);
        assert_eq!(rows(sockscope_ok(&args)), rows(ss(&args)), "sockscope {flags:?} differs from ss");
    }
}

/// Issue 12: no flag of ss may give "unexpected argument"; those sockscope does not do are
/// refused with what and why.
#[test]
fn every_ss_flag_is_known() {
    private_netns();
    let takes_value = |f: &str| matches!(f, "-f" | "-A" | "-D" | "-F" | "-N" | "--bpf-map-id");
    let all = [
        "-n",
        "-r",
        "-a",
        "-l",
        "-o",
        "-e",
        "-m",
        "-p",
        "-i",
        "--tipcinfo",
        "-s",
        "--tos",
        "--cgroup",
        "-b",
        "-E",
        "-Z",
        "-z",
        "-N",
        "-4",
        "-6",
        "-0",
        "-t",
        "-M",
        "-S",
        "-u",
        "-d",
        "-w",
        "-x",
        "--tipc",
        "--vsock",
        "--xdp",
        "-f",
        "-K",
        "-H",
        "-O",
        "-A",
        "-D",
        "-F",
        "-V",
        "--bpf-maps",
        "--bpf-map-id",
    ];
    for flag in all {
        let mut args = vec![flag];
        if flag == "-E" {
            // It follows until stopped: refused at once here, for a table it cannot follow.
            args.push("-x");
        }
        if takes_value(flag) {
            args.push(match flag {
                "-f" => "inet",
                "-A" => "tcp",
                "-F" | "-D" => "/dev/null",
                _ => "x",
            });
        }
        let out = sockscope(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
    for (flag, what) in [
        ("-S", "SCTP"),
        ("-d", "DCCP"),
        ("--vsock", "vsock"),
        ("--xdp", "XDP"),
        ("--tipc", "TIPC"),
        ("--bpf-maps", "BPF socket-local storage"),
    ] {
        let out = sockscope(&[flag]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(what) && (err.contains("not supported") || err.contains("not read by")), "{flag}: {err}");
    }
}

/// `-N NAME` reads that namespace, as ss -N and ip netns exec do; -Z shows contexts; -b the
/// bytecode.
#[test]
fn named_namespaces_contexts_and_bytecode() {
    let name = format!("sockscope-test-{}", std::process::id());
    let ip = |args: &[&str]| {
        let out = std::process::Command::new("ip").args(args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    ip(&["netns", "add", &name]);
    ip(&["-n", &name, "link", "set", "lo", "up"]);
    let ours = words(&sockscope_ok(&["-N", &name, "-Han"]));
    let theirs = std::process::Command::new("ip").args(["netns", "exec", &name, "ss", "-Han"]).output().unwrap();
    let theirs = words(&String::from_utf8_lossy(&theirs.stdout));
    // Netlink rows aside (each tool's own sock_diag socket), the namespace is empty and equal.
    let strip = |v: Vec<String>| v.into_iter().filter(|l| !l.starts_with("nl ")).collect::<Vec<_>>();
    assert_eq!(strip(ours), strip(theirs));
    let out = sockscope(&["-N", "no-such-namespace-here"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    ip(&["netns", "del", &name]);

    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    let z = sockscope_ok(&["-tlz", "sport", "=", &format!(":{port}")]);
    if !selinux {
        assert!(z.contains("proc_ctx=-") && z.contains("sock_ctx=-"), "{z}");
    }
    let b = sockscope_ok(&["-b", "-tn", "dport", "=", ":443"]);
    assert!(b.starts_with("bytecode: ") && b.contains("port 443"), "{b}");
    let none = sockscope_ok(&["-b", "-xn", "src", "/run/*"]);
    assert!(none.starts_with("bytecode: none"), "{none}");
}

/// Issue 12: -s's TCP line, transport rows, timewait and estab equal ss's (ss's estab counts
/// CLOSE-WAIT, its timewait is the kernel's counter).
#[test]
fn summary_equals_ss_summary() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _pairs: Vec<_> = (0..3).map(|_| lab::connected_pair(&l).unwrap()).collect();
    let _cw = lab::close_wait(&l).unwrap();
    let _tw = lab::time_wait(&l).unwrap();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let _p6 = lab::connected_pair(&l6).unwrap();
    let _u = UdpSocket::bind("127.0.0.1:0").unwrap();
    // ss's lines, without its trailing spaces and tabs.
    let lines =
        |text: String| -> Vec<String> { words(&text).into_iter().filter(|l| !l.starts_with("UNIX:")).collect() };
    let (ours, theirs) = (lines(sockscope_ok(&["-s"])), lines(ss(&["-s"])));
    assert_eq!(ours[2..], theirs[2..]);
    // The TCP line: estab, orphaned and timewait are this namespace's. Its total and closed
    // come from sockstat's "alloc", which counts every namespace's TCP sockets (other tests'
    // too, between the two runs); their difference is this namespace's sockets in use.
    let tcp = |l: &str| -> [i64; 5] {
        let n: Vec<i64> =
            l.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().unwrap()).collect();
        [n[0], n[1], n[2], n[3], n[4]]
    };
    let ([total, estab, closed, orphaned, tw], [t2, e2, c2, o2, w2]) = (tcp(&ours[1]), tcp(&theirs[1]));
    assert_eq!((estab, orphaned, tw, total - closed), (e2, o2, w2, t2 - c2), "{} vs {}", ours[1], theirs[1]);
    // "Total" is the namespace's sockets in use, the counting tool's own included (ss opens
    // more netlink sockets than sockscope).
    let total = |l: &str| l.trim_start_matches("Total: ").parse::<i64>().unwrap();
    assert!((total(&ours[0]) - total(&theirs[0])).abs() <= 4, "{} vs {}", ours[0], theirs[0]);
    // Unix and packet sockets from the kernel's counts, netlink from a dump: each what the
    // table lists in this namespace (the counting tool's own sock_diag socket in both).
    let _stream = UnixStream::pair().unwrap();
    let _dgram = std::os::unix::net::UnixDatagram::pair().unwrap();
    let (packet, _) = Holder::start(
        "import socket, sys\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\nprint(1, flush=True)\nsys.stdin.readline()",
    );
    let line = sockscope_ok(&["-s"]).lines().find(|l| l.starts_with("UNIX:")).unwrap().to_string();
    let n: Vec<usize> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().unwrap()).collect();
    let rows = |args: &[&str]| sockscope_ok(args).lines().count();
    assert_eq!(n[0], rows(&["-xaH"]), "{line}");
    assert_eq!(n[1], rows(&["-0aH"]), "{line}");
    assert_eq!(n[2], rows(&["-A", "netlink", "-aH"]), "{line}");
    assert!(n[0] >= 4 && n[1] == 1, "{line}");
    drop(packet);
}

/// Issue 12: `autobound` with --kernel-filter off or only disagreed with the default mode
/// (sockets on explicitly bound ports inside the ephemeral range switched sides).
#[test]
fn autobound_is_the_same_answer_in_every_filter_mode() {
    private_netns();
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let low: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
    // Explicitly bound inside the ephemeral range: not autobound to the kernel.
    let explicit = TcpListener::bind(("127.0.0.1", low + 7)).unwrap();
    let _pair = lab::connected_pair(&explicit).unwrap();
    // Bound to port 0: autobound.
    let _auto = TcpListener::bind("127.0.0.1:0").unwrap();
    let _tw = lab::time_wait(&explicit).unwrap();
    let answer = |mode: &str| {
        let mut r = words(&sockscope_ok(&["-tanH", "--kernel-filter", mode, "autobound"]));
        r.sort();
        r
    };
    let auto = answer("auto");
    assert_eq!(answer("off"), auto, "user space alone");
    assert_eq!(answer("only"), auto, "kernel alone");
    let mut theirs = words(&ss(&["-tanH", "autobound"]));
    theirs.sort();
    assert_eq!(auto, theirs, "ss");
    assert!(!auto.iter().any(|l| l.starts_with("LISTEN") && l.contains(&format!(":{} ", low + 7))), "{auto:?}");
}

/// Issue 12: packet -e shows the ring's version, copy threshold and flags; netlink -e the
/// multicast groups, as ss.
#[test]
fn packet_and_netlink_details_as_ss() {
    private_netns();
    let _packet = lab::packet_socket(rustix::net::SocketType::RAW, 0x0003).unwrap();
    let rtnl = rustix::net::socket(rustix::net::AddressFamily::NETLINK, rustix::net::SocketType::RAW, None).unwrap();
    rustix::net::bind(&rtnl, &rustix::net::netlink::SocketAddrNetlink::new(0, 1)).unwrap();
    // The tools' own sock_diag sockets differ (their port ids): left out.
    let rows = |text: String| -> Vec<String> {
        let mut r: Vec<String> = words(&text).into_iter().filter(|l| !l.contains("tcpdiag:")).collect();
        r.sort();
        r
    };
    for args in [&["-H", "-0e"][..], &["-H", "-f", "netlink", "-e"], &["-H", "-0a", "-e"]] {
        assert_eq!(rows(sockscope_ok(args)), rows(ss(args)), "{args:?}");
    }
    let text = sockscope_ok(&["-H", "-0e"]);
    assert!(text.contains("flags( running )"), "{text}");
}

/// Issue 12: -i as ss: fields only when set (a listener shows its congestion control and
/// cwnd), ts/sack with -o, BBR's model, rates in three significant digits, raw with -n.
#[test]
fn tcp_info_reads_as_ss() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (client, mut server) = lab::connected_pair(&l).unwrap();
    rustix::net::sockopt::set_tcp_congestion(&client, "bbr").unwrap();
    use std::io::{Read, Write};
    (&client).write_all(&[7u8; 100_000]).unwrap();
    let mut got = vec![0u8; 100_000];
    server.read_exact(&mut got).unwrap();
    // Times since the last send and receive move between the two runs.
    let steady = |text: String| -> Vec<String> {
        words(&text)
            .into_iter()
            .map(|l| {
                l.split(' ')
                    .filter(|w| !w.starts_with("lastsnd:") && !w.starts_with("lastrcv:") && !w.starts_with("lastack:"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    for args in [&["-H", "-tai"][..], &["-H", "-tain"], &["-H", "-taio"], &["-H", "-taie"]] {
        assert_eq!(steady(sockscope_ok(args)), steady(ss(args)), "{args:?}");
    }
    let listener = sockscope_ok(&["-H", "-tli"]);
    assert_eq!(listener.lines().nth(1).map(|l| l.split_whitespace().count()), Some(2), "{listener}");
}

/// A port in the ephemeral range is never named, as ss names none (ip_local_port_range of
/// the namespace read): a client's port 57000 is not `dircproxy`; a listener on 22 is `ssh`.
#[test]
fn ephemeral_ports_are_not_named_as_ss_names_none() {
    private_netns();
    // Network sysctls are the writing thread's namespace's: this test's.
    std::fs::write("/proc/sys/net/ipv4/ip_local_port_range", "8000 8100").unwrap();
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    assert_eq!(range.split_whitespace().collect::<Vec<_>>(), ["8000", "8100"], "the test's own namespace");
    let ssh = TcpListener::bind("127.0.0.1:22").unwrap();
    let alt = TcpListener::bind("127.0.0.1:8080").unwrap();
    same_as_ss(&["-tl"]);
    let ours = sockscope_ok(&["-tlH"]);
    assert!(ours.contains(":ssh") && ours.contains(":8080") && !ours.contains("http-alt"), "{ours}");
    drop((ssh, alt));
}

/// Issue 12: -r resolves an IPv4-mapped address by its IPv4 address, as ss does.
#[test]
fn resolving_v4_mapped_addresses_as_ss() {
    private_netns();
    let l = TcpListener::bind("[::]:0").unwrap();
    let _c = std::net::TcpStream::connect(("127.0.0.1", l.local_addr().unwrap().port())).unwrap();
    let _s = l.accept().unwrap();
    same_as_ss(&["-tr"]);
    assert!(!sockscope_ok(&["-tr"]).contains("::ffff:"));
}

/// Issue 32 (6): `-s` said `closed 8` where ss said `closed 44`: ss computes "closed" in
/// signed arithmetic (allocated less in use less TIME-WAIT), and a saturating subtraction
/// gave another number whenever TIME-WAIT sockets outnumber those in use, as on busy hosts.
/// Here this namespace holds a listener and a dozen TIME-WAIT sockets.
#[test]
fn summary_closed_is_ss_number_when_time_wait_outnumbers_in_use() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _tw: Vec<_> = (0..12).map(|_| lab::time_wait(&l).unwrap()).collect();
    let tcp_line = |text: String| words(&text).into_iter().find(|l| l.starts_with("TCP:")).unwrap();
    let numbers = |l: &str| -> Vec<i64> {
        l.split(|c: char| !c.is_ascii_digit() && c != '-')
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().unwrap())
            .collect()
    };
    let (ours, theirs) = (tcp_line(sockscope_ok(&["-s"])), tcp_line(ss(&["-s"])));
    let (o, t) = (numbers(&ours), numbers(&theirs));
    // TIME-WAIT outnumbers in use (a test of the test).
    let in_use = t[0] - t[2];
    assert!(t[4] >= 12 && t[4] > in_use, "{theirs}");
    // total and closed both count every namespace's allocations (other tests' too, between
    // the runs); their difference, estab, orphaned and timewait are this namespace's.
    assert_eq!((o[1], o[3], o[4], o[0] - o[2]), (t[1], t[3], t[4], t[0] - t[2]), "{ours} vs {theirs}");
}

/// Issue 32 (2): `--inet-sockopt` is the kernel's view of each inet socket's options, line for
/// line as ss prints it (and -O on the row), and in JSON.
#[test]
fn inet_sockopt_is_what_ss_prints() {
    private_netns();
    // Sockets with options set: freebind and transparent on a listener, recverr on UDP,
    // bind_address_no_port on a socket bound to a port-less address.
    let script = r#"
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_IP, 15, 1); l.setsockopt(socket.SOL_IP, 19, 1)
l.bind(("127.0.0.1", 0)); l.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.SOL_IP, 11, 1); u.bind(("127.0.0.1", 0))
c = socket.create_connection(l.getsockname())
print(l.getsockname()[1], flush=True)
sys.stdin.readline()
"#;
    let (held, line) = Holder::start(script);
    let port: u16 = line.parse().unwrap();
    // Each socket's local and peer address, with the inet-sockopt text that follows it.
    let by_socket = |text: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut last = None;
        for l in text.lines() {
            if let Some(opts) = l.trim_start().strip_prefix("inet-sockopt: ") {
                out.push((last.clone().unwrap_or_default(), opts.trim_end().to_string()));
            } else if !l.starts_with("Netid") {
                let f: Vec<&str> = l.split_whitespace().collect();
                last = (f.len() >= 6).then(|| format!("{} {} {}", f[0], f[4], f[5]));
            }
        }
        out.sort();
        out
    };
    let ss_text = ss(&["-tuanH", "--inet-sockopt"]);
    let ours = sockscope_ok(&["-tuanH", "--inet-sockopt"]);
    let expected = by_socket(&ss_text);
    assert!(expected.len() >= 4, "{ss_text}");
    assert_eq!(by_socket(&ours), expected, "ss:\n{ss_text}\nsockscope:\n{ours}");
    assert!(ours.contains("freebind mc_loop transparent"), "{ours}");
    // -O: on the row.
    let oneline = sockscope_ok(&["-tlnO", "--inet-sockopt"]);
    assert!(
        oneline.lines().any(|l| l.contains(&format!(":{port} ")) && l.contains("inet-sockopt: ( is_icsk freebind")),
        "{oneline}"
    );
    // JSON: every flag, true or false.
    let doc = sockscope_json(&["-tln", "--inet-sockopt", "--json"]);
    let listener = doc["sockets"].as_array().unwrap().iter().find(|s| s["local"]["port"] == port).cloned().unwrap();
    let o = &listener["inet_sockopt"];
    assert_eq!(
        (&o["freebind"], &o["transparent"], &o["recverr"]),
        (&true.into(), &true.into(), &false.into()),
        "{listener}"
    );
    assert_eq!(o.as_object().unwrap().len(), 11, "{o}");
    drop(held);
}

/// A command whose stdout (through a pseudo-terminal, so ss flushes each line) is read on a
/// thread, line by line, until SIGINT.
struct Following {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Following {
    fn start(command: &str) -> Following {
        let mut child = std::process::Command::new("script")
            .args(["-qfec", command, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("script (util-linux)");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok) {
                if tx.send(line.trim_end().to_string()).is_err() {
                    break;
                }
            }
        });
        Following { child, lines, seen: Vec::new() }
    }

    /// Reads until `done` holds (20 s at most).
    fn until(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("waited for {what}; saw {:#?}", self.seen),
            }
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill").args(["-INT", "-P", &self.child.id().to_string()]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 32 (3): `-E` prints the sockets the kernel destroys as ss -E does (the same rows,
/// field by field), with ss's selection and filters.
#[test]
fn destroyed_sockets_are_followed_as_ss_e_follows_them() {
    private_netns();
    let exe = env!("CARGO_BIN_EXE_sockscope");
    let mut theirs = Following::start("ss -E -tuna");
    let mut ours = Following::start(&format!("{exe} -E -tuna"));
    let mut only_udp = Following::start(&format!("{exe} -E -una"));
    // Connections until both show one (both are listening by then), then five more.
    let once = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (s, _) = l.accept().unwrap();
        drop((c, s, l));
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp = u.local_addr().unwrap().port();
        drop(u);
        (port, udp)
    };
    // A line names a port when one of its fields ends with it.
    let names = |l: &str, port: u16| l.split_whitespace().any(|f| f.ends_with(&format!(":{port}")));
    let shows = |lines: &[String], port: u16| lines.iter().any(|l| names(l, port));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (port, _) = once();
        std::thread::sleep(std::time::Duration::from_millis(100));
        while let Ok(l) = theirs.lines.try_recv() {
            theirs.seen.push(l);
        }
        while let Ok(l) = ours.lines.try_recv() {
            ours.seen.push(l);
        }
        if shows(&theirs.seen, port) && shows(&ours.seen, port) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "ss: {:#?}\nsockscope: {:#?}", theirs.seen, ours.seen);
    }
    let made: Vec<(u16, u16)> = (0..5).map(|_| once()).collect();
    // Each TCP port: the listener and both ends of its connection; each UDP port: one.
    let all_shown = |lines: &[String]| {
        made.iter().all(|(t, u)| lines.iter().filter(|l| names(l, *t)).count() >= 3 && shows(lines, *u))
    };
    theirs.until("ss's rows", all_shown);
    ours.until("our rows", all_shown);
    only_udp.until("the UDP sockets", |lines| made.iter().all(|(_, u)| shows(lines, *u)));
    let rows = |lines: &[String]| -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = lines
            .iter()
            .filter(|l| made.iter().any(|(t, u)| names(l, *t) || names(l, *u)))
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect();
        out.sort();
        out
    };
    assert_eq!(rows(&ours.seen), rows(&theirs.seen));
    assert!(ours.seen[0].starts_with("Netid State"), "{:?}", ours.seen[0]);
    // -u: no TCP row.
    assert!(!made.iter().any(|(t, _)| shows(&only_udp.seen, *t)), "{:#?}", only_udp.seen);
    // Refused where it cannot work.
    let out = sockscope(&["-E", "-x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TCP and UDP sockets only"));
    let out = sockscope(&["-E", "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 32 (5): `-e` on packet sockets shows their fanout group as ss does, on a line of
/// its own (on the row with -O): it once asked the kernel for the wrong attribute.
#[test]
fn packet_e_shows_the_fanout_group_as_ss_does() {
    private_netns();
    let script = r#"
import socket, sys
a = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); a.bind(("lo", 0))
a.setsockopt(263, 18, 7)
b = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x88b5)); b.bind(("lo", 0))
b.setsockopt(263, 18, 9 | (1 << 16))
print("ready", flush=True)
sys.stdin.readline()
"#;
    let (held, line) = Holder::start(script);
    assert_eq!(line, "ready");
    let words = |text: &str| -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .filter(|w: &Vec<String>| !w.is_empty())
            .collect()
    };
    for extra in [&[][..], &["-O"][..]] {
        let mut args = vec!["-0", "-e", "-n", "-H"];
        args.extend_from_slice(extra);
        let theirs = ss(&args);
        let ours = sockscope_ok(&args);
        assert_eq!(words(&ours), words(&theirs), "{extra:?}\nss:\n{theirs}\nsockscope:\n{ours}");
        assert!(ours.contains("fanout(id:7,type:hash)") && ours.contains("fanout(id:9,type:lb)"), "{ours}");
    }
    drop(held);
}

/// A Python script holding sockets until its stdin closes (when this is dropped), started,
/// with the first line it printed once they are made.
/// Issue 32 (1): MPTCP sockets (`socket(AF_INET, SOCK_STREAM, 262)`) read as ss -M reads
/// them: rows, owners, -e, each -i counter ss prints (its hex or decimal, by version), the
/// subflow's `tcp-ulp-mptcp` fields in -t -i, the tables -A names, JSON, and lsof's -i.
#[test]
fn mptcp_sockets_are_read_as_ss_m_reads_them() {
    private_netns();
    let script = r#"
import socket, sys
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262); c.connect(l.getsockname())
a, _ = l.accept()
c.sendall(b"x" * 500); got = b""
while len(got) < 500: got += a.recv(500)
l6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, 262); l6.bind(("::1", 0)); l6.listen()
print(l.getsockname()[1], c.getsockname()[1], flush=True)
sys.stdin.readline()
"#;
    let (held, line) = Holder::start(script);
    let ports: Vec<u16> = line.split(' ').map(|p| p.parse().unwrap()).collect();
    let (port, client_port) = (ports[0], ports[1]);
    for args in [&["-Man"][..], &["-Manp"], &["-Mane"], &["-Mn"], &["-Mln"], &["-nA", "mptcp"], &["-nA", "inet"]] {
        same_as_ss(args);
    }
    let only = sockscope_ok(&["-MnH", "sport", "=", &format!(":{port}")]);
    assert_eq!(only.lines().count(), 1, "{only}");
    // -i: every counter ss prints, equal; ss 6.1 printed the sequence numbers in hex.
    let hex_seqs = ss(&["-V"]).contains("iproute2-6.1.") || ss(&["-V"]).contains("iproute2-5.");
    let counters = |text: &str, hex: bool| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for w in text.split_whitespace() {
            let Some((k, v)) = w.split_once(':') else { continue };
            let radix = if k == "token" || (hex && matches!(k, "write_seq" | "snd_una" | "rcv_nxt")) { 16 } else { 10 };
            if let Ok(n) = u64::from_str_radix(v, radix) {
                out.push((k.to_string(), n));
            }
        }
        out
    };
    let theirs = ss(&["-MniH", "state", "established"]);
    let ours = sockscope_ok(&["-MniH", "state", "established"]);
    let (t, o) = (counters(&theirs, hex_seqs), counters(&ours, false));
    assert!(t.iter().any(|(k, _)| k == "write_seq"), "{theirs}");
    for kv in &t {
        assert!(
            o.contains(kv),
            "{kv:?} of ss is not ours:
ss:
{theirs}
sockscope:
{ours}"
        );
    }
    assert!(theirs.contains("remote_key") && ours.contains("remote_key"), "{ours}");
    // The subflows, in the TCP table: the same words after tcp-ulp-mptcp.
    let subflow = |text: &str, hex: bool| -> Vec<String> {
        let mut out: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once("tcp-ulp-mptcp").map(|(_, rest)| rest.to_string()))
            .map(|rest| {
                rest.split_whitespace()
                    .map(|w| match w.split_once(':') {
                        Some((k @ ("seq" | "sfseq" | "ssnoff" | "maplen"), v)) if hex => {
                            format!("{k}:{}", u64::from_str_radix(v, 16).unwrap())
                        }
                        _ => w.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.sort();
        out
    };
    let (theirs, ours) = (ss(&["-tniH", "state", "established"]), sockscope_ok(&["-tniH", "state", "established"]));
    assert_eq!(
        subflow(&ours, false),
        subflow(&theirs, hex_seqs),
        "ss:
{theirs}
sockscope:
{ours}"
    );
    assert_eq!(subflow(&ours, false).len(), 2, "{ours}");
    // JSON: the client's counters are the 500 bytes this test sent.
    let doc = sockscope_json(&["-Man", "-i", "--json"]);
    let sockets = doc["sockets"].as_array().unwrap();
    assert!(sockets.iter().all(|s| s["netid"] == "mptcp"), "{doc}");
    let client = sockets.iter().find(|s| s["local"]["port"] == client_port).unwrap();
    assert_eq!((&client["mptcp"]["bytes_sent"], &client["mptcp"]["remote_key"]), (&500.into(), &true.into()));
    // The process's fds are MPTCP sockets; lsof -i counts them as TCP, and so does fds -i.
    let pid = held.0.id().to_string();
    let fds = sockscope_ok(&["fds", &pid]);
    assert_eq!(fds.lines().filter(|l| l.contains(" mptcp ")).count(), 4, "{fds}");
    let selected = sockscope_ok(&["fds", "-t", "-i", &format!("tcp:{port}")]);
    assert_eq!(selected.trim(), pid, "{selected}");
    // Recorded and replayed: the same rows and counters.
    let cap = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mptcp-{}.cap", std::process::id()));
    let _ = std::fs::remove_file(&cap);
    let out = sockscope(&["record", "-o", cap.to_str().unwrap(), "--window", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let live = sockscope_ok(&["-Manp", "state", "established"]);
    let replayed = sockscope(&["--from", cap.to_str().unwrap(), "-Manp", "state", "established"]);
    assert_eq!(String::from_utf8_lossy(&replayed.stdout), live);
    let said = String::from_utf8_lossy(&replayed.stderr);
    assert!(!said.contains("warning") && !said.contains("MPTCP"), "{said}");
    let replayed = sockscope_json(&["--from", cap.to_str().unwrap(), "-Man", "-i", "--json"]);
    let client = replayed["sockets"].as_array().unwrap().iter().find(|s| s["local"]["port"] == client_port).unwrap();
    assert_eq!(client["mptcp"]["bytes_sent"], 500);
    let _ = std::fs::remove_file(&cap);
}
