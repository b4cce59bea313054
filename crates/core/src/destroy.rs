//! Destroying sockets (SOCK_DESTROY, as `ss -K`): the kernel aborts a TCP, UDP or raw socket
//! and its owner sees ECONNABORTED. Needs CAP_NET_ADMIN and CONFIG_INET_DIAG_DESTROY.

use crate::model::{Netid, Socket};
use crate::netlink::{DiagSocket, NetlinkError};
use rustix::io::Errno;

/// Why a socket was not destroyed.
#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error("{0}")]
    Open(NetlinkError),
    /// Closed since it was listed (often by destroying its other end). What was wanted has
    /// happened.
    #[error("the socket had already closed")]
    Gone,
    #[error("permission denied: destroying sockets needs CAP_NET_ADMIN (run as root)")]
    PermissionDenied,
    #[error("the kernel cannot destroy sockets (built without CONFIG_INET_DIAG_DESTROY)")]
    NotSupported,
    #[error("SOCK_DESTROY takes only TCP, UDP and raw sockets read through sock_diag")]
    NotDestroyable,
    #[error("SOCK_DESTROY failed: {0}")]
    Failed(Errno),
}

/// A sock_diag socket kept open to destroy sockets one after another.
pub struct Destroyer {
    diag: DiagSocket,
}

impl Destroyer {
    pub fn open() -> Result<Destroyer, DestroyError> {
        Ok(Destroyer { diag: DiagSocket::open().map_err(DestroyError::Open)? })
    }

    /// Whether `s` can be destroyed at all: TCP, UDP and raw sockets with a cookie.
    pub fn can_destroy(s: &Socket) -> bool {
        matches!(s.netid, Netid::Tcp | Netid::Udp | Netid::Raw) && s.cookie.is_some()
    }

    pub fn destroy(&mut self, s: &Socket) -> Result<(), DestroyError> {
        if !Destroyer::can_destroy(s) {
            return Err(DestroyError::NotDestroyable);
        }
        self.diag.destroy(s).map_err(|e| match e {
            NetlinkError::Io { errno: Errno::NOENT, .. } => DestroyError::Gone,
            NetlinkError::Io { errno: Errno::PERM | Errno::ACCESS, .. } => DestroyError::PermissionDenied,
            NetlinkError::Io { errno: Errno::OPNOTSUPP, .. } => DestroyError::NotSupported,
            NetlinkError::Io { errno, .. } | NetlinkError::Unsupported { errno, .. } | NetlinkError::Open(errno) => {
                DestroyError::Failed(errno)
            }
            NetlinkError::Malformed { .. } => DestroyError::Failed(Errno::PROTO),
            NetlinkError::ProgramTooLong { .. } => DestroyError::Failed(Errno::MSGSIZE),
        })
    }
}
