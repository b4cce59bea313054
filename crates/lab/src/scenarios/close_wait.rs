//! A server that never closes connections its clients have closed: N sockets in CLOSE-WAIT,
//! all held by this process — the leak the seed calls a bug.

use crate::sockets::{TCP_CLOSE_WAIT, wait_for_state};
use crate::{LabError, io, limits};
use serde::Serialize;
use std::net::{SocketAddr, TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct Options {
    pub count: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { count: 10 }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub port: u16,
    pub listener_fd: i32,
    /// fds of the CLOSE-WAIT sockets in this process.
    pub fds: Vec<i32>,
    /// Their local and peer addresses.
    pub connections: Vec<(SocketAddr, SocketAddr)>,
}

pub struct CloseWait {
    pub truth: Truth,
    _listener: Option<TcpListener>,
    _leaked: Vec<TcpStream>,
}

impl CloseWait {
    pub fn start(o: &Options) -> Result<CloseWait, LabError> {
        if o.count == 0 || o.count > 20_000 {
            return Err(LabError::Limit("--count must be 1..=20000".into()));
        }
        limits::ensure_fds(u64::from(o.count) * 2 + 1, "close-wait")?;
        limits::ensure_ports(u64::from(o.count), "close-wait")?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
        let addr = listener.local_addr().map_err(io("listener address"))?;
        let mut leaked = Vec::new();
        let mut connections = Vec::new();
        for _ in 0..o.count {
            let client = TcpStream::connect(addr).map_err(io("connect"))?;
            let (server, peer) = listener.accept().map_err(io("accept"))?;
            // The client hangs up; the server never calls close().
            drop(client);
            connections.push((server.local_addr().map_err(io("address"))?, peer));
            leaked.push(server);
        }
        for (local, peer) in &connections {
            wait_for_state(*local, *peer, TCP_CLOSE_WAIT).map_err(io("waiting for CLOSE-WAIT"))?;
        }
        let truth = Truth {
            pid: std::process::id(),
            port: addr.port(),
            listener_fd: super::raw(&listener),
            fds: leaked.iter().map(super::raw).collect(),
            connections,
        };
        Ok(CloseWait { truth, _listener: Some(listener), _leaked: leaked })
    }
}

impl Drop for CloseWait {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._leaked));
        drop(std::mem::take(&mut self._listener));
        crate::cleanup::reap_closing(&self.truth.connections.iter().copied().collect());
    }
}
