//! The tracepoints' raw records → typed records, with the field offsets of this kernel's
//! `format` files.

use crate::format::{Field, Format, FormatError};
use sockscope_core::SockState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
pub const IPPROTO_TCP: u64 = 6;

/// `sock:inet_sock_set_state`: a socket moved from one state to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The kernel's address of the socket: its identity while it lives.
    pub skaddr: u64,
    pub old: SockState,
    pub new: SockState,
    pub protocol: u64,
    pub local: SocketAddr,
    pub peer: SocketAddr,
}

/// `tcp:tcp_destroy_sock` and `tcp:tcp_receive_reset`: a socket and its cookie (the key of
/// the sock_diag destroy record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketEvent {
    pub skaddr: u64,
    pub cookie: u64,
    /// Local and peer address, where the kernel's record has them (tcp_event_sk does): a
    /// followed socket at `skaddr` with other ends is not this one.
    pub ends: Option<(SocketAddr, SocketAddr)>,
}

/// The addresses of a record: family, ports and the v4 and v6 address fields.
#[derive(Clone, Copy, Debug)]
struct Addresses {
    sport: Field,
    dport: Field,
    family: Field,
    saddr: Field,
    daddr: Field,
    saddr_v6: Field,
    daddr_v6: Field,
}

impl Addresses {
    fn new(f: &Format) -> Result<Addresses, FormatError> {
        Ok(Addresses {
            sport: f.need("sport", &[2], "2")?,
            dport: f.need("dport", &[2], "2")?,
            family: f.need("family", &[2], "2")?,
            saddr: f.need("saddr", &[4], "4")?,
            daddr: f.need("daddr", &[4], "4")?,
            saddr_v6: f.need("saddr_v6", &[16], "16")?,
            daddr_v6: f.need("daddr_v6", &[16], "16")?,
        })
    }

    /// Local and peer address. The tracepoint stores ports in host order.
    fn read(&self, raw: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
        let port = |f: Field| f.uint(raw).and_then(|p| u16::try_from(p).ok());
        let (sport, dport) = (port(self.sport)?, port(self.dport)?);
        let ip = |v4: Field, v6: Field| -> Option<IpAddr> {
            match self.family.uint(raw)? {
                AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(v4.bytes(raw)?).ok()?))),
                AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v6.bytes(raw)?).ok()?))),
                _ => None,
            }
        };
        Some((
            SocketAddr::new(ip(self.saddr, self.saddr_v6)?, sport),
            SocketAddr::new(ip(self.daddr, self.daddr_v6)?, dport),
        ))
    }
}

/// Where the fields of `inet_sock_set_state` are on this kernel.
#[derive(Clone, Copy, Debug)]
pub struct StateLayout {
    skaddr: Field,
    oldstate: Field,
    newstate: Field,
    protocol: Field,
    addresses: Addresses,
}

impl StateLayout {
    pub fn new(f: &Format) -> Result<StateLayout, FormatError> {
        Ok(StateLayout {
            skaddr: f.need("skaddr", &[8, 4], "8 or 4")?,
            oldstate: f.need("oldstate", &[4], "4")?,
            newstate: f.need("newstate", &[4], "4")?,
            protocol: f.need("protocol", &[2, 1], "2 or 1")?,
            addresses: Addresses::new(f)?,
        })
    }

    /// The record, or None when it is too short or of an unknown address family.
    pub fn decode(&self, raw: &[u8]) -> Option<StateChange> {
        let state = |f: Field| f.uint(raw).map(|s| SockState::from_kernel(u8::try_from(s).unwrap_or(u8::MAX)));
        let (local, peer) = self.addresses.read(raw)?;
        Some(StateChange {
            skaddr: self.skaddr.uint(raw)?,
            old: state(self.oldstate)?,
            new: state(self.newstate)?,
            protocol: self.protocol.uint(raw)?,
            local,
            peer,
        })
    }
}

/// Where `skaddr` and `sock_cookie` are in a tcp tracepoint of the `tcp_event_sk` class.
#[derive(Clone, Copy, Debug)]
pub struct SocketLayout {
    skaddr: Field,
    cookie: Field,
    addresses: Option<Addresses>,
}

impl SocketLayout {
    pub fn new(f: &Format) -> Result<SocketLayout, FormatError> {
        Ok(SocketLayout {
            skaddr: f.need("skaddr", &[8, 4], "8 or 4")?,
            cookie: f.need("sock_cookie", &[8], "8")?,
            addresses: Addresses::new(f).ok(),
        })
    }

