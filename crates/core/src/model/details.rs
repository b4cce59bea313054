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

/// Extra detail, boxed so sockets without it stay small. Its own fields are kept small too
/// (the memory counters boxed, tcp_info either whole or as `TcpVitals`): at 200k sockets each
/// byte here is 200 kB.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Box<SkMemInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_info: Option<super::TcpInfo>,
    /// What few sockets have (Unix files, packet rings, netlink groups, BBR's model, what
    /// only -i and --tos ask for), boxed apart: at 200k connections each byte here is 200 kB.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Box<Extra>>,
}

/// BBR's estimates (struct tcp_bbr_info).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BbrInfo {
    /// Its bottleneck bandwidth estimate.
    pub bw_bytes_per_s: u64,
    pub min_rtt_us: u32,
    /// Gains in 1/256ths (256 = 1.0).
    pub pacing_gain: u32,
    pub cwnd_gain: u32,
}

/// What packet_diag says of a packet socket beyond its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PacketInfo {
    /// TPACKET version of its ring (0 = TPACKET_V1, the default).
    pub version: u32,
    pub copy_thresh: u32,
    /// PDI_RUNNING 1, PDI_AUXDATA 2, PDI_ORIGDEV 4, PDI_VNETHDR 8, PDI_LOSS 16.
    pub flags: u32,
    /// Its fanout group (with `-e`): the id in the low 16 bits, the type above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fanout: Option<u32>,
}

/// The details of a few kinds of socket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Extra {
    /// The kernel's view of the inet options set on it (INET_DIAG_SOCKOPT, Linux 5.10+),
    /// with --inet-sockopt: bit i is `INET_SOCKOPTS[i]`. The kernel sends it for every inet
    /// socket; it is kept only when asked for (here, not in every socket's 152 bytes).
    #[serde(skip)]
    pub inet_sockopt: Option<u16>,
    /// The congestion control's name (with `-i`); shared between sockets (there are only a
    /// few algorithms), not one allocation each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub congestion: Option<std::sync::Arc<str>>,
    /// With `--tos`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tclass: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u32>,
    /// A bound Unix socket's file (with `-e`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_file: Option<BoundFile>,
    /// A Unix listener's connections not yet accepted: their socket inodes (with `-e`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Box<[u32]>>,
    /// A packet socket's ring version, copy threshold, flags and fanout group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<PacketInfo>,
    /// BBR's model of the path, for connections BBR drives (with `-i`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbr: Option<BbrInfo>,
    /// DCTCP's state, for connections DCTCP drives (with `-i`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dctcp: Option<DctcpInfo>,
    /// Vegas's RTT estimate, for connections Vegas drives (with `-i`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vegas_rtt_us: Option<u32>,
    /// A netlink socket's multicast groups, the first 32 (with `-e`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netlink_groups: Option<u32>,
    /// An MPTCP socket's counters (with `-i`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mptcp: Option<super::MptcpInfo>,
    /// A TCP socket's upper-layer protocol: `mptcp` for a subflow, `tls` (with `-i`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ulp: Option<Box<super::Ulp>>,
}

/// DCTCP's state (struct tcp_dctcp_info).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DctcpInfo {
    /// False when the connection fell back to Reno (no ECN).
    pub enabled: bool,
    pub ce_state: u16,
    pub alpha: u32,
    pub ab_ecn: u32,
    pub ab_tot: u32,
}

impl Details {
    /// The extra details, made on first use.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// The file a Unix socket is bound to, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BoundFile {
    pub inode: u32,
    /// The filesystem's device number as the kernel keeps it (major << 20 | minor).
    pub device: u32,
}

#[cfg(test)]
mod size_tests {
    /// Every TCP connection of a diagnosis carries a `Details` (its vitals): what is rare
    /// goes in the boxed `Extra` so this stays small (issue 12 grew it by 90 bytes, 18 MB at
    /// 200k connections, before the extras were boxed).
    #[test]
    fn details_stay_small() {
        let size = std::mem::size_of::<super::Details>();
        assert!(size <= 96, "Details is {size} bytes");
    }
}
