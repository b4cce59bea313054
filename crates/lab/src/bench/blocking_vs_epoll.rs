//! The C10K problem in small: an echo server with one blocking thread per connection against
//! one epoll loop, driven by the same client over C connections. Reports throughput and the
//! memory each server costs.

use super::report::{Axis, Figure, Ratio, Report, Series, rounds};
use super::stats::{Bound, Claim};
use super::{Settings, conditions::pin_side};
use crate::{LabError, io, limits};
use rustix::event::epoll;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const CLAIM: &str = "blocking I/O needs a thread per connection (memory and context switches grow with connections); one epoll loop serves thousands of connections";

const MSG: usize = 64;

/// What one server did in one run.
#[derive(Debug, Clone, Copy)]
struct Mode {
    requests_per_s: f64,
    /// Resident memory the server added (KiB), at least one page (RSS is counted in pages).
    rss_kib: u64,
    threads: u64,
}

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Sends a message on every connection and another whenever an echo comes back, for `d`;
/// returns the number of echoes received.
fn drive(clients: &[TcpStream], d: Duration) -> std::result::Result<u64, LabError> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| io("epoll_create")(e.into()))?;
    for (i, c) in clients.iter().enumerate() {
        c.set_nonblocking(true).map_err(io("nonblocking"))?;
        epoll::add(&ep, c, epoll::EventData::new_u64(i as u64), epoll::EventFlags::IN)
            .map_err(|e| io("epoll_ctl")(e.into()))?;
        (&*c).write_all(&[7u8; MSG]).map_err(io("send"))?;
    }
    let mut done = 0u64;
    let mut got: Vec<usize> = vec![0; clients.len()];
    let mut buf = [0u8; MSG];
    let mut events = Vec::with_capacity(256);
    let end = Instant::now() + d;
    while Instant::now() < end {
        events.clear();
        let timeout = rustix::event::Timespec { tv_sec: 0, tv_nsec: 50_000_000 };
        let _ = epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), Some(&timeout));
        for e in &events {
            let i = e.data.u64() as usize;
            let c = &clients[i];
            while let Ok(n) = (&*c).read(&mut buf[..MSG - got[i]]) {
                if n == 0 {
                    break;
                }
                got[i] += n;
                if got[i] == MSG {
                    got[i] = 0;
                    done += 1;
                    let _ = (&*c).write_all(&[7u8; MSG]);
                }
            }
        }
    }
    Ok(done)
}

fn threaded_server(
    listener: TcpListener,
    n: u32,
    stop: Arc<AtomicBool>,
    settings: Settings,
) -> std::thread::JoinHandle<Vec<std::thread::JoinHandle<()>>> {
    std::thread::spawn(move || {
        let mut handles = Vec::new();
        for _ in 0..n {
            let Ok((mut s, _)) = listener.accept() else { break };
            let stop = stop.clone();
            handles.push(std::thread::spawn(move || {
                pin_side(settings.pin, false);
                let mut buf = [0u8; MSG];
                while !stop.load(Ordering::Relaxed) {
                    if s.read_exact(&mut buf).is_err() || s.write_all(&buf).is_err() {
                        break;
                    }
                }
            }));
        }
        handles
    })
}

fn epoll_server(listener: TcpListener, n: u32, stop: Arc<AtomicBool>, s: Settings) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        pin_side(s.pin, false);
        let Ok(ep) = epoll::create(epoll::CreateFlags::CLOEXEC) else { return };
        let mut conns: HashMap<u64, (TcpStream, Vec<u8>)> = HashMap::new();
        for i in 0..n {
            let Ok((s, _)) = listener.accept() else { return };
            let _ = s.set_nonblocking(true);
            let _ = epoll::add(&ep, s.as_fd(), epoll::EventData::new_u64(u64::from(i)), epoll::EventFlags::IN);
            conns.insert(u64::from(i), (s, Vec::with_capacity(MSG)));
        }
        let mut events = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            events.clear();
            let timeout = rustix::event::Timespec { tv_sec: 0, tv_nsec: 50_000_000 };
            let _ = epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), Some(&timeout));
            for e in &events {
                let Some((s, _pending)) = conns.get_mut(&e.data.u64()) else { continue };
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => break,
                        Ok(k) => {
                            let _ = s.write_all(&buf[..k]);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
            }
        }
    })
}

