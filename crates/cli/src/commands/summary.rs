//! `-s` (ss's totals, counted in this namespace) and `--summary-by` (counts per process,
//! port, state or remote address).

use crate::plan::{Format, Output};
use crate::render::table::{Align, Column, Table};
use sockscope_core::Snapshot;
use sockscope_core::model::SockState;
use sockscope_core::summary::{self, GroupBy, Totals};
use std::io::Write;
use std::path::Path;

/// ss -s, from a snapshot of every table in every state.
pub fn totals(snap: &Snapshot, output: &Output, out: &mut impl Write) -> anyhow::Result<bool> {
    let t = Totals::count(snap, summary::read_frag(&sockscope_core::procfs::net_dir(Path::new("/proc"))));
    if output.format == Format::Json {
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

pub fn groups(snap: &Snapshot, by: GroupBy, output: &Output, out: &mut impl Write) -> anyhow::Result<()> {
    let groups = summary::group(snap, by);
    let (name, heading) = match by {
        GroupBy::Process => ("process", "Process"),
        GroupBy::Port => ("port", "Port"),
        GroupBy::State => ("state", "State"),
        GroupBy::Remote => ("remote", "Remote"),
    };
    if output.format == Format::Json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            group_by: &'a str,
            socket_count: usize,
            groups: &'a [summary::Group],
        }
        serde_json::to_writer(
            &mut *out,
            &Doc {
                schema_version: crate::render::json::SCHEMA_VERSION,
                group_by: name,
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
