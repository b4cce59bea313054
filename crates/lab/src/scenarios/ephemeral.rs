//! "Cannot assign requested address": connections to one destination from an explicitly
//! bound, narrow range of local ports, until every (local port, destination) pair is taken
//! and connect() fails with EADDRNOTAVAIL. No sysctl is touched.

use crate::cleanup::{Footprint, reap_closing};
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
    /// Connections made: one per port of the range that no other socket holds.
    pub connected: u32,
    /// Ports of the range another socket already held (bind() failed with EADDRINUSE).
    pub held_elsewhere: Vec<u16>,
    /// How the next connect() failed, once every port was used.
    pub error: String,
}

pub struct Ephemeral {
    pub truth: Truth,
    _listener: Option<TcpListener>,
    _sockets: Vec<OwnedFd>,
    footprint: Footprint,
}

/// A client socket that may share a local port with our other connections (they go to the
/// same destination, so the kernel refuses only a whole duplicate 4-tuple).
fn client_socket() -> Result<OwnedFd, LabError> {
    let s = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::CLOEXEC, None)
        .map_err(|e| io("socket")(e.into()))?;
    rustix::net::sockopt::set_socket_reuseaddr(&s, true).map_err(|e| io("SO_REUSEADDR")(e.into()))?;
    Ok(s)
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
        let mut footprint = Footprint::default();
        // Ports of the range that another socket holds (bind() says EADDRINUSE): they are
        // not ours to exhaust, so they are skipped and reported, not taken as the end.
        let mut held_elsewhere = Vec::new();
        let mut first_connected = None;
        for port in o.low..=o.high {
            let s = client_socket()?;
            if let Err(e) = rustix::net::bind(&s, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)) {
                if e == rustix::io::Errno::ADDRINUSE {
                    held_elsewhere.push(port);
                    continue;
                }
                return Err(stopped_early(sockets, &footprint, port, "bind", e));
            }
            match rustix::net::connect(&s, &dst) {
                Ok(()) => {
                    sockets.push(s);
                    let (server, _) = listener.accept().map_err(io("accept"))?;
                    sockets.push(OwnedFd::from(server));
                    footprint.add(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into(), dst.into());
                    first_connected = first_connected.or(Some(port));
                }
                Err(e) => return Err(stopped_early(sockets, &footprint, port, "connect", e)),
            }
        }
        // Every port is now in a connection to `dst`: one more connect() from the range
        // must fail, and how it fails is the lesson.
        let error = {
            let s = client_socket()?;
            let port = first_connected.unwrap_or(o.low);
            match rustix::net::bind(&s, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
                .and_then(|()| rustix::net::connect(&s, &dst))
            {
                Ok(()) => "none (unexpected: the connection succeeded)".to_string(),
                Err(e) => errno_text(&e.into()),
            }
        };
        let truth = Truth {
            pid: std::process::id(),
            server_port,
            low: o.low,
            high: o.high,
            connected: (sockets.len() / 2) as u32,
            held_elsewhere,
            error,
        };
        Ok(Ephemeral { truth, _listener: Some(listener), _sockets: sockets, footprint })
    }
}

/// The range could not be used up for a reason other than the lesson's: an error, after
/// closing what was made (never a report that claims the range was exhausted).
fn stopped_early(
    sockets: Vec<OwnedFd>,
    footprint: &Footprint,
    port: u16,
    call: &str,
    e: rustix::io::Errno,
) -> LabError {
    drop(sockets);
    reap_closing(footprint);
    LabError::Limit(format!(
        "the port range could not be used up: {call}() from local port {port} failed early: {}",
        errno_text(&e.into())
    ))
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        // Close everything first, then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._sockets));
        drop(std::mem::take(&mut self._listener));
        reap_closing(&self.footprint);
    }
}
