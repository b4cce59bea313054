//! What the kernel says of MPTCP: an MPTCP socket's `struct mptcp_info` (linux/mptcp.h, from
//! mptcp_diag), and what a TCP subflow's upper layer (ULP) says of it.

use serde::Serialize;
use std::sync::Arc;

/// `struct mptcp_info`'s fields: name, offset, size in bytes; in the struct's order, which is
/// also the order ss prints them in. `flags` is printed by name (`fallback`, `remote_key`).
const FIELDS: [(&str, usize, usize); 25] = [
    ("subflows", 0, 1),
    ("add_addr_signal", 1, 1),
    ("add_addr_accepted", 2, 1),
    ("subflows_max", 3, 1),
    ("add_addr_signal_max", 4, 1),
    ("add_addr_accepted_max", 5, 1),
    ("flags", 8, 4),
    ("token", 12, 4),
    ("write_seq", 16, 8),
    ("snd_una", 24, 8),
    ("rcv_nxt", 32, 8),
    ("local_addr_used", 40, 1),
    ("local_addr_max", 41, 1),
    ("csum_enabled", 42, 1),
    ("retransmits", 44, 4),
    ("bytes_retrans", 48, 8),
    ("bytes_sent", 56, 8),
    ("bytes_received", 64, 8),
    ("bytes_acked", 72, 8),
    ("subflows_total", 80, 1),
    ("endp_laminar_max", 81, 1),
    ("endp_fullmesh_max", 82, 1),
    ("last_data_sent", 84, 4),
    ("last_data_recv", 88, 4),
    ("last_ack_recv", 92, 4),
];

/// MPTCP_INFO_FLAG_FALLBACK: the connection fell back to plain TCP.
pub const MPTCP_FALLBACK: u64 = 1;
/// MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED.
pub const MPTCP_REMOTE_KEY: u64 = 2;

/// One MPTCP socket's counters, kept as the kernel's bytes (at most the 96 we know) and read
/// by name: a field past what the kernel sent (an older kernel) is absent, not zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MptcpInfo {
    raw: Box<[u8]>,
}

impl MptcpInfo {
    pub fn parse(b: &[u8]) -> MptcpInfo {
        let known = FIELDS[FIELDS.len() - 1].1 + FIELDS[FIELDS.len() - 1].2;
        MptcpInfo { raw: b[..b.len().min(known)].into() }
    }

    /// A field by its name in `struct mptcp_info` without the `mptcpi_` prefix.
    pub fn get(&self, name: &str) -> Option<u64> {
        let &(_, off, size) = FIELDS.iter().find(|f| f.0 == name)?;
        read(&self.raw, off, size)
    }

    /// Every field the kernel sent, in the struct's order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        FIELDS.iter().filter_map(|&(name, off, size)| Some((name, read(&self.raw, off, size)?)))
    }
}

fn read(b: &[u8], off: usize, size: usize) -> Option<u64> {
    let bytes = b.get(off..off + size)?;
    let mut wide = [0u8; 8];
    // Native-endian integers of 1, 4 or 8 bytes: the low bytes come first on little-endian
    // machines, last on big-endian ones.
    if cfg!(target_endian = "little") {
        wide[..size].copy_from_slice(bytes);
    } else {
        wide[8 - size..].copy_from_slice(bytes);
    }
    Some(u64::from_ne_bytes(wide))
}

impl Serialize for MptcpInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (name, v) in self.fields() {
            m.serialize_entry(name, &v)?;
        }
        if let Some(flags) = self.get("flags") {
            m.serialize_entry("fallback", &(flags & MPTCP_FALLBACK != 0))?;
            m.serialize_entry("remote_key", &(flags & MPTCP_REMOTE_KEY != 0))?;
        }
        m.end()
    }
}

/// A TCP socket's upper-layer protocol (INET_DIAG_ULP_INFO; the kernel tells it to
/// CAP_NET_ADMIN): its name (`mptcp`, `tls`) and, for an MPTCP subflow, the subflow's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ulp {
    pub name: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mptcp: Option<Subflow>,
}

/// An MPTCP subflow (MPTCP_SUBFLOW_ATTR_*); each field only when the kernel sent it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Subflow {
    /// MPTCP_SUBFLOW_FLAG_*: bit 0 MP_CAPABLE from the peer, 1 sent, 2 MP_JOIN from the peer,
    /// 3 sent, 4 backup asked by the peer, 5 by us, 6 fully established, 7 connected,
    /// 8 a valid mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_remote: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_local: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_remote: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_local: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_sfseq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssn_offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_datalen: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0] = 1; // subflows
        b[3] = 2; // subflows_max
        b[8..12].copy_from_slice(&3u32.to_ne_bytes()); // fallback | remote_key
        b[12..16].copy_from_slice(&0x84c2_c799u32.to_ne_bytes());
        b[16..24].copy_from_slice(&0xed0a_917b_3f58_88b8u64.to_ne_bytes());
        if len >= 96 {
            b[92..96].copy_from_slice(&28u32.to_ne_bytes());
        }
        b
    }

    #[test]
    fn fields_at_their_offsets() {
        let m = MptcpInfo::parse(&sample(96));
        assert_eq!(m.get("subflows"), Some(1));
        assert_eq!(m.get("subflows_max"), Some(2));
        assert_eq!(m.get("flags"), Some(3));
        assert_eq!(m.get("token"), Some(0x84c2_c799));
        assert_eq!(m.get("write_seq"), Some(0xed0a_917b_3f58_88b8));
        assert_eq!(m.get("last_ack_recv"), Some(28));
        assert_eq!(m.fields().count(), FIELDS.len());
    }

    /// A kernel older than the last fields sends a shorter struct: those are absent.
    #[test]
    fn a_short_struct_leaves_later_fields_absent() {
        let m = MptcpInfo::parse(&sample(48));
        assert_eq!(m.get("retransmits"), Some(0));
        assert_eq!(m.get("bytes_sent"), None);
        assert_eq!(m.get("last_ack_recv"), None);
        assert!(MptcpInfo::parse(&[]).fields().next().is_none());
    }

    #[test]
    fn a_longer_struct_is_cut_to_what_we_know() {
        let m = MptcpInfo::parse(&sample(200));
        assert_eq!(m.raw.len(), 96);
    }
}
