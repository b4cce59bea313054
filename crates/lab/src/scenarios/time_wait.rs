//! A client that actively closes N short connections: N sockets in TIME-WAIT, held by no
//! process, for 60 s each.

use crate::sockets::{TCP_TIME_WAIT, wait_for_state};
use crate::{LabError, io, limits};
use serde::Serialize;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct Options {
    pub count: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { count: 100 }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub server_port: u16,
    /// (client local, server) of each TIME-WAIT socket.
    pub sockets: Vec<(SocketAddr, SocketAddr)>,
}

pub struct TimeWait {
    pub truth: Truth,
    _listener: Option<TcpListener>,
}

impl TimeWait {
    pub fn start(o: &Options) -> Result<TimeWait, LabError> {
        if o.count == 0 {
            return Err(LabError::Limit("--count must be at least 1".into()));
        }
        limits::ensure_ports(u64::from(o.count), "time-wait")?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
        let addr = listener.local_addr().map_err(io("listener address"))?;
        let mut sockets = Vec::new();
        for _ in 0..o.count {
            let client = TcpStream::connect(addr).map_err(io("connect"))?;
            let (mut server, _) = listener.accept().map_err(io("accept"))?;
            let local = client.local_addr().map_err(io("address"))?;
            // Active close by the client: it is the side that waits.
            drop(client);
            let _ = server.read(&mut [0u8; 1]);
            drop(server);
            sockets.push((local, addr));
        }
        if let Some((l, p)) = sockets.last() {
            wait_for_state(*l, *p, TCP_TIME_WAIT).map_err(io("waiting for TIME-WAIT"))?;
        }
        Ok(TimeWait {
            truth: Truth { pid: std::process::id(), server_port: addr.port(), sockets },
            _listener: Some(listener),
        })
    }
}

impl Drop for TimeWait {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._listener));
        crate::cleanup::reap_closing(&self.truth.sockets.iter().copied().collect());
    }
}
