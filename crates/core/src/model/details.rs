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
    /// The few tcp_info numbers that diagnosis judges by, when the whole of tcp_info was not
    /// kept (`Extensions::vitals`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_vitals: Option<TcpVitals>,
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

/// The tcp_info fields the doctor's rules and `watch` read, 48 bytes instead of the kernel's
/// 240: what a long-lived or host-wide view keeps per connection when it does not show
/// tcp_info. A field an older kernel did not send is `None`, as in `TcpInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpVitals {
    values: [u32; 6],
    /// bytes_acked and bytes_received: `watch`'s rates.
    bytes: [u64; 2],
    /// Bit i: `values[i]` was sent; bits 6 and 7: `bytes[0]`, `bytes[1]`. Bit 15 is always
    /// set: the zero it can never be lets `Option<TcpVitals>` cost no more space.
    present: std::num::NonZeroU16,
}

/// Nothing present but the always-set bit 15.
const NOTHING: std::num::NonZeroU16 = match std::num::NonZeroU16::new(1 << 15) {
    Some(n) => n,
    None => unreachable!(),
};

impl Default for TcpVitals {
    fn default() -> TcpVitals {
        TcpVitals { values: [0; 6], bytes: [0; 2], present: NOTHING }
    }
}

impl TcpVitals {
    const RETRANS: usize = 0;
    const RTO_US: usize = 1;
    const LAST_DATA_SENT_MS: usize = 2;
    const LAST_DATA_RECV_MS: usize = 3;
    const TOTAL_RETRANS: usize = 4;
    const RTT_US: usize = 5;

    pub fn new(
        retrans: Option<u32>,
        rto_us: Option<u32>,
        last_data_sent_ms: Option<u32>,
        last_data_recv_ms: Option<u32>,
        total_retrans: Option<u32>,
    ) -> TcpVitals {
        let mut v = TcpVitals::default();
        for (i, value) in [retrans, rto_us, last_data_sent_ms, last_data_recv_ms, total_retrans].into_iter().enumerate()
        {
            if let Some(x) = value {
                v.values[i] = x;
                v.mark(i);
            }
        }
        v
    }

    /// The round-trip time and the byte counters, for rates.
    pub fn with_flow(
        mut self,
        rtt_us: Option<u32>,
        bytes_acked: Option<u64>,
        bytes_received: Option<u64>,
    ) -> TcpVitals {
        if let Some(x) = rtt_us {
            self.values[Self::RTT_US] = x;
            self.mark(Self::RTT_US);
        }
        for (i, value) in [bytes_acked, bytes_received].into_iter().enumerate() {
            if let Some(x) = value {
                self.bytes[i] = x;
                self.mark(6 + i);
            }
        }
        self
    }

    fn mark(&mut self, bit: usize) {
        self.present |= 1 << bit;
    }

    fn has(&self, bit: usize) -> bool {
        self.present.get() & (1 << bit) != 0
    }

    fn get(&self, i: usize) -> Option<u32> {
        self.has(i).then_some(self.values[i])
    }

    pub fn rtt_us(&self) -> Option<u32> {
        self.get(Self::RTT_US)
    }

    /// Bytes sent and acknowledged by the peer.
    pub fn bytes_acked(&self) -> Option<u64> {
        self.has(6).then_some(self.bytes[0])
    }

    pub fn bytes_received(&self) -> Option<u64> {
        self.has(7).then_some(self.bytes[1])
    }

    pub fn retrans(&self) -> Option<u32> {
        self.get(Self::RETRANS)
    }

    pub fn rto_us(&self) -> Option<u32> {
        self.get(Self::RTO_US)
    }

    pub fn last_data_sent_ms(&self) -> Option<u32> {
        self.get(Self::LAST_DATA_SENT_MS)
    }

    pub fn last_data_recv_ms(&self) -> Option<u32> {
        self.get(Self::LAST_DATA_RECV_MS)
    }

    pub fn total_retrans(&self) -> Option<u32> {
        self.get(Self::TOTAL_RETRANS)
    }
}

impl Serialize for TcpVitals {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (name, value) in [
            ("retrans", self.retrans()),
            ("rto_us", self.rto_us()),
            ("last_data_sent_ms", self.last_data_sent_ms()),
            ("last_data_recv_ms", self.last_data_recv_ms()),
            ("total_retrans", self.total_retrans()),
            ("rtt_us", self.rtt_us()),
        ] {
            if let Some(v) = value {
                m.serialize_entry(name, &v)?;
            }
        }
        for (name, value) in [("bytes_acked", self.bytes_acked()), ("bytes_received", self.bytes_received())] {
            if let Some(v) = value {
                m.serialize_entry(name, &v)?;
            }
        }
        m.end()
    }
}

impl Details {
    /// The vitals, from the whole tcp_info when it was kept.
    pub fn vitals(&self) -> Option<TcpVitals> {
        self.tcp_info.as_ref().map(super::TcpInfo::vitals).or(self.tcp_vitals)
    }

    /// Whether the kernel reported tcp_info for the socket (kept whole or as vitals).
    pub fn has_tcp_info(&self) -> bool {
        self.tcp_info.is_some() || self.tcp_vitals.is_some()
    }
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
