//! Request/response latency when the client writes its request in two small pieces and then
//! waits (write-write-read): Nagle's algorithm holds the second piece until the first is
//! acknowledged, and the server delays that ACK. TCP_NODELAY on the sender, or TCP_QUICKACK
//! on the receiver, removes the stall.

use super::{median, micros};
use crate::{LabError, io};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

pub const CLAIM: &str = "TCP_NODELAY disables Nagle's algorithm and reduces latency for interactive protocols; TCP_QUICKACK sends ACKs at once instead of delaying them";

#[derive(Debug, Serialize)]
pub struct Result {
    pub requests: u32,
    pub default_us: f64,
    pub nodelay_us: f64,
    pub quickack_us: f64,
    pub claim: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Default,
    NoDelay,
    QuickAck,
}

fn median_latency(mode: Mode, requests: u32, deadline: Instant) -> std::result::Result<Duration, LabError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let mut c = TcpStream::connect(l.local_addr().map_err(io("address"))?).map_err(io("connect"))?;
    let (mut s, _) = l.accept().map_err(io("accept"))?;
    if mode == Mode::NoDelay {
        c.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
    }
    let quick = mode == Mode::QuickAck;
    let server = std::thread::spawn(move || {
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
    let mut samples = Vec::new();
    let mut resp = [0u8; 2];
    for _ in 0..requests {
        if Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        c.write_all(&[1u8; 100]).map_err(io("write header"))?;
        c.write_all(&[2u8; 100]).map_err(io("write body"))?;
        c.read_exact(&mut resp).map_err(io("read response"))?;
        samples.push(t.elapsed());
    }
    drop(c);
    let _ = server.join();
    Ok(median(&mut samples))
}

pub fn run(requests: u32, max: Duration) -> std::result::Result<Result, LabError> {
    if requests == 0 || requests > 100_000 {
        return Err(LabError::Limit("--requests must be 1..=100000".into()));
    }
    let deadline = Instant::now() + max;
    let default = median_latency(Mode::Default, requests, deadline)?;
    let nodelay = median_latency(Mode::NoDelay, requests, deadline + max)?;
    let quickack = median_latency(Mode::QuickAck, requests, deadline + max * 2)?;
    Ok(Result {
        requests,
        default_us: micros(default),
        nodelay_us: micros(nodelay),
        quickack_us: micros(quickack),
        claim: CLAIM,
    })
}
