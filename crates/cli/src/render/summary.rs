//! `-s` (ss's totals) and `--summary-by` (counts per process, port, state or remote address):
//! text and JSON.

use super::Format;
use super::envelope::{CaptureInfo, Envelope, Kind};
use super::table::{Align, Column, Table};
use crate::escape::escape;
use serde::Serialize;
use sockscope_core::model::SockState;
use sockscope_core::summary::{Group, GroupBy, Totals};
use std::io::{self, Write};

/// ss -s; `capture`: the capture it was answered from.
pub fn totals(
    t: &Totals,
    warnings: &[String],
    capture: Option<&CaptureInfo>,
    format: Format,
    out: &mut impl Write,
) -> io::Result<()> {
    if format == Format::Json {
        #[derive(Serialize)]
        struct Data<'a> {
            summary: &'a Totals,
        }
        return Envelope::new(Kind::Summary, warnings, capture, Data { summary: t }).write(out);
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
        let line = format!("{name:<9} {:<9} {:<9} {:<9}", row.total, row.ipv4, row.ipv6);
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(out, "UNIX: {}  PACKET: {}  NETLINK: {}", t.unix, t.packet, t.netlink)
}

/// How many sockets the groups count, and what the user should know of them.
pub struct Counted<'a> {
    pub socket_count: usize,
    pub warnings: &'a [String],
}

/// --summary-by: `groups` of the counted sockets; `capture`: the capture they are from.
pub fn groups(
    groups: &[Group],
    by: GroupBy,
    counted: Counted<'_>,
    capture: Option<&CaptureInfo>,
    format: Format,
    out: &mut impl Write,
) -> io::Result<()> {
    let Counted { socket_count, warnings } = counted;
    let (name, heading) = match by {
        GroupBy::Process => ("process", "Process"),
        GroupBy::Port => ("port", "Port"),
        GroupBy::State => ("state", "State"),
        GroupBy::Remote => ("remote", "Remote"),
        GroupBy::Netns => ("netns", "Netns"),
        GroupBy::Container => ("container", "Container"),
    };
    if format == Format::Json {
        #[derive(Serialize)]
        struct Data<'a> {
            group_by: &'a str,
            socket_count: usize,
            groups: &'a [Group],
        }
        return Envelope::new(Kind::Groups, warnings, capture, Data { group_by: name, socket_count, groups })
            .write(out);
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
    for g in groups {
        table.cell_str(&escape(&g.key));
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
