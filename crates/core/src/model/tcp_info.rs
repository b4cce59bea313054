//! `struct tcp_info` (linux/tcp.h), read with the length the kernel sent: a field beyond it
//! (an older kernel) is absent, bytes beyond the fields we know (a newer kernel) are ignored.

/// Reads `N` bytes at `off` if the buffer holds them.
fn field<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off + N)?.try_into().ok()
}

/// The most bytes kept: every field we know fits; what a newer kernel adds is not stored.
const KEPT: usize = 240;

macro_rules! tcp_info {
    ($( $(#[$doc:meta])* $name:ident : $ty:ident @ $off:expr ),* $(,)?) => {
        /// TCP internals of one connection, kept as the kernel's bytes (a few hundred per
        /// socket instead of one `Option` per field) and read through accessors. Names carry
        /// units: `_us` microseconds, `_ms` milliseconds, `_bytes`, `_bytes_per_s`.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct TcpInfo {
            raw: Box<[u8]>,
            /// How many bytes of tcp_info the kernel sent.
            length: u32,
        }

        impl TcpInfo {
            /// The fields diagnosis reads, to keep when the rest is not needed.
            pub fn vitals(&self) -> super::TcpVitals {
                super::TcpVitals::new(
                    self.retrans(),
                    self.rto_us(),
                    self.last_data_sent_ms(),
                    self.last_data_recv_ms(),
                    self.total_retrans(),
                )
                .with_flow(self.rtt_us(), self.bytes_acked(), self.bytes_received())
            }

            pub fn parse(b: &[u8]) -> TcpInfo {
                TcpInfo { raw: b[..b.len().min(KEPT)].into(), length: b.len() as u32 }
            }

            pub fn length(&self) -> u32 {
                self.length
            }

            $( $(#[$doc])* pub fn $name(&self) -> Option<$ty> {
                field::<{ std::mem::size_of::<$ty>() }>(&self.raw, $off).map($ty::from_ne_bytes)
            } )*

            /// Sets a field by name, growing the buffer as a kernel that sends it would (for
            /// building test data).
            pub fn with(mut self, name: &str, value: u64) -> TcpInfo {
                $( if name == stringify!($name) {
                    let size = std::mem::size_of::<$ty>();
                    let mut raw = self.raw.to_vec();
                    if raw.len() < $off + size {
                        raw.resize($off + size, 0);
                    }
                    raw[$off..$off + size].copy_from_slice(&value.to_ne_bytes()[..size]);
                    self.length = self.length.max(raw.len() as u32);
                    self.raw = raw.into();
                } )*
                self
            }
        }

        impl serde::Serialize for TcpInfo {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("length", &self.length)?;
                if let (Some(snd), Some(rcv)) = (self.snd_wscale(), self.rcv_wscale()) {
                    m.serialize_entry("snd_wscale", &snd)?;
                    m.serialize_entry("rcv_wscale", &rcv)?;
                }
                if let Some(a) = self.delivery_rate_app_limited() {
                    m.serialize_entry("delivery_rate_app_limited", &a)?;
                }
                $( if let Some(v) = self.$name() {
                    m.serialize_entry(stringify!($name), &v)?;
                } )*
                m.end()
            }
        }
    };
}

tcp_info! {
    state: u8 @ 0,
    ca_state: u8 @ 1,
    retransmits: u8 @ 2,
    probes: u8 @ 3,
    backoff: u8 @ 4,
    options: u8 @ 5,
    rto_us: u32 @ 8,
    ato_us: u32 @ 12,
    snd_mss_bytes: u32 @ 16,
    rcv_mss_bytes: u32 @ 20,
    unacked: u32 @ 24,
    sacked: u32 @ 28,
    lost: u32 @ 32,
    retrans: u32 @ 36,
    fackets: u32 @ 40,
    last_data_sent_ms: u32 @ 44,
    last_ack_sent_ms: u32 @ 48,
    last_data_recv_ms: u32 @ 52,
    last_ack_recv_ms: u32 @ 56,
    pmtu_bytes: u32 @ 60,
    rcv_ssthresh: u32 @ 64,
    rtt_us: u32 @ 68,
    rttvar_us: u32 @ 72,
    snd_ssthresh: u32 @ 76,
    snd_cwnd: u32 @ 80,
    advmss_bytes: u32 @ 84,
    reordering: u32 @ 88,
    rcv_rtt_us: u32 @ 92,
    rcv_space_bytes: u32 @ 96,
    total_retrans: u32 @ 100,
    pacing_rate_bytes_per_s: u64 @ 104,
    max_pacing_rate_bytes_per_s: u64 @ 112,
    bytes_acked: u64 @ 120,
    bytes_received: u64 @ 128,
    segs_out: u32 @ 136,
    segs_in: u32 @ 140,
    notsent_bytes: u32 @ 144,
    min_rtt_us: u32 @ 148,
    data_segs_in: u32 @ 152,
    data_segs_out: u32 @ 156,
    delivery_rate_bytes_per_s: u64 @ 160,
    busy_time_us: u64 @ 168,
    rwnd_limited_us: u64 @ 176,
    sndbuf_limited_us: u64 @ 184,
    delivered: u32 @ 192,
    delivered_ce: u32 @ 196,
    bytes_sent: u64 @ 200,
    bytes_retrans: u64 @ 208,
    dsack_dups: u32 @ 216,
    reord_seen: u32 @ 220,
    rcv_ooopack: u32 @ 224,
    snd_wnd_bytes: u32 @ 228,
    rcv_wnd_bytes: u32 @ 232,
}

