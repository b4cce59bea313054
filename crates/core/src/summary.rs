//! Counting sockets: ss -s's totals, and counts per process, port, state or remote address.
//!
//! The totals are ss's: read from the kernel's counters (/proc/net/sockstat, sockstat6 and
//! the Tcp CurrEstab of /proc/net/snmp, and no other counter file), as ss reads them, so no socket is listed to count it
//! (0.1 s at 100k sockets became a millisecond). Some of those counters are the namespace's,
//! some the host's (TCP orphans and allocations). Unix and packet sockets are the kernel's
//! per-protocol counts (/proc/net/protocols); listeners and netlink sockets, which no counter
//! gives, are counted from dumps of just them, which never walk the connections: the time
//! stays that of the counters whatever the number of connections.

use crate::model::{Endpoint, Family, Netid, SockState, Socket};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// IPv4 / IPv6 split of one transport.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByFamily {
    pub total: usize,
    pub ipv4: usize,
    pub ipv6: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct TcpTotals {
    /// Every TCP socket, TIME-WAIT included.
    pub total: usize,
    pub established: usize,
    /// ss's "closed": allocated TCP sockets less those hashed (in use less TIME-WAIT), in
    /// ss's signed arithmetic, so that it is ss's number even where TIME-WAIT sockets
    /// outnumber those in use (it may then exceed the allocations, or in a race go below 0).
    pub closed: i64,
    /// Closed by their process but still sending: no socket inode (the kernel clears it when
    /// the process lets go), in FIN-WAIT-1/2, CLOSING or LAST-ACK.
    pub orphaned: usize,
    pub timewait: usize,
    pub listening: usize,
    /// Not counted: the kernel keeps no count of connections being set up, and counting
    /// them walks every connection (`sockscope -tn state syn-recv` lists them). Always null.
    pub syn_recv: Option<usize>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Every socket of every table in the namespace.
    pub total: usize,
    pub tcp: TcpTotals,
    pub raw: ByFamily,
    pub udp: ByFamily,
    /// TCP sockets that are full sockets (TIME-WAIT and SYN-RECV excluded), as ss's row.
    pub tcp_sockets: ByFamily,
    pub inet: ByFamily,
    pub unix: usize,
    pub packet: usize,
    pub netlink: usize,
    /// IP fragments being reassembled (/proc/net/sockstat, sockstat6 "FRAG: inuse").
    pub frag: ByFamily,
}