fn connect_all(listener: &TcpListener, n: u32) -> std::result::Result<Vec<TcpStream>, LabError> {
    let addr = listener.local_addr().map_err(io("address"))?;
    (0..n).map(|_| TcpStream::connect(addr).map_err(io("connect"))).collect()
}

fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

const SERIES: [&str; 2] = ["thread per connection", "epoll loop"];

/// One server (`threaded` or the epoll loop) with `connections` clients, driven for `d`.
fn measure(threaded: bool, connections: u32, d: Duration, s: Settings) -> std::result::Result<Mode, LabError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (rss0, th0) = (status("VmRSS:"), status("Threads:"));
    let l2 = listener.try_clone().map_err(io("dup listener"))?;
    let (tserver, eserver) = if threaded {
        (Some(threaded_server(l2, connections, stop.clone(), s)), None)
    } else {
        (None, Some(epoll_server(l2, connections, stop.clone(), s)))
    };
    let clients = connect_all(&listener, connections)?;
    settle();
    let (rss, th) = (status("VmRSS:"), status("Threads:"));
    let done = drive(&clients, d);
    stop.store(true, Ordering::Relaxed);
    drop(clients);
    if let Some(h) = tserver
        && let Ok(handles) = h.join()
    {
        for h in handles {
            let _ = h.join();
        }
    }
    if let Some(h) = eserver {
        let _ = h.join();
    }
    Ok(Mode {
        requests_per_s: done? as f64 / d.as_secs_f64(),
        rss_kib: rss.saturating_sub(rss0).max(4),
        threads: th.saturating_sub(th0),
    })
}

pub fn run(connections: &[u32], seconds: f64, s: Settings) -> std::result::Result<Report, LabError> {
    let max = connections.iter().copied().max().unwrap_or(0);
    if connections.contains(&0) || max == 0 || !(0.1..=60.0).contains(&seconds) {
        return Err(LabError::Limit("--connections must be at least 1 each and --seconds 0.1..=60".into()));
    }
    super::report::check_runs(s.runs)?;
    // Both ends live in this process: two fds per connection.
    limits::ensure_fds(u64::from(max) * 2 + 16, "blocking-vs-epoll")?;
    limits::ensure_ports(u64::from(max) * 2, "blocking-vs-epoll")?;
    let conditions = super::conditions::Conditions::now(s.pin);
    // The client drives from this thread.
    pin_side(s.pin, true);
    let d = Duration::from_secs_f64(seconds);
    let axis = Axis { label: "connections", unit: "connections", log: true };
    let mut rate = Figure::new("echo rate", "requests/s", axis).with_ratio(Ratio {
        numerator: "epoll loop",
        denominator: "thread per connection",
        claim: None,
        says: "",
        judged_at_largest_only: false,
        as_percent: true,
    });
    let mut memory = Figure::new("resident memory added", "KiB", axis).with_ratio(Ratio {
        numerator: "thread per connection",
        denominator: "epoll loop",
        claim: Some(Claim { bound: Bound::AtLeast, value: 2.0 }),
        says: "at the most connections, a thread per connection costs ≥ 2× the memory of one epoll loop",
        judged_at_largest_only: true,
        as_percent: false,
    });
    let mut threads = Figure::new("threads added", "threads", axis);
    for &n in connections {
        let runs = rounds(s.runs, 2, |i| measure(i == 0, n, d, s))?;
        let of = |f: fn(&Mode) -> f64| -> Vec<Series> {
            SERIES.iter().zip(&runs).map(|(name, r)| Series::new(name, r.iter().map(f).collect(), None)).collect()
        };
        rate.push(f64::from(n), of(|m| m.requests_per_s));
        memory.push(f64::from(n), of(|m| m.rss_kib as f64));
        threads.push(f64::from(n), of(|m| m.threads as f64));
    }
    Ok(Report {
        benchmark: "blocking-vs-epoll",
        claim: CLAIM,
        runs: s.runs,
        conditions,
        figures: vec![rate.judge(), memory.judge(), threads.judge()],
    })
}
