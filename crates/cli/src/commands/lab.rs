//! `sockscope lab SCENARIO`: make a socket problem happen for real, show it, hold it, clean up;
//! or run a benchmark of a common claim about sockets.

use crate::args::{LabArgs, Scenario};
use crate::render::counted;
use anyhow::Context;
use sockscope_lab::bench;
use sockscope_lab::scenarios::{
    addr_in_use, backlog, close_wait, ephemeral, farm, fd_exhaustion, reuseport, time_wait,
};
use std::any::Any;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a scenario made: its ground truth, how to say it, and the value that holds it.
struct Started {
    name: &'static str,
    truth: serde_json::Value,
    lines: Vec<String>,
    /// Dropping this removes everything the scenario made.
    hold: Option<Box<dyn Any>>,
}

fn started(name: &'static str, truth: serde_json::Value, lines: Vec<String>, hold: Option<Box<dyn Any>>) -> Started {
    Started { name, truth, lines, hold }
}

pub fn run(args: &LabArgs, out: &mut impl Write) -> anyhow::Result<bool> {
    // Signals first, so a Ctrl-C during setup still cleans up.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install signal handlers")?;
    }
    if args.netns {
        sockscope_lab::enter_private_netns()?;
    }
    let exe = std::env::current_exe().context("cannot find the sockscope executable for lab workers")?;
    let s = start(&args.scenario, &exe)?;

    crate::render::lab::started(out, s.name, &s.truth, &s.lines, args.json, args.netns, s.hold.is_some())?;
    out.flush()?;
    let Some(hold) = s.hold else { return Ok(true) };
    let deadline = args.hold.map(|secs| Instant::now() + Duration::from_secs_f64(secs.max(0.0)));
    if !args.json {
        match args.hold {
            Some(secs) => crate::stderr_line!("sockscope: holding for {secs} s (Ctrl-C to stop sooner)"),
            None => crate::stderr_line!("sockscope: holding until Ctrl-C"),
        }
    }
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(hold);
    if !args.json {
        crate::stderr_line!(
            "sockscope: cleaned up the {} scenario: its fds and processes are closed, and its TIME-WAIT and closing sockets destroyed where the kernel allows (else they expire within 60 s)",
            s.name
        );
    }
    Ok(true)
}

fn delta(before: u64, after: u64) -> String {
    format!("{before} -> {after} (+{})", after.saturating_sub(before))
}

/// Starts one scenario (or runs one benchmark) and says what it made.
fn start(scenario: &Scenario, exe: &std::path::Path) -> anyhow::Result<Started> {
    match scenario {
        Scenario::Backlog { backlog, clients } => start_backlog(*backlog, *clients),
        Scenario::CloseWait { count } => start_close_wait(*count),
        Scenario::TimeWait { count } => start_time_wait(*count),
        Scenario::FdExhaustion { limit } => start_fd_exhaustion(*limit, exe),
        Scenario::AddrInUse { connections, no_reuseaddr } => start_addr_in_use(*connections, !*no_reuseaddr),
        Scenario::Ephemeral { range } => start_ephemeral(range),
        Scenario::Reuseport { listeners, clients } => start_reuseport(*listeners, *clients),
        Scenario::Farm { sockets, processes } => start_farm(*sockets, *processes, exe),
        Scenario::UnixVsTcp { sizes, seconds, bench: b } => {
            benchmark(b, |s| bench::unix_vs_tcp::run(sizes, *seconds, s))
        }
        Scenario::PollVsEpoll { fds, seconds_per_size, bench: b } => benchmark(b, |s| {
            bench::poll_vs_epoll::run(fds, Duration::from_secs_f64(seconds_per_size.clamp(0.01, 10.0)), s)
        }),
        Scenario::Nagle { requests, bench: b } => {
            benchmark(b, |s| bench::nagle::run(*requests, Duration::from_secs(5), s))
        }
        Scenario::BlockingVsEpoll { connections, seconds, bench: b } => {
            benchmark(b, |s| bench::blocking_vs_epoll::run(connections, *seconds, s))
        }
    }
}

