//! The other end of a Unix socket, one socket at a time: what a tracer needs to show
//! `UNIX-STREAM:[12345->12346]` without dumping every socket per call.

use crate::model::Endpoint;
use crate::netlink::{DiagSocket, NetlinkError};

/// An open sock_diag socket for exact Unix lookups.
pub struct UnixPeers {
    diag: DiagSocket,
}

impl UnixPeers {
    pub fn open() -> Result<UnixPeers, NetlinkError> {
        Ok(UnixPeers { diag: DiagSocket::open()? })
    }

    /// The inode of the socket connected to Unix socket `inode` (None: not connected, or no
    /// such socket, or sock_diag cannot tell).
    pub fn peer_of(&mut self, inode: u64) -> Option<u64> {
        match self.diag.unix_one(inode).ok()??.peer {
            Endpoint::Unix { inode: 0, .. } => None,
            Endpoint::Unix { inode, .. } => Some(inode),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::UnixStream;

    fn inode(s: &UnixStream) -> u64 {
        let fd = std::os::fd::AsRawFd::as_raw_fd(s);
        std::fs::metadata(format!("/proc/self/fd/{fd}")).map(|m| m.ino()).unwrap_or(0)
    }

    #[test]
    fn a_socketpair_names_its_other_end() {
        let (a, b) = UnixStream::pair().expect("socketpair");
        let mut peers = UnixPeers::open().expect("a sock_diag socket");
        assert_eq!(peers.peer_of(inode(&a)), Some(inode(&b)));
        assert_eq!(peers.peer_of(inode(&b)), Some(inode(&a)));
        assert_eq!(peers.peer_of(u64::from(u32::MAX)), None);
    }
}