impl Totals {
    /// ss -s of `host`'s tables' network namespace, reading sockets from where `source` says.
    pub fn collect(
        host: &dyn crate::hosts::Host,
        source: crate::Source,
    ) -> Result<(Totals, Vec<String>), crate::SnapshotError> {
        let sockstat = crate::diagnose::observe::sockstat(host);
        // Only /proc/net/snmp: its Tcp CurrEstab is the one counter wanted (netstat and snmp6
        // are four times its size and would be parsed for nothing).
        let snmp = host.text_of("net/snmp").map(|t| crate::procfs::counters::parse_pairs(&t)).unwrap_or_default();
        let n = |key: &str| sockstat.get(key).copied().map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX));
        // What the counters do not say, from dumps that never walk the connections: the
        // listeners (the kernel walks its listening hash alone), netlink sockets (a few per
        // daemon), and Unix and packet sockets when /proc/net/protocols cannot count them.
        use crate::model::StateSet;
        let in_use = protocols_in_use(host);
        let unix_packet =
            in_use.as_ref().and_then(|p| Some((p.get("UNIX-STREAM")? + p.get("UNIX")?, *p.get("PACKET")?)));
        let tcp =
            crate::Selection::exact(&[Netid::Tcp], &[Family::Inet, Family::Inet6], StateSet::of(&[SockState::Listen]));
        let mut tables = vec![Netid::Netlink];
        let mut families = vec![Family::Netlink];
        if unix_packet.is_none() {
            tables.extend([
                Netid::UnixStream,
                Netid::UnixDgram,
                Netid::UnixSeqpacket,
                Netid::PacketRaw,
                Netid::PacketDgram,
            ]);
            families.extend([Family::Unix, Family::Packet]);
        }
        let others =
            crate::Selection::exact(&tables, &families, StateSet(StateSet::ALL.0 | SockState::BoundInactive.bit()));
        let mut warnings = Vec::new();
        let mut t = Totals::default();
        for selection in [tcp, others] {
            let mut opts = crate::SnapshotOptions::new(selection);
            opts.source = source;
            opts.proc_root = host.proc_root().to_path_buf();
            let snap = host.snapshot(&opts)?;
            warnings.extend(snap.warnings);
            for s in &snap.sockets {
                match s.netid {
                    Netid::Tcp => t.tcp.listening += 1,
                    Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket => t.unix += 1,
                    Netid::PacketRaw | Netid::PacketDgram => t.packet += 1,
                    Netid::Netlink => t.netlink += 1,
                    _ => {}
                }
            }
        }
        if let Some((unix, packet)) = unix_packet {
            t.unix = unix;
            t.packet = packet;
        }
        let (tcp4, tcp6, tw, alloc) = (n("TCP.inuse"), n("TCP6.inuse"), n("TCP.tw"), n("TCP.alloc"));
        t.total = n("sockets.used");
        t.tcp.total = alloc + tw;
        // Tcp CurrEstab: ESTABLISHED and CLOSE-WAIT, as ss's "estab".
        t.tcp.established = usize::try_from(crate::procfs::counters::get(&snmp, "Tcp.CurrEstab")).unwrap_or(0);
        let signed = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        t.tcp.closed = signed(alloc) - (signed(tcp4) + signed(tcp6) - signed(tw));
        t.tcp.orphaned = n("TCP.orphan");
        t.tcp.timewait = tw;
        let row = |v4: usize, v6: usize| ByFamily { total: v4 + v6, ipv4: v4, ipv6: v6 };
        t.raw = row(n("RAW.inuse"), n("RAW6.inuse"));
        t.udp = row(n("UDP.inuse"), n("UDP6.inuse"));
        t.tcp_sockets = row(tcp4, tcp6);
        t.inet = row(t.raw.ipv4 + t.udp.ipv4 + tcp4, t.raw.ipv6 + t.udp.ipv6 + tcp6);
        t.frag = row(n("FRAG.inuse"), n("FRAG6.inuse"));
        Ok((t, warnings))
    }
}

/// The sockets in use per protocol (/proc/net/protocols' "sockets" column: the kernel's
/// per-namespace count), by protocol name; None when the file cannot be read (an old
/// capture) or does not parse.
fn protocols_in_use(host: &dyn crate::hosts::Host) -> Option<HashMap<String, usize>> {
    let text = host.text_of("net/protocols")?;
    let mut lines = text.lines();
    let column = lines.next()?.split_whitespace().position(|h| h == "sockets")?;
    let mut out = HashMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        out.insert(fields.first()?.to_string(), fields.get(column)?.parse().ok()?);
    }
    Some(out)
}

/// What `--summary-by` groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Each process holding sockets (a shared socket counts for each holder).
    Process,
    /// The service port: the local port when something listens on it here, else the peer's.
    Port,
    State,
    /// The peer's IP address.
    Remote,
    /// The network namespace (its name, else its container, else its inode).
    Netns,
    /// The container holding the socket.
    Container,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub key: String,
    pub total: usize,
    /// Per state (ss filter names), only states that occur.
    pub states: BTreeMap<&'static str, usize>,
    #[serde(skip)]
    pub state_order: Vec<SockState>,
}

/// Counts per group, largest first (ties by key).
/// The (table, port) pairs something listens on in `sockets`: TCP listeners and unconnected
/// UDP sockets.
pub fn listening_ports<'a>(sockets: impl IntoIterator<Item = &'a Socket>) -> HashSet<(Netid, u16)> {
    sockets
        .into_iter()
        .filter(|s| s.state == SockState::Listen || (s.netid == Netid::Udp && s.state == SockState::Close))
        .filter_map(|s| Some((s.netid, s.local.port()?)))
        .collect()
}

