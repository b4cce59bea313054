//! Sockets as they are freed, from the sock_diag destroy multicast groups: when a TCP or UDP
//! socket is freed, the kernel sends its last state (with tcp_info: bytes acked and received,
//! rtt, retransmits) to every NETLINK_SOCK_DIAG socket that joined the group, in the network
//! namespace of the socket.
//! Any user may join. A receive buffer that overflows loses records; the kernel says so
//! with ENOBUFS, which is counted.

use super::{parse, wire};
use crate::model::{Netid, Socket};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::RecvFlags;
use rustix::net::netlink::SocketAddrNetlink;
use std::os::fd::AsFd;

/// enum sknetlink_groups (linux/sock_diag.h): group numbers, joined as bits 1 << (n - 1).
const SKNLGRP_INET_TCP_DESTROY: u32 = 1;
const SKNLGRP_INET_UDP_DESTROY: u32 = 2;
const SKNLGRP_INET6_TCP_DESTROY: u32 = 3;
const SKNLGRP_INET6_UDP_DESTROY: u32 = 4;
/// The receive buffer asked for: room for ~30,000 records between two reads.
const RCVBUF: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FreedError {
    #[error("cannot open a NETLINK_SOCK_DIAG socket for destroy records: {0}")]
    Open(Errno),
    #[error("cannot join the sock_diag destroy groups: {0}")]
    Join(Errno),
    #[error("reading destroy records failed: {0}")]
    Read(Errno),
}

/// A freed socket's last look.
pub struct Freed {
    pub netid: Netid,
    pub socket: Socket,
}

pub struct FreedListener {
    sockets: Vec<(Netid, OwnedFd)>,
    buf: Vec<u8>,
    /// Times the kernel said the receive buffer overflowed (records were lost, how many the
    /// kernel does not say).
    pub overflows: u64,
}

impl FreedListener {
    /// Joins the TCP groups, and the UDP ones when `udp`.
    pub fn open(udp: bool) -> Result<FreedListener, FreedError> {
        let mut sockets = vec![(Netid::Tcp, join(SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY)?)];
        if udp {
            sockets.push((Netid::Udp, join(SKNLGRP_INET_UDP_DESTROY, SKNLGRP_INET6_UDP_DESTROY)?));
        }
        Ok(FreedListener { sockets, buf: vec![0; 256 * 1024], overflows: 0 })
    }

    pub fn fds(&self) -> impl Iterator<Item = std::os::fd::BorrowedFd<'_>> {
        self.sockets.iter().map(|(_, fd)| fd.as_fd())
    }

    /// Every record waiting now (it does not block).
    pub fn drain(&mut self, mut f: impl FnMut(Freed)) -> Result<(), FreedError> {
        for (netid, fd) in &self.sockets {
            loop {
                let n = match rustix::net::recv(fd, &mut self.buf[..], RecvFlags::DONTWAIT) {
                    Ok((n, _)) => n,
                    Err(Errno::AGAIN | Errno::INTR) => break,
                    Err(Errno::NOBUFS) => {
                        self.overflows += 1;
                        continue;
                    }
                    Err(e) => return Err(FreedError::Read(e)),
                };
                for m in wire::Messages::new(&self.buf[..n]) {
                    if let Some(socket) = parse::inet(m.payload, *netid) {
                        f(Freed { netid: *netid, socket });
                    }
                }
            }
        }
        Ok(())
    }
}

fn join(v4: u32, v6: u32) -> Result<OwnedFd, FreedError> {
    let fd = super::sock_diag_socket().map_err(FreedError::Open)?;
    // As root the buffer may exceed net.core.rmem_max; otherwise take what is allowed.
    if rustix::net::sockopt::set_socket_recv_buffer_size_force(&fd, RCVBUF).is_err() {
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&fd, RCVBUF);
    }
    let groups = (1 << (v4 - 1)) | (1 << (v6 - 1));
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, groups)).map_err(FreedError::Join)?;
    Ok(fd)
}