    pub fn decode(&self, raw: &[u8]) -> Option<SocketEvent> {
        Some(SocketEvent {
            skaddr: self.skaddr.uint(raw)?,
            cookie: self.cookie.uint(raw)?,
            ends: self.addresses.and_then(|a| a.read(raw)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SET_STATE: &str = include_str!("../tests/fixtures/inet_sock_set_state-6.18.format");
    const DESTROY: &str = include_str!("../tests/fixtures/tcp_destroy_sock-6.18.format");

    /// A record as the 6.18 kernel lays it out.
    fn set_state_record(family: u16, old: i32, new: i32, sport: u16, dport: u16) -> Vec<u8> {
        let mut r = vec![0u8; 72];
        r[8..16].copy_from_slice(&0xffff_8880_1234_5678u64.to_ne_bytes());
        r[16..20].copy_from_slice(&old.to_ne_bytes());
        r[20..24].copy_from_slice(&new.to_ne_bytes());
        r[24..26].copy_from_slice(&sport.to_ne_bytes());
        r[26..28].copy_from_slice(&dport.to_ne_bytes());
        r[28..30].copy_from_slice(&family.to_ne_bytes());
        r[30..32].copy_from_slice(&6u16.to_ne_bytes());
        r[32..36].copy_from_slice(&[127, 0, 0, 1]);
        r[36..40].copy_from_slice(&[10, 0, 0, 2]);
        r[40..56].copy_from_slice(&Ipv6Addr::LOCALHOST.octets());
        r[56..72].copy_from_slice(&"fd00::2".parse::<Ipv6Addr>().unwrap().octets());
        r
    }

    #[test]
    fn decodes_v4_and_v6_transitions() {
        let layout = StateLayout::new(&Format::parse(SET_STATE).unwrap()).unwrap();
        let c = layout.decode(&set_state_record(2, 7, 2, 40000, 443)).unwrap();
        assert_eq!(c.skaddr, 0xffff_8880_1234_5678);
        assert_eq!((c.old, c.new), (SockState::Close, SockState::SynSent));
        assert_eq!(c.local, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(c.peer, "10.0.0.2:443".parse().unwrap());
        let c = layout.decode(&set_state_record(10, 1, 4, 1, 2)).unwrap();
        assert_eq!((c.old, c.new), (SockState::Established, SockState::FinWait1));
        assert_eq!(c.local, "[::1]:1".parse().unwrap());
        assert_eq!(c.peer, "[fd00::2]:2".parse().unwrap());
    }

    #[test]
    fn short_records_and_unknown_families_are_not_decoded() {
        let layout = StateLayout::new(&Format::parse(SET_STATE).unwrap()).unwrap();
        assert_eq!(layout.decode(&set_state_record(2, 7, 2, 1, 2)[..34]), None);
        assert_eq!(layout.decode(&set_state_record(10, 7, 2, 1, 2)[..60]), None);
        assert_eq!(layout.decode(&set_state_record(1, 7, 2, 1, 2)), None);
    }

    #[test]
    fn destroy_records_carry_the_cookie() {
        let layout = SocketLayout::new(&Format::parse(DESTROY).unwrap()).unwrap();
        let mut r = vec![0u8; 72];
        r[8..16].copy_from_slice(&7u64.to_ne_bytes());
        r[16..18].copy_from_slice(&8080u16.to_ne_bytes());
        r[18..20].copy_from_slice(&40000u16.to_ne_bytes());
        r[20..22].copy_from_slice(&2u16.to_ne_bytes());
        r[22..26].copy_from_slice(&[127, 0, 0, 1]);
        r[26..30].copy_from_slice(&[127, 0, 0, 2]);
        r[64..72].copy_from_slice(&0x4242u64.to_ne_bytes());
        let ends = Some(("127.0.0.1:8080".parse().unwrap(), "127.0.0.2:40000".parse().unwrap()));
        assert_eq!(layout.decode(&r), Some(SocketEvent { skaddr: 7, cookie: 0x4242, ends }));
        assert_eq!(layout.decode(&r[..70]), None);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panic(raw in prop::collection::vec(any::<u8>(), 0..128)) {
            let layout = StateLayout::new(&Format::parse(SET_STATE).unwrap()).unwrap();
            let _ = layout.decode(&raw);
        }
    }
}