/// Groups the snapshot's sockets. `listening` (from `listening_ports`, over a look that saw the
/// listeners even when the snapshot does not show them) tells the service side of a
/// connection for `GroupBy::Port`.
pub fn group(snap: &Snapshot, by: GroupBy, listening: &HashSet<(Netid, u16)>) -> Vec<Group> {
    let mut groups: HashMap<String, (usize, BTreeMap<SockState, usize>)> = HashMap::new();
    let netns_labels: HashMap<u64, String> = match by {
        GroupBy::Netns => snap.namespaces.iter().map(|n| (n.inode, n.label())).collect(),
        _ => HashMap::new(),
    };
    let mut add = |key: String, s: &Socket| {
        let g = groups.entry(key).or_default();
        g.0 += 1;
        *g.1.entry(s.state).or_default() += 1;
    };
    for s in &snap.sockets {
        match by {
            GroupBy::State => add(s.state.filter_name().to_string(), s),
            GroupBy::Netns => add(
                s.netns
                    .and_then(|n| netns_labels.get(&n.get()).cloned())
                    .unwrap_or_else(|| "(this namespace)".to_string()),
                s,
            ),
            GroupBy::Container => {
                add(s.container.as_ref().map_or_else(|| "(no container)".to_string(), |c| c.label()), s)
            }
            GroupBy::Remote => add(
                match &s.peer {
                    Endpoint::Inet { address, .. } if !address.is_unspecified() => address.to_string(),
                    Endpoint::Inet { .. } => "*".to_string(),
                    _ => format!("({})", s.netid.ss_name()),
                },
                s,
            ),
            GroupBy::Port => {
                // The service side: the port listened on here, else the peer's when it is
                // listened on here too (a local connection seen from the client), else the
                // lower (well-known) of the two.
                let key = match (s.local.port(), s.peer.port()) {
                    (Some(l), _) if listening.contains(&(s.netid, l)) => format!("{}/{}", l, proto(s)),
                    (Some(_), Some(p)) if p != 0 && listening.contains(&(s.netid, p)) => {
                        format!("{}/{}", p, proto(s))
                    }
                    (Some(l), Some(p)) if p != 0 => format!("{}/{}", l.min(p), proto(s)),
                    (Some(l), _) => format!("{}/{}", l, proto(s)),
                    _ => format!("({})", s.netid.ss_name()),
                };
                add(key, s);
            }
            GroupBy::Process => {
                let mut any = false;
                let mut seen = HashSet::new();
                for o in snap.owners_of(s) {
                    // A process holding one socket under two fds counts it once.
                    if seen.insert(o.process.pid) {
                        add(format!("{} ({})", o.process.command, o.process.pid), s);
                        any = true;
                    }
                }
                if !any {
                    add("(no owner)".to_string(), s);
                }
            }
        }
    }
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|(key, (total, states))| Group {
            key,
            total,
            state_order: states.keys().copied().collect(),
            states: states.into_iter().map(|(k, v)| (k.filter_name(), v)).collect(),
        })
        .collect();
    out.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.key.cmp(&b.key)));
    out
}

fn proto(s: &Socket) -> &'static str {
    s.netid.ss_name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;
    use std::net::Ipv4Addr;

    fn tcp(state: SockState, lport: u16, peer: Ipv4Addr, pport: u16, inode: u64) -> Socket {
        let mut s = Socket::new(
            Netid::Tcp,
            Family::Inet,
            state,
            Endpoint::Inet { address: Ipv4Addr::LOCALHOST.into(), port: lport },
            Endpoint::Inet { address: peer.into(), port: pport },
        );
        s.inode = inode;
        s
    }

    #[test]
    fn groups_by_service_port_and_remote() {
        let snap = Snapshot {
            sockets: vec![
                tcp(SockState::Listen, 80, Ipv4Addr::UNSPECIFIED, 0, 1),
                tcp(SockState::Established, 80, Ipv4Addr::new(10, 0, 0, 1), 5000, 2),
                tcp(SockState::Established, 80, Ipv4Addr::new(10, 0, 0, 1), 5001, 3),
                tcp(SockState::TimeWait, 40000, Ipv4Addr::new(10, 0, 0, 9), 443, 0),
            ],
            ..Snapshot::default()
        };
        let listening = listening_ports(&snap.sockets);
        let by_port = group(&snap, GroupBy::Port, &listening);
        assert_eq!(by_port[0].key, "80/tcp");
        assert_eq!(by_port[0].total, 3);
        assert_eq!(by_port[0].states.get("established"), Some(&2));
        assert_eq!(by_port[1].key, "443/tcp");
        let remote = group(&snap, GroupBy::Remote, &listening);
        assert_eq!((remote[0].key.as_str(), remote[0].total), ("10.0.0.1", 2));
        let none = group(&snap, GroupBy::Process, &listening);
        assert_eq!((none[0].key.as_str(), none[0].total), ("(no owner)", 4));
    }
}
