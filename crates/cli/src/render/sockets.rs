//! The socket table, ss's columns: Netid, State, Recv-Q, Send-Q, Local Address:Port,
//! Peer Address:Port, then owners (-p) and details (-e).

use super::details::{self, DetailFlags};
use super::names::{self, Namer};
use super::table::{Align, Column, Table};
use sockscope_core::{Endpoint, Snapshot, Socket};
use std::fmt::Write as _;
use std::io::{self, Write};

pub struct TableOptions {
    pub netid_column: bool,
    pub state_column: bool,
    pub header: bool,
    pub processes: bool,
    pub details: DetailFlags,
    /// Second-line details (-m, -i) stay on the socket's line.
    pub oneline: bool,
    /// Terminal width, when writing to a terminal and not asked for one line per socket.
    pub max_width: Option<usize>,
}

pub fn write(
    out: &mut impl Write,
    snap: &Snapshot,
    sockets: &[&Socket],
    namer: &mut Namer,
    opts: &TableOptions,
) -> io::Result<()> {
    let mut columns = Vec::with_capacity(6);
    if opts.netid_column {
        columns.push(Column { heading: "Netid", align: Align::Left, split: None });
    }
    if opts.state_column {
        columns.push(Column { heading: "State", align: Align::Left, split: None });
    }
    columns.push(Column { heading: "Recv-Q", align: Align::Left, split: None });
    columns.push(Column { heading: "Send-Q", align: Align::Left, split: None });
    columns.push(Column { heading: "Local Address:Port", align: Align::Left, split: Some(':') });
    columns.push(Column { heading: "Peer Address:Port", align: Align::Left, split: Some(':') });
    let mut table = Table::new(columns);
    table.reserve(sockets.len());
    let mut addr = String::new();
    let mut port = String::new();
    let mut extra = String::new();
    let mut second = String::new();
    for s in sockets {
        table.row_separator(if matches!(s.local, Endpoint::Unix { .. }) { ' ' } else { ':' });
        if opts.netid_column {
            table.cell_str(s.netid.ss_name());
        }
        if opts.state_column {
            table.cell_str(s.state.ss_name());
        }
        table.cell(|a| {
            let _ = write!(a, "{}", s.recv_q);
        });
        table.cell(|a| match s.send_q {
            Some(q) => {
                let _ = write!(a, "{q}");
            }
            None => a.push('-'),
        });
        for (ep, local) in [(&s.local, true), (&s.peer, false)] {
            addr.clear();
            port.clear();
            namer.endpoint(s, ep, local, &mut addr, &mut port);
            table.cell_str(&addr);
            table.cell_str(&port);
        }
        extra.clear();
        if opts.processes {
            names::owners(snap.owners_of(s), &mut extra);
        }
        details::same_line(s, &opts.details, &mut extra);
        second.clear();
        details::second_line(s, &opts.details, &mut second);
        table.cell(|cell| {
            cell.push_str(extra.trim_start());
            if !second.is_empty() {
                // ss puts memory and tcp_info on an indented second line, unless -O.
                cell.push_str(if opts.oneline { " " } else { "\n\t" });
                cell.push_str(second.trim_start());
            }
        });
    }
    let trailing = opts.processes.then_some("Process");
    table.write(out, opts.header, trailing, opts.max_width)
}