/// A full accept queue.
fn start_backlog(backlog: u32, clients: u32) -> anyhow::Result<Started> {
    let b = backlog::Backlog::start(&backlog::Options { backlog, clients })?;
    let t = &b.truth;
    let lines = vec![
        format!(
            "listener 127.0.0.1:{} (pid {}, fd {}), listen() backlog {}, never calls accept()",
            t.port, t.pid, t.listener_fd, t.backlog
        ),
        format!(
            "{} clients connected at once; {} completed the handshake and wait in the accept queue (the kernel queues backlog + 1)",
            t.clients, t.connected
        ),
        format!(
            "the rest keep retransmitting SYNs: TcpExt ListenOverflows {}, ListenDrops {}",
            delta(t.listen_overflows_before, t.listen_overflows_after),
            delta(t.listen_drops_before, t.listen_drops_after)
        ),
        format!("see it: sockscope -tln sport = :{}   (Recv-Q: queued, Send-Q: backlog)", t.port),
    ];
    Ok(started("backlog", serde_json::to_value(&b.truth)?, lines, Some(Box::new(b))))
}

/// A CLOSE-WAIT leak.
fn start_close_wait(count: u32) -> anyhow::Result<Started> {
    let c = close_wait::CloseWait::start(&close_wait::Options { count })?;
    let t = &c.truth;
    let lines = vec![
        format!(
            "{} clients of 127.0.0.1:{} hung up; pid {} read EOF but never called close() on fds {:?}",
            t.fds.len(),
            t.port,
            t.pid,
            t.fds
        ),
        format!(
            "{} sockets sit in CLOSE-WAIT until the process closes them or exits: a leak, and each holds an fd",
            t.fds.len()
        ),
        format!("see it: sockscope -tnp state close-wait sport = :{}", t.port),
    ];
    Ok(started("close-wait", serde_json::to_value(&c.truth)?, lines, Some(Box::new(c))))
}

/// TIME-WAIT after active closes.
fn start_time_wait(count: u32) -> anyhow::Result<Started> {
    let w = time_wait::TimeWait::start(&time_wait::Options { count })?;
    let t = &w.truth;
    let lines = vec![
        format!(
            "{} short connections to 127.0.0.1:{}, each closed first by its client (pid {})",
            t.sockets.len(),
            t.server_port,
            t.pid
        ),
        format!(
            "{} client sockets are in TIME-WAIT for 60 s: normal, no process holds them, but each keeps its 4-tuple (and a local port) busy",
            t.sockets.len()
        ),
        format!("see it: sockscope -tn state time-wait dport = :{}   or: sockscope -s", t.server_port),
    ];
    Ok(started("time-wait", serde_json::to_value(&w.truth)?, lines, Some(Box::new(w))))
}

/// A process at its fd limit.
fn start_fd_exhaustion(limit: u64, exe: &std::path::Path) -> anyhow::Result<Started> {
    let f = fd_exhaustion::FdExhaustion::start(&fd_exhaustion::Options { limit }, exe)?;
    let t = &f.truth;
    let lines = vec![
        format!("pid {} lowered its own soft RLIMIT_NOFILE to {} and opened sockets", t.pid, t.soft_limit),
        format!("after {} sockets, socket() failed: {}", t.opened, t.error),
        format!("see it: sockscope fds {} --top   or: sockscope fds {}", t.pid, t.pid),
    ];
    Ok(started("fd-exhaustion", serde_json::to_value(&f.truth)?, lines, Some(Box::new(f))))
}

/// EADDRINUSE from TIME-WAIT, and SO_REUSEADDR.
fn start_addr_in_use(connections: u32, reuseaddr: bool) -> anyhow::Result<Started> {
    let a = addr_in_use::AddrInUse::start(&addr_in_use::Options { connections, reuseaddr })?;
    let t = &a.truth;
    let lines = if reuseaddr {
        vec![
            format!(
                "a server on 127.0.0.1:{} closed {} connections first and exited: {} TIME-WAIT sockets keep the port",
                t.port, t.time_wait, t.time_wait
            ),
            format!("restart without SO_REUSEADDR: bind() -> {}", t.without_reuseaddr),
            format!("restart with SO_REUSEADDR:    bind() + listen() -> {}", t.with_reuseaddr),
            format!("see it: sockscope who :{}", t.port),
        ]
    } else {
        vec![
            format!(
                "a server listening on 127.0.0.1:{} without SO_REUSEADDR closed {} connections first: {} TIME-WAIT sockets sit on its port",
                t.port, t.time_wait, t.time_wait
            ),
            "restarted now, it would fail with EADDRINUSE until they expire (60 s)".to_string(),
            format!("see it: sockscope who :{}   or: sockscope doctor", t.port),
        ]
    };
    Ok(started("addr-in-use", serde_json::to_value(&a.truth)?, lines, Some(Box::new(a))))
}

