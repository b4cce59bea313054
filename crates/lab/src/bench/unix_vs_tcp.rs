//! Unix domain stream sockets against TCP over loopback, across message sizes: throughput of
//! a bulk transfer in writes of the size, and the round trip of a ping-pong of the size. The
//! chapter claims ~2× throughput and ~30% lower latency for Unix sockets.

use super::report::{Axis, Figure, Ratio, Report, Series, rounds};
use super::stats::{Bound, Claim, Latencies};
use super::{Settings, on_thread};
use crate::{LabError, io};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

pub const CLAIM: &str = "Unix domain sockets: ~2x the throughput and ~30% lower latency of TCP over loopback";

/// 64 B … 1 MiB.
pub const DEFAULT_SIZES: [usize; 5] = [64, 1024, 16 * 1024, 64 * 1024, 1024 * 1024];

const SERIES: [&str; 2] = ["TCP", "Unix"];

/// A connected pair of either kind, as two boxed ends.
trait Stream: Read + Write + Send + 'static {}
impl<T: Read + Write + Send + 'static> Stream for T {}

/// The two ends of a connection.
type Ends = (Box<dyn Stream>, Box<dyn Stream>);

fn pair(unix: bool) -> Result<Ends, LabError> {
    if unix {
        let (a, b) = UnixStream::pair().map_err(io("socketpair"))?;
        return Ok((Box::new(a), Box::new(b)));
    }
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let c = TcpStream::connect(l.local_addr().map_err(io("address"))?).map_err(io("connect"))?;
    let (s, _) = l.accept().map_err(io("accept"))?;
    c.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
    s.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
    Ok((Box::new(c), Box::new(s)))
}

/// MiB per second pushed from the client to the server in writes of `size` bytes for `d`.
fn throughput(unix: bool, size: usize, d: Duration, s: Settings) -> Result<f64, LabError> {
    let (mut w, mut r) = pair(unix)?;
    let writer = on_thread(s.pin, true, move || {
        let buf = vec![0x5au8; size];
        let end = Instant::now() + d;
        while Instant::now() < end {
            if w.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let reader = on_thread(s.pin, false, move || {
        let mut buf = vec![0u8; size.max(64 * 1024)];
        let start = Instant::now();
        let mut total = 0u64;
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        total as f64 / start.elapsed().as_secs_f64().max(1e-9)
    });
    let _ = writer.join();
    let bps = reader.join().map_err(|_| LabError::Worker("the reading thread panicked".into()))?;
    Ok(bps / 1048576.0)
}

/// Every round trip of a `size`-byte ping-pong for `d` (at most a million).
fn round_trips(unix: bool, size: usize, d: Duration, s: Settings) -> Result<Latencies, LabError> {
    let (mut a, mut b) = pair(unix)?;
    let echo = on_thread(s.pin, false, move || {
        let mut buf = vec![0u8; size];
        while b.read_exact(&mut buf).is_ok() {
            if b.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let client = on_thread(s.pin, true, move || {
        let mut lat = Latencies::new();
        let mut buf = vec![1u8; size];
        let end = Instant::now() + d;
        let mut n = 0;
        while Instant::now() < end && n < 1_000_000 {
            let t = Instant::now();
            if a.write_all(&buf).is_err() || a.read_exact(&mut buf).is_err() {
                break;
            }
            lat.record(t.elapsed());
            n += 1;
        }
        lat
    });
    let lat = client.join().map_err(|_| LabError::Worker("the client thread panicked".into()))?;
    let _ = echo.join();
    Ok(lat)
}

pub fn run(sizes: &[usize], seconds: f64, s: Settings) -> Result<Report, LabError> {
    if !(0.01..=60.0).contains(&seconds) {
        return Err(LabError::Limit("--seconds must be 0.01..=60".into()));
    }
    if sizes.is_empty() || sizes.iter().any(|&n| n == 0 || n > 16 << 20) {
        return Err(LabError::Limit("--sizes must be 1 B..=16 MiB each".into()));
    }
    super::report::check_runs(s.runs)?;
    let conditions = super::conditions::Conditions::now(s.pin);
    let d = Duration::from_secs_f64(seconds);
    let axis = Axis { label: "message size", unit: "bytes", log: true };
    let mut thr = Figure::new("throughput", "MiB/s", axis).with_ratio(Ratio {
        numerator: "Unix",
        denominator: "TCP",
        claim: Some(Claim { bound: Bound::AtLeast, value: 2.0 }),
        says: "Unix throughput ≥ 2× TCP's",
        judged_at_largest_only: false,
        as_percent: false,
    });
    let mut rtt = Figure::new("round trip", "µs", axis).with_ratio(Ratio {
        numerator: "Unix",
        denominator: "TCP",
        claim: Some(Claim { bound: Bound::AtMost, value: 0.7 }),
        says: "Unix round trip ≥ 30% lower than TCP's (Unix / TCP ≤ 0.7)",
        judged_at_largest_only: false,
        as_percent: true,
    });
    for &size in sizes {
        let samples = rounds(s.runs, 2, |i| throughput(i == 1, size, d, s))?;
        thr.push(size as f64, SERIES.iter().zip(samples).map(|(name, v)| Series::new(name, v, None)).collect());
        let runs = rounds(s.runs, 2, |i| round_trips(i == 1, size, d, s))?;
        let series = SERIES.iter().zip(runs).map(|(name, runs)| Series::of_latencies(name, &runs)).collect();
        rtt.push(size as f64, series);
    }
    Ok(Report {
        benchmark: "unix-vs-tcp",
        claim: CLAIM,
        runs: s.runs,
        conditions,
        figures: vec![thr.judge(), rtt.judge()],
    })
}
