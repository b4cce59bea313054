//! ss's table and family flags → a `Selection`.

use crate::args::ListArgs;
use sockscope_core::model::StateSet;
use sockscope_core::{Family, Netid, Selection};

const UNIX: [Netid; 3] = [Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket];
const PACKET: [Netid; 2] = [Netid::PacketRaw, Netid::PacketDgram];

/// The tables a `-A` name stands for.
fn query_tables(name: &str) -> Result<Vec<Netid>, String> {
    Ok(match name {
        "all" => Netid::ALL.to_vec(),
        "inet" => vec![Netid::Tcp, Netid::Udp, Netid::Raw],
        "tcp" => vec![Netid::Tcp],
        "udp" => vec![Netid::Udp],
        "raw" => vec![Netid::Raw],
        "unix" => UNIX.to_vec(),
        "unix_stream" | "u_str" => vec![Netid::UnixStream],
        "unix_dgram" | "u_dgr" => vec![Netid::UnixDgram],
        "unix_seqpacket" | "u_seq" => vec![Netid::UnixSeqpacket],
        "packet" => PACKET.to_vec(),
        "packet_raw" | "p_raw" => vec![Netid::PacketRaw],
        "packet_dgram" | "p_dgr" => vec![Netid::PacketDgram],
        "netlink" | "nl" => vec![Netid::Netlink],
        "dccp" | "sctp" | "mptcp" | "tipc" | "vsock" | "vsock_stream" | "vsock_dgram" | "xdp" => {
            return Err(format!("-A {name}: {name} sockets are not supported by sockscope yet"));
        }
        other => {
            return Err(format!(
                "-A: unknown socket table '{other}' (expected all, inet, tcp, udp, raw, unix, unix_stream, unix_dgram, unix_seqpacket, packet, packet_raw, packet_dgram or netlink)"
            ));
        }
    })
}

fn family(name: &str) -> Result<Family, String> {
    Ok(match name {
        "inet" | "4" => Family::Inet,
        "inet6" | "6" => Family::Inet6,
        "unix" | "local" => Family::Unix,
        "link" | "packet" => Family::Packet,
        "netlink" => Family::Netlink,
        "vsock" | "tipc" | "xdp" => {
            return Err(format!("-f {name}: {name} sockets are not supported by sockscope yet"));
        }
        other => return Err(format!("-f: unknown family '{other}' (expected unix, inet, inet6, link or netlink)")),
    })
}

/// Resolves the flags as ss does: named tables and families intersect; with neither, every
/// table; states from -a / -l, else established connections only.
pub fn from_args(a: &ListArgs) -> Result<Selection, String> {
    let mut tables: Vec<Netid> = Vec::new();
    let mut add = |t: &[Netid]| {
        for n in t {
            if !tables.contains(n) {
                tables.push(*n);
            }
        }
    };
    if a.tcp {
        add(&[Netid::Tcp]);
    }
    if a.udp {
        add(&[Netid::Udp]);
    }
    if a.raw {
        add(&[Netid::Raw]);
    }
    if a.unix {
        add(&UNIX);
    }
    let mut removed: Vec<Netid> = Vec::new();
    for q in &a.query {
        let q = q.trim();
        if let Some(neg) = q.strip_prefix('!') {
            removed.extend(query_tables(neg)?);
        } else {
            add(&query_tables(q)?);
        }
    }
    if tables.is_empty() && !removed.is_empty() {
        tables = Netid::ALL.to_vec();
    }
    tables.retain(|t| !removed.contains(t));

    let mut families: Vec<Family> = Vec::new();
    if a.ipv4 {
        families.push(Family::Inet);
    }
    if a.ipv6 {
        families.push(Family::Inet6);
    }
    if a.packet {
        families.push(Family::Packet);
    }
    for f in &a.family {
        families.push(family(f.trim())?);
    }
    // -0 on its own names a table as well as a family.
    if a.packet && !tables.is_empty() {
        for p in PACKET {
            if !tables.contains(&p) {
                tables.push(p);
            }
        }
    }
    let states = if a.all {
        StateSet::ALL
    } else if a.listening {
        StateSet::listening()
    } else {
        StateSet::connected()
    };
    if tables.is_empty() && !removed.is_empty() {
        return Err("-A: every table was removed; nothing to show".into());
    }
    Ok(Selection::resolve(&tables, &families, states))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut ListArgs)) -> ListArgs {
        let mut a = ListArgs::default();
        f(&mut a);
        a
    }

    #[test]
    fn tanp_is_all_tcp() {
        let s = from_args(&args(|a| {
            a.tcp = true;
            a.all = true;
        }))
        .expect("valid");
        assert!(s.has_netid(Netid::Tcp) && !s.has_netid(Netid::Udp) && s.table_count() == 1);
        assert_eq!(s.states, StateSet::ALL);
    }

    #[test]
    fn no_flags_is_every_table_connected_only() {
        let s = from_args(&ListArgs::default()).expect("valid");
        assert_eq!(s.table_count(), Netid::ALL.len() as u32);
        assert_eq!(s.states, StateSet::connected());
    }

    #[test]
    fn query_with_negation() {
        let s = from_args(&args(|a| a.query = vec!["all".into(), "!unix".into()])).expect("valid");
        assert!(s.has_netid(Netid::Tcp) && !s.has_netid(Netid::UnixStream));
        assert!(from_args(&args(|a| a.query = vec!["bogus".into()])).is_err());
        assert!(from_args(&args(|a| a.family = vec!["ipx".into()])).is_err());
    }

    #[test]
    fn four_with_tcp_is_ipv4_tcp() {
        let s = from_args(&args(|a| {
            a.tcp = true;
            a.ipv4 = true;
        }))
        .expect("valid");
        assert!(s.has_family(Family::Inet) && !s.has_family(Family::Inet6));
    }
}
