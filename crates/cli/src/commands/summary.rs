//! `-s` (ss's totals, counted in this namespace) and `--summary-by` (counts per process,
//! port, state or remote address).

use crate::args::ListArgs;
use crate::render::table::{Align, Column, Table};
use clap::ValueEnum;
use sockscope_core::model::{SockState, StateSet};
use sockscope_core::summary::{self, GroupBy, Totals};
use sockscope_core::{Selection, Snapshot, SnapshotOptions};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupKey {
    /// each process holding sockets
    Process,
    /// the service port (local if listened on here, else the peer's)
    Port,
    /// the socket state
    State,
    /// the peer's address
    Remote,
}

pub fn totals(args: &ListArgs, out: &mut impl Write) -> anyhow::Result<bool> {
    // Every table in every state, whatever else the flags say, as ss -s.
    let mut opts =
        SnapshotOptions::new(Selection::resolve(&[], &[], StateSet(StateSet::ALL.0 | SockState::BoundInactive.bit())));
    // No owner scan: an orphan (closed by its process, still closing) is told by its socket
    // inode, which the kernel clears when the process lets go (sock_orphan).
    opts.source = match args.source {
        crate::args::SourceArg::Proc => sockscope_core::Source::Proc,
        _ => sockscope_core::Source::Auto,
    };
    let snap = Snapshot::collect(&opts)?;
    for w in snap.fallbacks.iter().chain(&snap.warnings) {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    let t = Totals::count(&snap, summary::read_frag(&sockscope_core::procfs::net_dir(Path::new("/proc"))));
    if args.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            summary: &'a Totals,
        }
        serde_json::to_writer(&mut *out, &Doc { schema_version: crate::render::json::SCHEMA_VERSION, summary: &t })?;
        writeln!(out)?;
        return Ok(true);
    }
    writeln!(out, "Total: {}", t.total)?;
    writeln!(
        out,
        "TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})",
        t.tcp.total, t.tcp.established, t.tcp.closed, t.tcp.orphaned, t.tcp.timewait
    )?;
    writeln!(out)?;
    writeln!(out, "Transport Total     IP        IPv6")?;
    for (name, row) in [("RAW", t.raw), ("UDP", t.udp), ("TCP", t.tcp_sockets), ("INET", t.inet), ("FRAG", t.frag)] {
        writeln!(out, "{name:<9} {:<9} {:<9} {:<9}", row.total, row.ipv4, row.ipv6)?;
    }
    writeln!(out)?;
    writeln!(out, "UNIX: {}  PACKET: {}  NETLINK: {}", t.unix, t.packet, t.netlink)?;
    Ok(true)
}

pub fn groups(snap: &Snapshot, key: GroupKey, as_json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let by = match key {
        GroupKey::Process => GroupBy::Process,
        GroupKey::Port => GroupBy::Port,
        GroupKey::State => GroupBy::State,
        GroupKey::Remote => GroupBy::Remote,
    };
    let groups = summary::group(snap, by);
    if as_json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            group_by: &'a str,
            socket_count: usize,
            groups: &'a [summary::Group],
        }
        let name = key.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
        serde_json::to_writer(
            &mut *out,
            &Doc {
                schema_version: crate::render::json::SCHEMA_VERSION,
                group_by: &name,
                socket_count: snap.sockets.len(),
                groups: &groups,
            },
        )?;
        writeln!(out)?;
        return Ok(());
    }
    // Columns: the key, the total, then one per state that occurs, in kernel order.
    let mut states: Vec<SockState> = groups.iter().flat_map(|g| g.state_order.iter().copied()).collect();
    states.sort();
    states.dedup();
    let heading: &'static str = match key {
        GroupKey::Process => "Process",
        GroupKey::Port => "Port",
        GroupKey::State => "State",
        GroupKey::Remote => "Remote",
    };
    let mut columns = vec![
        Column { heading, align: Align::Left, split: None },
        Column { heading: "Total", align: Align::Right, split: None },
    ];
    for st in &states {
        columns.push(Column { heading: st.ss_name(), align: Align::Right, split: None });
    }
    let mut table = Table::new(columns);
    for g in &groups {
        table.cell_str(&crate::escape::escape(&g.key));
        table.cell_str(&g.total.to_string());
        for st in &states {
            let n = g.states.get(st.filter_name()).copied().unwrap_or(0);
            table.cell_str(&if n == 0 { "-".to_string() } else { n.to_string() });
        }
        table.cell_str("");
    }
    table.write(out, true, None, None)?;
    Ok(())
}
