//! "Address already in use": a server's port still held by TIME-WAIT sockets of connections
//! it closed. Re-binding without SO_REUSEADDR fails with EADDRINUSE; with it, succeeds.
//!
//! The `reuseaddr: false` variant keeps the first server listening instead, a listener that
//! never set SO_REUSEADDR with TIME-WAIT sockets on its port: the state in which its own
//! restart would fail.

use crate::sockets::{TCP_TIME_WAIT, wait_for_state};
use crate::{LabError, errno_text, io, limits};
use rustix::net::{AddressFamily, SocketAddrV4, SocketFlags, SocketType};
use serde::Serialize;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;

#[derive(Clone, Debug)]
pub struct Options {
    pub connections: u32,
    /// false: keep a listener without SO_REUSEADDR running (see the module's comment).
    pub reuseaddr: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { connections: 3, reuseaddr: true }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub port: u16,
    /// Server-side sockets left in TIME-WAIT on the port.
    pub time_wait: u32,
    /// bind() without SO_REUSEADDR: the error.
    pub without_reuseaddr: String,
    /// bind() + listen() with SO_REUSEADDR: "ok" or the error.
    pub with_reuseaddr: String,
    /// The listener's fd (held while the scenario runs): the restarted one, or in the
    /// variant the first server's.
    pub listener_fd: Option<i32>,
    /// Whether the listener held set SO_REUSEADDR.
    pub listener_reuseaddr: bool,
}

pub struct AddrInUse {
    pub truth: Truth,
    _restarted: Option<OwnedFd>,
    footprint: crate::cleanup::Footprint,
}

fn bind_listener(port: u16, reuseaddr: bool) -> Result<OwnedFd, std::io::Error> {
    let s = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    if reuseaddr {
        rustix::net::sockopt::set_socket_reuseaddr(&s, true)?;
    }
    rustix::net::bind(&s, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))?;
    rustix::net::listen(&s, 128)?;
    Ok(s)
}

impl AddrInUse {
    pub fn start(o: &Options) -> Result<AddrInUse, LabError> {
        if o.connections == 0 || o.connections > 1000 {
            return Err(LabError::Limit("--connections must be 1..=1000".into()));
        }
        limits::ensure_fds(u64::from(o.connections) * 2 + 2, "addr-in-use")?;
        if !o.reuseaddr {
            return Self::still_listening(o);
        }
        // A server on a port, with clients; the server closes first (an active close on the
        // server side), as a server restarting under load does.
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
        let port = listener.local_addr().map_err(io("address"))?.port();
        let mut pairs = Vec::new();
        for _ in 0..o.connections {
            let c = TcpStream::connect(("127.0.0.1", port)).map_err(io("connect"))?;
            let (s, _) = listener.accept().map_err(io("accept"))?;
            pairs.push((c, s));
        }
        let mut ends = Vec::new();
        for (c, s) in pairs {
            ends.push((s.local_addr().map_err(io("address"))?, s.peer_addr().map_err(io("address"))?));
            drop(s);
            drop(c);
        }
        drop(listener); // the server exits
        for (l, p) in &ends {
            wait_for_state(*l, *p, TCP_TIME_WAIT).map_err(io("waiting for TIME-WAIT"))?;
        }
        let without = match bind_listener(port, false) {
            Ok(_) => "succeeded (unexpected: no TIME-WAIT socket held the port)".to_string(),
            Err(e) => errno_text(&e),
        };
        let (with, restarted) = match bind_listener(port, true) {
            Ok(fd) => ("ok".to_string(), Some(fd)),
            Err(e) => (errno_text(&e), None),
        };
        let truth = Truth {
            pid: std::process::id(),
            port,
            time_wait: o.connections,
            without_reuseaddr: without,
            with_reuseaddr: with,
            listener_fd: restarted.as_ref().map(super::raw),
            listener_reuseaddr: true,
        };
        let footprint = ends.into_iter().collect();
        Ok(AddrInUse { truth, _restarted: restarted, footprint })
    }
}

impl AddrInUse {
    /// The variant: a listener without SO_REUSEADDR that closed its connections first and
    /// keeps listening.
    fn still_listening(o: &Options) -> Result<AddrInUse, LabError> {
        // std's bind() would set SO_REUSEADDR; this listener is made without it.
        let listener = TcpListener::from(bind_listener(0, false).map_err(io("bind"))?);
        let port = listener.local_addr().map_err(io("address"))?.port();
        let mut ends = Vec::new();
        for _ in 0..o.connections {
            let c = TcpStream::connect(("127.0.0.1", port)).map_err(io("connect"))?;
            let (s, _) = listener.accept().map_err(io("accept"))?;
            ends.push((c.peer_addr().map_err(io("address"))?, c.local_addr().map_err(io("address"))?));
            drop(s); // the server closes first: TIME-WAIT on its side, on its port
            drop(c);
        }
        for (l, p) in &ends {
            wait_for_state(*l, *p, TCP_TIME_WAIT).map_err(io("waiting for TIME-WAIT"))?;
        }
        let not_tried = "not tried: the listener still holds the port".to_string();
        let truth = Truth {
            pid: std::process::id(),
            port,
            time_wait: o.connections,
            without_reuseaddr: not_tried.clone(),
            with_reuseaddr: not_tried,
            listener_fd: Some(std::os::fd::AsRawFd::as_raw_fd(&listener)),
            listener_reuseaddr: false,
        };
        Ok(AddrInUse { truth, _restarted: Some(OwnedFd::from(listener)), footprint: ends.into_iter().collect() })
    }
}

impl Drop for AddrInUse {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._restarted));
        crate::cleanup::reap_closing(&self.footprint);
    }
}
