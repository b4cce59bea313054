//! The C10K problem in small: an echo server with one blocking thread per connection against
//! one epoll loop, driven by the same client over C connections. Reports throughput and the
//! memory each server costs.

use crate::{LabError, io, limits};
use rustix::event::epoll;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const CLAIM: &str = "blocking I/O needs a thread per connection (memory and context switches grow with connections); one epoll loop serves thousands of connections";

const MSG: usize = 64;

#[derive(Debug, Serialize)]
pub struct Mode {
    pub requests_per_s: f64,
    /// Resident memory the server added (KiB).
    pub rss_kib: u64,
    /// Virtual memory it added (KiB): thread stacks show here.
    pub virtual_kib: u64,
    pub threads: u64,
}

#[derive(Debug, Serialize)]
pub struct Result {
    pub connections: u32,
    pub seconds: f64,
    pub thread_per_connection: Mode,
    pub epoll_loop: Mode,
    pub claim: &'static str,
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
) -> std::thread::JoinHandle<Vec<std::thread::JoinHandle<()>>> {
    std::thread::spawn(move || {
        let mut handles = Vec::new();
        for _ in 0..n {
            let Ok((mut s, _)) = listener.accept() else { break };
            let stop = stop.clone();
            handles.push(std::thread::spawn(move || {
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

fn epoll_server(listener: TcpListener, n: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
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

pub fn run(connections: u32, seconds: f64) -> std::result::Result<Result, LabError> {
    if connections == 0 || !(0.1..=60.0).contains(&seconds) {
        return Err(LabError::Limit("--connections must be at least 1 and --seconds 0.1..=60".into()));
    }
    // Both ends live in this process: two fds per connection.
    limits::ensure_fds(u64::from(connections) * 2 + 16, "blocking-vs-epoll")?;
    limits::ensure_ports(u64::from(connections) * 2, "blocking-vs-epoll")?;
    let d = Duration::from_secs_f64(seconds);

    let measure = |threaded: bool| -> std::result::Result<Mode, LabError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (rss0, vm0, th0) = (status("VmRSS:"), status("VmSize:"), status("Threads:"));
        let l2 = listener.try_clone().map_err(io("dup listener"))?;
        let (tserver, eserver) = if threaded {
            (Some(threaded_server(l2, connections, stop.clone())), None)
        } else {
            (None, Some(epoll_server(l2, connections, stop.clone())))
        };
        let clients = connect_all(&listener, connections)?;
        settle();
        let (rss, vm, th) = (status("VmRSS:"), status("VmSize:"), status("Threads:"));
        let done = drive(&clients, d)?;
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
            requests_per_s: done as f64 / seconds,
            rss_kib: rss.saturating_sub(rss0),
            virtual_kib: vm.saturating_sub(vm0),
            threads: th.saturating_sub(th0),
        })
    };
    let thread_per_connection = measure(true)?;
    let epoll_loop = measure(false)?;
    Ok(Result { connections, seconds, thread_per_connection, epoll_loop, claim: CLAIM })
}
