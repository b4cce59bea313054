//! "Cannot assign requested address": connections to one destination from an explicitly
//! bound, narrow range of local ports, until every (local port, destination) pair is taken
//! and connect() fails with EADDRNOTAVAIL. No sysctl is touched.

use crate::{LabError, errno_text, io, limits};
use rustix::net::{AddressFamily, SocketAddrV4, SocketFlags, SocketType};
use serde::Serialize;
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::OwnedFd;

#[derive(Clone, Debug)]
pub struct Options {
    pub low: u16,
    pub high: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options { low: 40000, high: 40063 }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub server_port: u16,
    pub low: u16,
    pub high: u16,
    /// Connections made: one per port of the range.
    pub connected: u32,
    /// How the next connect() failed.
    pub error: String,
}

pub struct Ephemeral {
    pub truth: Truth,
    _listener: Option<TcpListener>,
    _sockets: Vec<OwnedFd>,
}

impl Ephemeral {
    pub fn start(o: &Options) -> Result<Ephemeral, LabError> {
        if o.low == 0 || o.low > o.high || o.high - o.low >= 4096 {
            return Err(LabError::Limit(
                "--range must be LOW-HIGH with 1 <= LOW <= HIGH and at most 4096 ports".into(),
            ));
        }
        let size = u32::from(o.high - o.low) + 1;
        limits::ensure_fds(u64::from(size) * 2 + 2, "ephemeral")?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
        let server_port = listener.local_addr().map_err(io("address"))?.port();
        let dst = SocketAddrV4::new(Ipv4Addr::LOCALHOST, server_port);
        let mut sockets = Vec::new();
        let mut error = String::new();
        // Bounded: one pass over the range, then one more try, which must fail.
        for i in 0..=size {
            let port = o.low + (i % size) as u16;
            let s = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::CLOEXEC, None)
                .map_err(|e| io("socket")(e.into()))?;
            rustix::net::sockopt::set_socket_reuseaddr(&s, true).map_err(|e| io("SO_REUSEADDR")(e.into()))?;
            if let Err(e) = rustix::net::bind(&s, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)) {
                error = errno_text(&e.into());
                break;
            }
            match rustix::net::connect(&s, &dst) {
                Ok(()) => {
                    sockets.push(s);
                    let (server, _) = listener.accept().map_err(io("accept"))?;
                    sockets.push(OwnedFd::from(server));
                }
                Err(e) => {
                    error = errno_text(&e.into());
                    break;
                }
            }
        }
        let truth = Truth {
            pid: std::process::id(),
            server_port,
            low: o.low,
            high: o.high,
            connected: (sockets.len() / 2) as u32,
            error,
        };
        Ok(Ephemeral { truth, _listener: Some(listener), _sockets: sockets })
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._sockets));
        drop(std::mem::take(&mut self._listener));
        crate::cleanup::reap_closing(&[self.truth.server_port]);
    }
}
