//! A listener with a small backlog that never accepts, and a burst of clients: its accept
//! queue fills, and the kernel drops the rest (ListenOverflows / ListenDrops rise).

use crate::cleanup::Footprint;
use crate::{LabError, counters, io, limits};
use rustix::net::{AddressFamily, SocketAddrV4, SocketFlags, SocketType};
use serde::Serialize;
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Options {
    pub backlog: u32,
    pub clients: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { backlog: 4, clients: 32 }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub port: u16,
    pub listener_fd: i32,
    pub backlog: u32,
    pub clients: u32,
    /// Clients whose connect() completed (they sit in the accept queue).
    pub connected: u32,
    pub listen_overflows_before: u64,
    pub listen_overflows_after: u64,
    pub listen_drops_before: u64,
    pub listen_drops_after: u64,
}

pub struct Backlog {
    pub truth: Truth,
    _listener: Option<TcpListener>,
    _clients: Vec<OwnedFd>,
    footprint: Footprint,
}

impl Backlog {
    pub fn start(o: &Options) -> Result<Backlog, LabError> {
        if o.backlog == 0 || o.clients <= o.backlog + 1 {
            return Err(LabError::Limit(format!(
                "--clients ({}) must exceed --backlog + 1 ({}) to overflow the queue",
                o.clients,
                o.backlog + 1
            )));
        }
        if o.clients > 4096 {
            return Err(LabError::Limit("at most 4096 clients in one burst".into()));
        }
        limits::ensure_fds(u64::from(o.clients) + 1, "backlog")?;
        let before = counters::read();
        let sock = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::CLOEXEC, None)
            .map_err(|e| io("socket")(e.into()))?;
        rustix::net::bind(&sock, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).map_err(|e| io("bind")(e.into()))?;
        rustix::net::listen(&sock, o.backlog as i32).map_err(|e| io("listen")(e.into()))?;
        let listener = TcpListener::from(sock);
        let addr = listener.local_addr().map_err(io("listener address"))?;
        let port = addr.port();
        let target = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        // The burst: non-blocking connects, so clients beyond the queue keep retrying their
        // SYN in the kernel instead of blocking us.
        let mut clients = Vec::with_capacity(o.clients as usize);
        let mut footprint = Footprint::default();
        for _ in 0..o.clients {
            let c = rustix::net::socket_with(
                AddressFamily::INET,
                SocketType::STREAM,
                SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
                None,
            )
            .map_err(|e| io("client socket")(e.into()))?;
            match rustix::net::connect(&c, &target) {
                Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
                Err(e) => return Err(io("connect")(e.into())),
            }
            // connect() has chosen the client's port, even while the SYN is still pending.
            let local = rustix::net::getsockname(&c).map_err(|e| io("client address")(e.into()))?;
            if let Ok(local) = std::net::SocketAddr::try_from(local) {
                footprint.add(local, target.into());
            }
            clients.push(c);
        }
        // Wait (bounded) until the accept queue is full and the overflow counter moved.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut after;
        loop {
            after = counters::read();
            let full = queue_len(port) > o.backlog;
            if (full
                && counters::get(&after, "TcpExt.ListenOverflows") > counters::get(&before, "TcpExt.ListenOverflows"))
                || Instant::now() > deadline
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let connected = queue_len(port);
        let truth = Truth {
            pid: std::process::id(),
            port,
            listener_fd: super::raw(&listener),
            backlog: o.backlog,
            clients: o.clients,
            connected,
            listen_overflows_before: counters::get(&before, "TcpExt.ListenOverflows"),
            listen_overflows_after: counters::get(&after, "TcpExt.ListenOverflows"),
            listen_drops_before: counters::get(&before, "TcpExt.ListenDrops"),
            listen_drops_after: counters::get(&after, "TcpExt.ListenDrops"),
        };
        Ok(Backlog { truth, _listener: Some(listener), _clients: clients, footprint })
    }
}

/// The listener's accept-queue length: rx_queue of the LISTEN line in /proc/net/tcp.
fn queue_len(port: u16) -> u32 {
    let text = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let lport = u16::from_str_radix(f.get(1)?.split(':').nth(1)?, 16).ok()?;
            (lport == port && *f.get(3)? == "0A").then(|| u32::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok())?
        })
        .next()
        .unwrap_or(0)
}

impl Drop for Backlog {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._clients));
        drop(std::mem::take(&mut self._listener));
        crate::cleanup::reap_closing(&self.footprint);
    }
}