impl TcpInfo {
    /// Send and receive window scale (a nibble each in byte 6).
    pub fn snd_wscale(&self) -> Option<u8> {
        self.raw.get(6).map(|w| w & 0x0f)
    }

    pub fn rcv_wscale(&self) -> Option<u8> {
        self.raw.get(6).map(|w| w >> 4)
    }

    pub fn delivery_rate_app_limited(&self) -> Option<bool> {
        self.raw.get(7).map(|f| f & 1 != 0)
    }

    /// ss's "send" rate: cwnd × mss × 8 / rtt, in bits per second.
    pub fn send_rate_bits_per_s(&self) -> Option<u64> {
        let (cwnd, mss, rtt) = (self.snd_cwnd()?, self.snd_mss_bytes()?, self.rtt_us()?);
        (rtt > 0).then(|| u64::from(cwnd) * u64::from(mss) * 8 * 1_000_000 / u64::from(rtt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[6] = 0x79; // snd_wscale 9, rcv_wscale 7
        b[8..12].copy_from_slice(&204_000u32.to_ne_bytes());
        b[68..72].copy_from_slice(&50u32.to_ne_bytes());
        b[80..84].copy_from_slice(&10u32.to_ne_bytes());
        b[16..20].copy_from_slice(&1448u32.to_ne_bytes());
        if len >= 208 {
            b[200..208].copy_from_slice(&12345u64.to_ne_bytes());
        }
        b
    }

    #[test]
    fn full_struct() {
        let t = TcpInfo::parse(&sample(232));
        assert_eq!((t.snd_wscale(), t.rcv_wscale()), (Some(9), Some(7)));
        assert_eq!(t.rto_us(), Some(204_000));
        assert_eq!(t.snd_cwnd(), Some(10));
        assert_eq!(t.bytes_sent(), Some(12345));
        assert_eq!(t.snd_wnd_bytes(), Some(0));
        assert_eq!(t.rcv_wnd_bytes(), None, "232 bytes end before rcv_wnd");
        assert_eq!(t.send_rate_bits_per_s(), Some(10 * 1448 * 8 * 1_000_000 / 50));
    }

    #[test]
    fn older_kernel_short_struct_leaves_new_fields_absent() {
        // 104 bytes: a 3.x-era tcp_info, up to total_retrans.
        let t = TcpInfo::parse(&sample(104));
        assert_eq!(t.total_retrans(), Some(0));
        assert_eq!(t.pacing_rate_bytes_per_s(), None);
        assert_eq!(t.bytes_sent(), None);
        assert_eq!(t.length(), 104);
        // A field cut in half is absent, not garbage.
        let t = TcpInfo::parse(&sample(110));
        assert_eq!(t.pacing_rate_bytes_per_s(), None);
    }

    #[test]
    fn newer_kernel_longer_struct_is_fine() {
        let mut b = sample(232);
        b.extend_from_slice(&[0xab; 64]);
        let t = TcpInfo::parse(&b);
        assert_eq!(t.bytes_sent(), Some(12345));
        assert_eq!(t.length(), 296);
    }

    #[test]
    fn empty_is_all_absent() {
        let t = TcpInfo::parse(&[]);
        assert_eq!(t, TcpInfo::default());
        assert_eq!(t.rto_us(), None);
    }
}
