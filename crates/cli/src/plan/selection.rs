//! ss's table and family flags → a `Selection`.

use crate::args::ListArgs;
use sockscope_core::model::{SockState, StateSet};
use sockscope_core::{Family, Netid, Selection};

const UNIX: [Netid; 3] = [Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket];
const PACKET: [Netid; 2] = [Netid::PacketRaw, Netid::PacketDgram];
/// ss's inet tables (those this kernel can dump).
const INET: [Netid; 4] = [Netid::Tcp, Netid::Udp, Netid::Raw, Netid::Mptcp];

/// The tables a `-A` name stands for.
fn query_tables(name: &str) -> Result<Vec<Netid>, String> {
    Ok(match name {
        "all" => Netid::ALL.to_vec(),
        "inet" => INET.to_vec(),
        "tcp" => vec![Netid::Tcp],
        "udp" => vec![Netid::Udp],
        "raw" => vec![Netid::Raw],
        "mptcp" => vec![Netid::Mptcp],
        "unix" => UNIX.to_vec(),
        "unix_stream" | "u_str" => vec![Netid::UnixStream],
        "unix_dgram" | "u_dgr" => vec![Netid::UnixDgram],
        "unix_seqpacket" | "u_seq" => vec![Netid::UnixSeqpacket],
        "packet" => PACKET.to_vec(),
        "packet_raw" | "p_raw" => vec![Netid::PacketRaw],
        "packet_dgram" | "p_dgr" => vec![Netid::PacketDgram],
        "netlink" | "nl" => vec![Netid::Netlink],
        "dccp" | "sctp" | "tipc" | "vsock" | "vsock_stream" | "vsock_dgram" | "xdp" => {
            return Err(format!("-A {name}: {}", unread_table(name)));
        }
        other => {
            return Err(format!(
                "-A: unknown socket table '{other}' (expected all, inet, tcp, udp, raw, mptcp, unix, unix_stream, unix_dgram, unix_seqpacket, packet, packet_raw, packet_dgram or netlink)"
            ));
        }
    })
}

/// Why sockscope does not read a table ss can (`-A`/`-f` names, any case): the one home of
/// these reasons.
pub fn unread_table(name: &str) -> String {
    let (what, module, note) = match name.to_ascii_lowercase().as_str() {
        "sctp" => ("SCTP", "sctp_diag", ""),
        "dccp" => ("DCCP", "dccp_diag", "; DCCP left Linux in 6.16"),
        "tipc" => ("TIPC", "tipc_diag", ""),
        "vsock" | "vsock_stream" | "vsock_dgram" => ("vsock", "vsock_diag", ""),
        "xdp" => ("XDP", "xsk_diag", ""),
        _ => ("these", "diag", ""),
    };
    format!(
        "{what} sockets are not read by sockscope: their table is the kernel's {module} module, which the kernels sockscope is tested on do not build, so no answer of ours could be checked (ss lists them where the module is loaded{note})"
    )
}

fn family(name: &str) -> Result<Family, String> {
    Ok(match name {
        "inet" | "4" => Family::Inet,
        "inet6" | "6" => Family::Inet6,
        "unix" | "local" => Family::Unix,
        "link" | "packet" => Family::Packet,
        "netlink" => Family::Netlink,
        "vsock" | "tipc" | "xdp" => {
            return Err(format!("-f {name}: {}", unread_table(name)));
        }
        other => return Err(format!("-f: unknown family '{other}' (expected unix, inet, inet6, link or netlink)")),
    })
}

/// The states a table adds when it is named (ss's `default_dbs`): UDP and raw sockets only
/// when connected, datagram-only tables unconnected, the rest connected.
fn table_states(t: Netid) -> StateSet {
    match t {
        Netid::Tcp | Netid::Mptcp | Netid::UnixStream | Netid::UnixSeqpacket => StateSet::connected(),
        Netid::Udp | Netid::Raw => StateSet::of(&[SockState::Established]),
        Netid::UnixDgram | Netid::PacketRaw | Netid::PacketDgram | Netid::Netlink => StateSet::of(&[SockState::Close]),
        _ => StateSet::connected(),
    }
}

