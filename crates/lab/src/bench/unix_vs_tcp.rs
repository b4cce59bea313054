//! Unix domain stream sockets against TCP over loopback: throughput of a bulk transfer and
//! round-trip latency of a 1-byte ping-pong. The seed claims ~2× throughput and ~30% lower
//! latency for Unix sockets.

use super::{median, micros};
use crate::{LabError, io};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

pub const CLAIM: &str = "Unix domain sockets: ~2x the throughput and ~30% lower latency of TCP over loopback";

#[derive(Debug, Serialize)]
pub struct Result {
    pub seconds_per_test: f64,
    pub tcp_mib_per_s: f64,
    pub unix_mib_per_s: f64,
    /// unix / tcp
    pub throughput_ratio: f64,
    pub tcp_rtt_us: f64,
    pub unix_rtt_us: f64,
    /// 1 - unix/tcp: how much lower Unix latency is.
    pub latency_reduction: f64,
    pub claim: &'static str,
}

fn tcp_pair() -> std::result::Result<(TcpStream, TcpStream), LabError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let c = TcpStream::connect(l.local_addr().map_err(io("address"))?).map_err(io("connect"))?;
    let (s, _) = l.accept().map_err(io("accept"))?;
    c.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
    s.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
    Ok((c, s))
}

/// Bytes per second pushed from `w` to `r` in `d`.
fn throughput<W: Write + Send + 'static, R: Read>(mut w: W, mut r: R, d: Duration) -> f64 {
    let writer = std::thread::spawn(move || {
        let buf = vec![0x5au8; 64 * 1024];
        let end = Instant::now() + d;
        while Instant::now() < end {
            if w.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    let mut total = 0u64;
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = writer.join();
    total as f64 / elapsed.max(1e-9)
}

/// Median round trip of a 1-byte ping-pong for `d`.
fn rtt<S: Read + Write + Send + 'static>(mut a: S, mut b: S, d: Duration) -> Duration {
    let echo = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while b.read_exact(&mut byte).is_ok() {
            if b.write_all(&byte).is_err() {
                break;
            }
        }
    });
    let mut samples = Vec::new();
    let end = Instant::now() + d;
    let mut byte = [1u8; 1];
    while Instant::now() < end && samples.len() < 1_000_000 {
        let t = Instant::now();
        if a.write_all(&byte).is_err() || a.read_exact(&mut byte).is_err() {
            break;
        }
        samples.push(t.elapsed());
    }
    drop(a);
    let _ = echo.join();
    median(&mut samples)
}

pub fn run(seconds: f64) -> std::result::Result<Result, LabError> {
    if !(0.05..=60.0).contains(&seconds) {
        return Err(LabError::Limit("--seconds must be 0.05..=60".into()));
    }
    let d = Duration::from_secs_f64(seconds);
    let (c, s) = tcp_pair()?;
    let tcp_bps = throughput(c, s, d);
    let (a, b) = UnixStream::pair().map_err(io("socketpair"))?;
    let unix_bps = throughput(a, b, d);
    let (c, s) = tcp_pair()?;
    let tcp_rtt = rtt(c, s, d);
    let (a, b) = UnixStream::pair().map_err(io("socketpair"))?;
    let unix_rtt = rtt(a, b, d);
    Ok(Result {
        seconds_per_test: seconds,
        tcp_mib_per_s: tcp_bps / 1048576.0,
        unix_mib_per_s: unix_bps / 1048576.0,
        throughput_ratio: unix_bps / tcp_bps.max(1.0),
        tcp_rtt_us: micros(tcp_rtt),
        unix_rtt_us: micros(unix_rtt),
        latency_reduction: 1.0 - micros(unix_rtt) / micros(tcp_rtt).max(1e-9),
        claim: CLAIM,
    })
}
