//! Request/response latency when the client writes its request in two small pieces and then
//! waits (write-write-read): Nagle's algorithm holds the second piece until the first is
//! acknowledged, and the server delays that ACK. TCP_NODELAY on the sender, or TCP_QUICKACK
//! on the receiver, removes the stall.

use super::report::{Axis, Figure, Ratio, Report, Series, rounds};
use super::stats::{Bound, Claim, Latencies};
use super::{Settings, on_thread};
use crate::{LabError, io};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

pub const CLAIM: &str = "TCP_NODELAY disables Nagle's algorithm and reduces latency for interactive protocols; TCP_QUICKACK sends ACKs at once instead of delaying them";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Default,
    NoDelay,
    QuickAck,
}

/// Every request's latency, `requests` of them or as many as fit before `deadline`.
fn latencies(
    mode: Mode,
    requests: u32,
    deadline: Instant,
    settings: Settings,
) -> std::result::Result<Latencies, LabError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let mut c = TcpStream::connect(l.local_addr().map_err(io("address"))?).map_err(io("connect"))?;
    let (mut s, _) = l.accept().map_err(io("accept"))?;
    if mode == Mode::NoDelay {
        c.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
    }
    let quick = mode == Mode::QuickAck;
    let server = on_thread(settings.pin, false, move || {
        let mut req = [0u8; 200];
        loop {
            // TCP_QUICKACK is not sticky: the kernel may turn it off again, so set it each time.
            if quick {
                let _ = rustix::net::sockopt::set_tcp_quickack(&s, true);
            }
            if s.read_exact(&mut req).is_err() || s.write_all(b"ok").is_err() {
                break;
            }
        }
    });
    let client = on_thread(settings.pin, true, move || -> std::result::Result<Latencies, LabError> {
        let mut lat = Latencies::new();
        let mut resp = [0u8; 2];
        for _ in 0..requests {
            if Instant::now() > deadline {
                break;
            }
            let t = Instant::now();
            c.write_all(&[1u8; 100]).map_err(io("write header"))?;
            c.write_all(&[2u8; 100]).map_err(io("write body"))?;
            c.read_exact(&mut resp).map_err(io("read response"))?;
            lat.record(t.elapsed());
        }
        Ok(lat)
    });
    let lat = client.join().map_err(|_| LabError::Worker("the client thread panicked".into()))?;
    let _ = server.join();
    lat
}

const SERIES: [&str; 3] = ["default", "TCP_NODELAY", "TCP_QUICKACK"];

/// Each setting gets at most `max` per run.
pub fn run(requests: u32, max: Duration, s: Settings) -> std::result::Result<Report, LabError> {
    if requests == 0 || requests > 100_000 {
        return Err(LabError::Limit("--requests must be 1..=100000".into()));
    }
    super::report::check_runs(s.runs)?;
    let conditions = super::conditions::Conditions::now(s.pin);
    let modes = [Mode::Default, Mode::NoDelay, Mode::QuickAck];
    let runs = rounds(s.runs, modes.len(), |i| latencies(modes[i], requests, Instant::now() + max, s))?;
    let mut figure = Figure::new("request latency", "µs", Axis { label: "request", unit: "bytes", log: false })
        .with_ratio(Ratio {
            numerator: "TCP_NODELAY",
            denominator: "default",
            claim: Some(Claim { bound: Bound::AtMost, value: 0.5 }),
            says: "TCP_NODELAY at least halves the latency of a write-write-read exchange (≤ 0.5× default)",
            judged_at_largest_only: false,
            // Thousands of times faster: "100% lower" would hide how much.
            as_percent: false,
        });
    let series = SERIES.iter().zip(runs).map(|(name, runs)| Series::of_latencies(name, &runs)).collect();
    // One point: the request, written as two 100-byte pieces.
    figure.push(200.0, series);
    Ok(Report { benchmark: "nagle", claim: CLAIM, runs: s.runs, conditions, figures: vec![figure.judge()] })
}
