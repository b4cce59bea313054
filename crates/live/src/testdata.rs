//! Constructed sockets and snapshots for the unit tests.
#![allow(clippy::unwrap_used)]

use sockscope_core::model::{Endpoint, OwnerIndex, OwnerScanReport, Process, SockState};
use sockscope_core::{Family, Netid, Snapshot, Socket};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// A loopback TCP socket with cookie and inode `id` (a listener's peer is `*`).
pub fn tcp(state: SockState, local: u16, peer: u16, id: u64) -> Socket {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut s = Socket::new(
        Netid::Tcp,
        Family::Inet,
        state,
        Endpoint::Inet { address: ip, port: local },
        Endpoint::Inet { address: ip, port: if state == SockState::Listen { 0 } else { peer } },
    );
    s.cookie = std::num::NonZeroU64::new(id);
    s.inode = id;
    s
}

/// A snapshot whose sockets (but TIME-WAIT ones, which no process holds) are held by one
/// process at fd = inode.
pub fn held_by(pid: u32, command: &str, sockets: Vec<Socket>) -> Arc<Snapshot> {
    let entries = sockets
        .iter()
        .filter(|s| s.inode != 0 && s.state != SockState::TimeWait)
        .map(|s| (s.inode, 0u32, s.inode as u32))
        .collect();
    let owners = Some(OwnerIndex::new(vec![Process::new(pid, command, 0)], entries, OwnerScanReport::default()));
    Arc::new(Snapshot { owners, sockets, ..Snapshot::default() })
}

/// A live host whose procfs is missing: its processes and tunables read as none.
pub fn nowhere() -> Arc<dyn sockscope_core::hosts::Host> {
    Arc::new(sockscope_core::hosts::LiveHost::new("/nonexistent-proc"))
}
