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
    let a = addr_in_use::AddrInUse::start(&addr_in_use::Options { connections: 3, reuseaddr: true }).unwrap();
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

/// Every benchmark, tiny, with `--runs 3 --plot`: the JSON holds 3 samples per series and
/// point, ratios taken run by run, percentiles in order, a verdict and the conditions; the
/// chart is well-formed SVG naming the series and the claim, and renders to a PNG that is
/// not blank (rsvg-convert).
#[test]
fn benchmarks_repeat_judge_and_plot() {
    private_netns();
    let dir = std::env::temp_dir().join(format!("sockscope-lab-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str], name: &str| -> (serde_json::Value, String) {
        let svg = dir.join(format!("{name}.svg"));
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--runs", "3", "--plot", svg.to_str().unwrap(), "--json"]);
        let v: serde_json::Value = serde_json::from_str(&sockscope_ok(&all)).unwrap();
        let made = v["made"].clone();
        assert_eq!(made["runs"], 3, "{made}");
        assert!(made["claim"].as_str().is_some_and(|c| !c.is_empty()), "{made}");
        assert!(made["conditions"]["cores"].as_u64().unwrap() >= 1 && made["conditions"]["kernel"].is_string());
        (made, std::fs::read_to_string(&svg).unwrap())
    };
    let check_points = |made: &serde_json::Value| {
        for f in made["figures"].as_array().unwrap() {
            for p in f["points"].as_array().unwrap() {
                for s in p["series"].as_array().unwrap() {
                    let samples: Vec<f64> =
                        s["samples"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
                    assert_eq!(samples.len(), 3, "3 samples per point: {s}");
                    let (min, med, max) =
                        (s["min"].as_f64().unwrap(), s["median"].as_f64().unwrap(), s["max"].as_f64().unwrap());
                    assert!(min <= med && med <= max, "{s}");
                    assert_eq!(min, samples.iter().copied().fold(f64::INFINITY, f64::min));
                    if !s["latency"].is_null() {
                        let l = &s["latency"];
                        let q: Vec<f64> = ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"]
                            .iter()
                            .map(|k| l[*k].as_f64().unwrap())
                            .collect();
                        assert!(q.windows(2).all(|w| w[0] <= w[1]), "percentiles in order: {l}");
                        assert!(l["count"].as_u64().unwrap() >= 3, "{l}");
                    }
                }
                if let Some(r) = p["ratio"].as_object() {
                    assert_eq!(r["samples"].as_array().unwrap().len(), 3, "a ratio per run: {p}");
                }
            }
        }
    };
    let svg_ok = |svg: &str, names: &[&str], name: &str| {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}.svg is not well-formed: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect();
        for n in names {
            assert!(texts.iter().any(|t| t == n), "{name}.svg lacks the series {n}: {texts:?}");
        }
        assert!(texts.iter().any(|t| t.starts_with("claim: ")), "{name}.svg lacks the claim line: {texts:?}");
        // Rendered, the chart is not blank: many pixels are not background.
        let png = dir.join(format!("{name}.png"));
        let st = Command::new("rsvg-convert")
            .arg(dir.join(format!("{name}.svg")))
            .arg("-o")
            .arg(&png)
            .status()
            .expect("rsvg-convert (librsvg2-bin)");
        assert!(st.success());
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let px = info.color_type.samples();
        let pixels = &buf[..info.buffer_size()];
        let inked = pixels.chunks(px).filter(|p| p.iter().take(3).any(|&c| c < 200)).count();
        let total = pixels.len() / px;
        assert!(inked * 200 > total, "{name}.png is blank: {inked} of {total} pixels drawn");
    };

    let (u, svg) = run(&["lab", "unix-vs-tcp", "--sizes", "64,64k", "--seconds", "0.02"], "unix");
    check_points(&u);
    let thr = &u["figures"][0];
    assert_eq!(
        thr["points"].as_array().unwrap().iter().map(|p| p["x"].as_f64().unwrap()).collect::<Vec<_>>(),
        vec![64.0, 65536.0]
    );
    // The ratio of each run is that run's Unix over that run's TCP.
    let p0 = &thr["points"][0];
    for i in 0..3 {
        let (tcp, unix) =
            (p0["series"][0]["samples"][i].as_f64().unwrap(), p0["series"][1]["samples"][i].as_f64().unwrap());
        assert!((p0["ratio"]["samples"][i].as_f64().unwrap() - unix / tcp).abs() < 1e-9 * (unix / tcp));
    }
    // Each point's verdict is what its runs' ratios say of the claim (Unix ≥ 2× TCP): every
    // run at or above 2 confirms, every run below refutes, runs on both sides are
    // inconclusive; the figure's is the points' when they agree, else inconclusive.
    let mut verdicts = Vec::new();
    for p in thr["points"].as_array().unwrap() {
        let samples: Vec<f64> = p["ratio"]["samples"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let (min, max) =
            samples.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let expected = if min >= 2.0 {
            "confirmed"
        } else if max < 2.0 {
            "not-confirmed"
        } else {
            "inconclusive"
        };
        assert_eq!(p["ratio"]["verdict"], expected, "{p}");
        verdicts.push(expected);
    }
    let figure = if verdicts.iter().all(|v| *v == verdicts[0]) { verdicts[0] } else { "inconclusive" };
    assert_eq!(thr["verdict"], figure, "{thr}");
    assert!(!u["figures"][1]["points"][0]["series"][0]["latency"].is_null(), "round trips have percentiles");
    svg_ok(&svg, &["TCP", "Unix", "Unix / TCP"], "unix");

    let (p, svg) = run(&["lab", "poll-vs-epoll", "--fds", "10,100", "--seconds-per-size", "0.01"], "poll");
    check_points(&p);
    svg_ok(&svg, &["select", "poll", "epoll"], "poll");

    let (n, svg) = run(&["lab", "nagle", "--requests", "3"], "nagle");
    check_points(&n);
    // Nagle meeting a delayed ACK costs a timer of tens of milliseconds; with TCP_NODELAY a
    // loopback round trip is microseconds.
    let series = &n["figures"][0]["points"][0]["series"];
    assert!(series[0]["median"].as_f64().unwrap() > series[1]["median"].as_f64().unwrap(), "{series}");
    svg_ok(&svg, &["default", "TCP_NODELAY", "TCP_QUICKACK"], "nagle");

    let (b, svg) = run(&["lab", "blocking-vs-epoll", "--connections", "10,50", "--seconds", "0.1"], "blocking");
    check_points(&b);
    let threads = &b["figures"][2]["points"][1]["series"];
    assert!(threads[0]["min"].as_f64().unwrap() >= 50.0, "a thread per connection: {threads}");
    assert_eq!(threads[1]["max"].as_f64().unwrap(), 1.0, "one epoll thread: {threads}");
    svg_ok(&svg, &["thread per connection", "epoll loop"], "blocking");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Text that a reader can take at its word: verdicts, no negative "lower", the conditions;
/// and a wrong `--cpus` is a usage error.
#[test]
fn benchmark_text_states_verdicts_and_conditions() {
    private_netns();
    let out = sockscope_ok(&["lab", "unix-vs-tcp", "--sizes", "1k", "--seconds", "0.02", "--runs", "2", "--cpus", "0"]);
    assert!(out.contains("median [min–max] of 2 runs"), "{out}");
    assert!(out.contains("claim: Unix throughput ≥ 2× TCP's — "), "{out}");
    assert!(out.contains("conditions: ") && out.contains("client pinned to CPU 0, server to CPU 0"), "{out}");
    assert!(out.contains("% lower") || out.contains("% higher") || out.contains("the same"), "{out}");
    let negative = out.split_whitespace().any(|w| w.starts_with('-') && w.ends_with('%'));
    assert!(!negative, "a negative percentage: {out}");
    let status = |args: &[&str]| {
        let o = sockscope(args);
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = status(&["lab", "nagle", "--cpus", "99999"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("CPU 99999") && err.lines().count() <= 2, "{err}");
    for bad in [
        &["lab", "unix-vs-tcp", "--sizes", "0"][..],
        &["lab", "unix-vs-tcp", "--runs", "0"],
        &["lab", "nagle", "--cpus", "0,1,2"],
    ] {
        let (code, err) = status(bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
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
