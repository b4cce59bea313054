//! SO_REUSEPORT: N listeners on one port, M clients; the kernel spreads the connections
//! over the listeners by a hash of each connection's addresses.

use crate::{LabError, io, limits};
use rustix::net::{AddressFamily, SocketAddrV4, SocketFlags, SocketType};
use serde::Serialize;
use std::net::{Ipv4Addr, TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct Options {
    pub listeners: u32,
    pub clients: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { listeners: 4, clients: 400 }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub port: u16,
    pub listener_fds: Vec<i32>,
    /// Connections each listener received, in listener order.
    pub accepted: Vec<u32>,
}

pub struct Reuseport {
    pub truth: Truth,
    _listeners: Vec<TcpListener>,
    _conns: Vec<TcpStream>,
}

impl Reuseport {
    pub fn start(o: &Options) -> Result<Reuseport, LabError> {
        if o.listeners < 2 || o.listeners > 64 || o.clients == 0 || o.clients > 10_000 {
            return Err(LabError::Limit("--listeners must be 2..=64 and --clients 1..=10000".into()));
        }
        limits::ensure_fds(u64::from(o.clients) * 2 + u64::from(o.listeners), "reuseport")?;
        limits::ensure_ports(u64::from(o.clients), "reuseport")?;
        let mut listeners = Vec::new();
        let mut port = 0;
        for _ in 0..o.listeners {
            let s = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::CLOEXEC, None)
                .map_err(|e| io("socket")(e.into()))?;
            rustix::net::sockopt::set_socket_reuseport(&s, true).map_err(|e| io("SO_REUSEPORT")(e.into()))?;
            rustix::net::bind(&s, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).map_err(|e| io("bind")(e.into()))?;
            rustix::net::listen(&s, 4096).map_err(|e| io("listen")(e.into()))?;
            let l = TcpListener::from(s);
            port = l.local_addr().map_err(io("address"))?.port();
            l.set_nonblocking(true).map_err(io("nonblocking"))?;
            listeners.push(l);
        }
        let mut conns = Vec::new();
        let mut accepted = vec![0u32; listeners.len()];
        for i in 0..o.clients {
            conns.push(TcpStream::connect(("127.0.0.1", port)).map_err(io("connect"))?);
            // Drain now and then so no accept queue overflows.
            if i % 256 == 255 || i + 1 == o.clients {
                for (n, l) in listeners.iter().enumerate() {
                    while let Ok((s, _)) = l.accept() {
                        accepted[n] += 1;
                        conns.push(s);
                    }
                }
            }
        }
        let truth =
            Truth { pid: std::process::id(), port, listener_fds: listeners.iter().map(super::raw).collect(), accepted };
        Ok(Reuseport { truth, _listeners: listeners, _conns: conns })
    }
}

impl Drop for Reuseport {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        let footprint = crate::cleanup::Footprint::of_streams(&self._conns);
        drop(std::mem::take(&mut self._conns));
        drop(std::mem::take(&mut self._listeners));
        crate::cleanup::reap_closing(&footprint);
    }
}