/// The states a family adds when it is named (ss's `default_afs`).
fn family_states(f: Family) -> StateSet {
    match f {
        Family::Inet | Family::Inet6 | Family::Unix => StateSet::connected(),
        Family::Packet | Family::Netlink => StateSet::of(&[SockState::Close]),
        _ => StateSet::connected(),
    }
}

/// The tables a family brings when none of its tables was named.
fn family_tables(f: Family) -> &'static [Netid] {
    match f {
        Family::Inet | Family::Inet6 => &INET,
        Family::Unix => &UNIX,
        Family::Packet => &PACKET,
        Family::Netlink => &[Netid::Netlink],
        _ => &[],
    }
}

/// Resolves the flags exactly as ss 6.1 does (iproute2's `main`, `filter_db_set`,
/// `filter_af_set` and `filter_merge_defaults`):
/// - `-t`, `-u`, `-w` name tables; `-x`, `-0`, `-4`, `-6` and `-f` name families; each adds
///   its default states.
/// - `-A` names tables, `!NAME` removes them, and it makes the default states "connected".
/// - Nothing named: every table, connected states. `-a`, `-l` (and a filter's `state`
///   clauses, applied later) replace the states.
/// - Then a named table none of whose families was named brings its families, and a named
///   family none of whose tables was named brings its tables: selections add up
///   (`-t -0` is TCP and packet sockets; `-t -x -4` is IPv4 TCP and Unix).
pub fn from_args(a: &ListArgs) -> Result<Selection, String> {
    let mut tables: Vec<Netid> = Vec::new();
    let mut families: Vec<Family> = Vec::new();
    let mut states = StateSet(0);
    let mut named = false;
    for (given, t) in [(a.tcp, Netid::Tcp), (a.udp, Netid::Udp), (a.raw, Netid::Raw), (a.mptcp, Netid::Mptcp)] {
        if given {
            push(&mut tables, &[t]);
            states = states | table_states(t);
            named = true;
        }
    }
    let mut named_families = Vec::new();
    for (given, f) in
        [(a.unix, Family::Unix), (a.packet, Family::Packet), (a.ipv4, Family::Inet), (a.ipv6, Family::Inet6)]
    {
        if given {
            named_families.push(f);
        }
    }
    for f in &a.family {
        named_families.push(family(f.trim())?);
    }
    for f in named_families {
        push(&mut families, &[f]);
        states = states | family_states(f);
        named = true;
    }
    let mut state_filter = if a.all {
        Some(StateSet::ALL)
    } else if a.listening {
        Some(StateSet::listening())
    } else {
        None
    };
    if !a.query.is_empty() {
        named = true;
        state_filter.get_or_insert(StateSet::connected());
        let mut removed = Vec::new();
        for q in &a.query {
            let q = q.trim();
            match q.strip_prefix('!') {
                Some(neg) => removed.extend(query_tables(neg)?),
                None => push(&mut tables, &query_tables(q)?),
            }
        }
        tables.retain(|t| !removed.contains(t));
        if tables.is_empty() {
            return Err(format!(
                "-A: no socket table is left to show ('!' removes from the tables named before it: -A all,{})",
                a.query.iter().find(|q| q.trim().starts_with('!')).map_or("!TABLE", |q| q.trim())
            ));
        }
    }
    if !named {
        state_filter.get_or_insert(StateSet::connected());
        tables = Netid::ALL.to_vec();
    }
    if let Some(s) = state_filter {
        states = s;
    }
    // filter_merge_defaults: first tables bring families, then families bring tables.
    for t in tables.clone() {
        if !t.families().iter().any(|f| families.contains(f)) {
            push(&mut families, t.families());
        }
    }
    for f in families.clone() {
        if !family_tables(f).iter().any(|t| tables.contains(t)) {
            push(&mut tables, family_tables(f));
        }
    }
    Ok(Selection::exact(&tables, &families, states))
}

fn push<T: Copy + PartialEq>(into: &mut Vec<T>, items: &[T]) {
    for i in items {
        if !into.contains(i) {
            into.push(*i);
        }
    }
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