/// EADDRNOTAVAIL from a used-up port range.
fn start_ephemeral(range: &str) -> anyhow::Result<Started> {
    let (lo, hi) = range
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)))
        .with_context(|| format!("--range '{range}': expected LOW-HIGH, e.g. 40000-40063"))?;
    let e = ephemeral::Ephemeral::start(&ephemeral::Options { low: lo, high: hi })?;
    let t = &e.truth;
    let mut lines = vec![
        format!(
            "connections to 127.0.0.1:{} from local ports {}-{}, each bound explicitly (SO_REUSEADDR)",
            t.server_port, t.low, t.high
        ),
        format!("{} connected; the next connect() failed: {}", t.connected, t.error),
    ];
    if !t.held_elsewhere.is_empty() {
        lines.push(format!(
            "{} port{} of the range were held by other sockets and skipped (bind: EADDRINUSE): {}",
            t.held_elsewhere.len(),
            if t.held_elsewhere.len() == 1 { "" } else { "s" },
            t.held_elsewhere.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
        ));
    }
    lines.push("every (local port, destination) pair is taken: the same happens to a client when ip_local_port_range is used up".to_string());
    lines.push(format!("see it: sockscope -tn dport = :{}   or: sockscope -t --summary-by remote", t.server_port));
    Ok(started("ephemeral", serde_json::to_value(&e.truth)?, lines, Some(Box::new(e))))
}

/// SO_REUSEPORT spreading connections.
fn start_reuseport(listeners: u32, clients: u32) -> anyhow::Result<Started> {
    let r = reuseport::Reuseport::start(&reuseport::Options { listeners, clients })?;
    let t = &r.truth;
    let total: u32 = t.accepted.iter().sum();
    let spread: Vec<String> = t.listener_fds.iter().zip(&t.accepted).map(|(fd, n)| format!("fd {fd}: {n}")).collect();
    let lines = vec![
        format!(
            "{} listeners with SO_REUSEPORT on 127.0.0.1:{} (pid {}), {} clients",
            t.listener_fds.len(),
            t.port,
            t.pid,
            total
        ),
        format!("the kernel spread them by connection hash: {}", spread.join(", ")),
        format!("see it: sockscope -tlnp sport = :{}", t.port),
    ];
    Ok(started("reuseport", serde_json::to_value(&r.truth)?, lines, Some(Box::new(r))))
}

/// A socket population for benchmarks.
fn start_farm(sockets: u64, processes: u32, exe: &std::path::Path) -> anyhow::Result<Started> {
    let f = farm::Farm::start(&farm::Options { sockets, processes }, exe)?;
    let t = &f.truth;
    let pids: Vec<String> = t.workers.iter().map(|w| w.pid.to_string()).collect();
    let lines = vec![
        format!(
            "ready: {} in {} (pids {})",
            counted(usize::try_from(t.total()).unwrap_or(usize::MAX), "socket", "sockets"),
            counted(t.workers.len(), "process", "processes"),
            pids.join(",")
        ),
        format!(
            "{} established TCP, {} listeners, {} Unix, {} TIME-WAIT (these expire after 60 s)",
            t.established, t.listeners, t.unix, t.time_wait
        ),
    ];
    Ok(started("farm", serde_json::to_value(&f.truth)?, lines, Some(Box::new(f))))
}

/// Runs a benchmark with its repeats and pinning, says its figures and verdicts, and draws
/// its chart when asked.
fn benchmark(
    args: &crate::args::BenchArgs,
    run: impl FnOnce(bench::Settings) -> Result<bench::report::Report, sockscope_lab::LabError>,
) -> anyhow::Result<Started> {
    let pin = if args.cpus.is_empty() {
        None
    } else {
        Some(bench::conditions::Pinning::new(&args.cpus).map_err(crate::usage::usage)?)
    };
    let report = run(bench::Settings { runs: usize::from(args.runs), pin })?;
    let mut lines = report.lines();
    if let Some(path) = &args.plot {
        let mode = args.file_mode.file_mode.unwrap_or(sockscope_core::outfile::PRIVATE);
        bench::plot::write_svg(path, &bench::plot::panels(&report), mode)?;
        lines.push(format!("chart: {}", path.display()));
    }
    Ok(started(report.benchmark, serde_json::to_value(&report)?, lines, None))
}
