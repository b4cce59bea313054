//! The few tcp_info numbers a long-lived view keeps per connection.

use serde::Serialize;

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
