//! What the monitor reports: connections' owners, state changes and lives.

use serde::Serialize;
use sockscope_core::{Netid, SockState};
use std::net::SocketAddr;

/// The process a socket belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub pid: u32,
    /// /proc/PID/comm when it could still be read.
    pub comm: Option<String>,
}

/// One state change of a TCP socket.
#[derive(Clone, Debug, Serialize)]
pub struct Transition {
    /// CLOCK_MONOTONIC, ns.
    #[serde(skip)]
    pub time_ns: u64,
    pub owner: Option<Owner>,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub old: SockState,
    pub new: SockState,
    /// Time spent in the old state; None when the socket was first seen in it.
    pub in_old_ns: Option<u64>,
    /// The inode of the socket's network namespace (always known for what is given).
    #[serde(skip)]
    pub netns: u64,
}

/// Who closed a connection first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Closer {
    Local,
    Peer,
}

/// A finished connection.
#[derive(Clone, Debug, Serialize)]
pub struct Life {
    pub netid: Netid,
    #[serde(skip)]
    pub end_ns: u64,
    /// The inode of the socket's network namespace.
    #[serde(skip)]
    pub netns: u64,
    pub owner: Option<Owner>,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// Opened by this side (connect), or accepted; None when not seen opening.
    pub active: Option<bool>,
    pub duration_ns: Option<u64>,
    /// Payload bytes sent, each once, and received (SYN and FIN not counted); None when
    /// unknown (no destroy record, or counters the kernel cleared on an abort).
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    pub closer: Option<Closer>,
    pub rtt_us: Option<u32>,
    pub retransmits: Option<u32>,
    /// Some field is not known exactly: those in `inferred`.
    pub approximate: bool,
    /// The fields whose values are inferred, not known: `duration` (counted from the first
    /// periodic look that saw the socket), `bytes_received` (whether the peer's FIN is among
    /// the kernel's count is not known). Every other field is exact or null.
    pub inferred: Vec<&'static str>,
}

#[derive(Clone, Debug)]
pub enum Event {
    Transition(Transition),
    Life(Life),
}

impl Event {
    /// The inode of the network namespace of the socket it is about.
    pub fn netns(&self) -> u64 {
        match self {
            Event::Transition(t) => t.netns,
            Event::Life(l) => l.netns,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Lives (`--life`) rather than transitions.
    pub life: bool,
    /// UDP sockets' destruction too (`-u`, with `life`).
    pub udp: bool,
    /// Most connections followed at once; beyond it the oldest is forgotten (and counted).
    pub max_connections: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { life: false, udp: false, max_connections: 65536 }
    }
}
