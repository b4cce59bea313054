//! What `-o`, `-m`, `-i` and `--tos` add to a socket. Units are in the field names.

use serde::Serialize;

/// The socket's pending timer (inet_diag_msg.idiag_timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Timer {
    pub kind: TimerKind,
    /// Time until it fires.
    pub expires_ms: u32,
    /// Retransmissions (for `on`) or keepalive probes sent so far.
    pub retransmits: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Retransmit timer ("on" in ss).
    On,
    Keepalive,
    Timewait,
    /// Zero-window probe.
    Persist,
    Unknown,
}

impl TimerKind {
    pub fn from_kernel(v: u8) -> Option<TimerKind> {
        Some(match v {
            0 => return None,
            1 => TimerKind::On,
            2 => TimerKind::Keepalive,
            3 => TimerKind::Timewait,
            4 => TimerKind::Persist,
            _ => TimerKind::Unknown,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TimerKind::On => "on",
            TimerKind::Keepalive => "keepalive",
            TimerKind::Timewait => "timewait",
            TimerKind::Persist => "persist",
            TimerKind::Unknown => "unknown",
        }
    }
}

/// Socket memory (SK_MEMINFO_*, all bytes). Fields a kernel did not send are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SkMemInfo {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    pub backlog: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drops: Option<u32>,
}

/// Extra detail, boxed so sockets without it stay small.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<SkMemInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_info: Option<super::TcpInfo>,
    /// Shared between sockets (there are only a few algorithms), not one allocation each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub congestion: Option<std::sync::Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tclass: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u32>,
}
