//! The socket table, ss's columns: Netid, State, Recv-Q, Send-Q, Local Address:Port,
//! Peer Address:Port, then owners (-p) and details (-e).

use super::details::{self, DetailFlags};
use super::digits::push_u64;
use super::names::{self, Namer};
use super::table::{Align, Column, Table};
use sockscope_core::text::Colour;
use sockscope_core::{Endpoint, Snapshot, Socket};
use std::io::{self, Write};

pub struct TableOptions {
    pub netid_column: bool,
    pub state_column: bool,
    pub header: bool,
    pub processes: bool,
    /// SELinux contexts in the owners column: none, the process's (-Z), and the socket's (-z).
    pub contexts: super::Contexts,
    pub details: DetailFlags,
    /// Second-line details (-m, -i) stay on the socket's line.
    pub oneline: bool,
    /// Terminal width, when writing to a terminal and not asked for one line per socket.
    pub max_width: Option<usize>,
    /// Colour the states (`--color`).
    pub colour: bool,
}

/// Rows per thread below which filling the table on one thread is cheaper.
const ROWS_PER_THREAD: usize = 8192;

/// Rows formatted before they are written: the formatted text of a million rows (about
/// 130 MB) is never held at once. Columns widen, never narrow, from one piece to the next.
const ROWS_PER_PIECE: usize = 65_536;

pub fn write(
    out: &mut impl Write,
    snap: &Snapshot,
    sockets: &[&Socket],
    namer: &mut Namer,
    opts: &TableOptions,
) -> io::Result<()> {
    let trailing = opts.processes.then_some("Process");
    let mut widths = Vec::new();
    let mut header = opts.header;
    let mut pieces = sockets.chunks(ROWS_PER_PIECE).peekable();
    if pieces.peek().is_none() {
        // No rows: the header alone.
        let parts = [fill(snap, &[], namer, opts)];
        return Table::write_parts_after(&parts, out, &mut widths, header, trailing, opts.max_width);
    }
    for piece in pieces {
        let parts = fill_parallel(snap, piece, namer, opts)?;
        Table::write_parts_after(&parts, out, &mut widths, header, trailing, opts.max_width)?;
        header = false;
    }
    Ok(())
}

/// These rows' tables: formatting many rows is a sizeable serial tail after the collection,
/// so they are split over the cores; each part gets its own table and namer, in order.
fn fill_parallel(
    snap: &Snapshot,
    sockets: &[&Socket],
    namer: &mut Namer,
    opts: &TableOptions,
) -> io::Result<Vec<Table>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(sockets.len() / ROWS_PER_THREAD);
    if threads <= 1 {
        return Ok(vec![fill(snap, sockets, namer, opts)]);
    }
    let part_len = sockets.len().div_ceil(threads);
    let mut chunks = sockets.chunks(part_len);
    let first = chunks.next().unwrap_or_default();
    std::thread::scope(|sc| {
        let helpers: Vec<_> = chunks
            .map(|chunk| {
                let mut namer = namer.fork();
                sc.spawn(move || fill(snap, chunk, &mut namer, opts))
            })
            .collect();
        let mut parts = vec![fill(snap, first, namer, opts)];
        for h in helpers {
            parts.push(h.join().map_err(|_| io::Error::other("formatting the table failed"))?);
        }
        Ok(parts)
    })
}

/// The table written as the sockets arrive, a batch of rows at a time (`write` when they
/// are all at hand): memory for one batch, whatever the number of sockets.
pub struct Batches<'a> {
    opts: &'a TableOptions,
    namer: &'a mut Namer,
    pending: Vec<Socket>,
    widths: Vec<usize>,
    header: bool,
    empty: Snapshot,
}

/// Rows per batch: enough that the widths settle early, few enough to hold (about 1.5 MB).
const BATCH_ROWS: usize = 16_384;

impl<'a> Batches<'a> {
    pub fn new(opts: &'a TableOptions, namer: &'a mut Namer) -> Batches<'a> {
        Batches {
            opts,
            namer,
            pending: Vec::new(),
            widths: Vec::new(),
            header: opts.header,
            empty: Snapshot::default(),
        }
    }

    pub fn push(&mut self, s: Socket, out: &mut dyn Write) -> io::Result<()> {
        self.pending.push(s);
        if self.pending.len() >= BATCH_ROWS { self.flush(out) } else { Ok(()) }
    }

    /// Writes what is pending; at the end, the header even with no rows (as `write` does).
    pub fn flush(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.pending.is_empty() && !self.header {
            return Ok(());
        }
        let rows: Vec<&Socket> = self.pending.iter().collect();
        let mut table = fill(&self.empty, &rows, self.namer, self.opts);
        let trailing = self.opts.processes.then_some("Process");
        table.write_batch(out, &mut self.widths, self.header, trailing, self.opts.max_width)?;
        self.header = false;
        self.pending.clear();
        Ok(())
    }
}

/// With sockets of more than one network namespace, a first column names each one's
/// (escaped: names and pod names come from the file system).
fn netns_labels(snap: &Snapshot) -> Option<std::collections::HashMap<u64, String>> {
    (snap.namespaces.len() > 1).then(|| {
        snap.namespaces.iter().map(|n| (n.inode, sockscope_core::text::Untrusted(&n.label()).to_string())).collect()
    })
}

fn columns(opts: &TableOptions, netns: bool) -> Vec<Column> {
    let mut columns = Vec::with_capacity(7);
    if netns {
        columns.push(Column { heading: "Netns", align: Align::Left, split: None });
    }
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
    columns
}

/// Colours that help scanning a long listing: listeners green, connections cyan, CLOSE-WAIT
/// (a process not closing what its peer closed) yellow, TIME-WAIT dim.
fn state_colour(state: &str) -> Option<Colour> {
    match state {
        "LISTEN" => Some(Colour::Green),
        "ESTAB" => Some(Colour::Cyan),
        "CLOSE-WAIT" => Some(Colour::Yellow),
        "TIME-WAIT" => Some(Colour::Dim),
        _ => None,
    }
}

/// One table holding these sockets' rows.
fn fill(snap: &Snapshot, sockets: &[&Socket], namer: &mut Namer, opts: &TableOptions) -> Table {
    let netns = netns_labels(snap);
    let mut table = Table::new(columns(opts, netns.is_some()));
    if opts.colour && opts.state_column {
        table.paint(usize::from(opts.netid_column) + usize::from(netns.is_some()), state_colour);
    }
    table.reserve(sockets.len());
    let mut addr = String::new();
    let mut port = String::new();
    let mut extra = String::new();
    let mut second = String::new();
    for s in sockets {
        table.row_separator(if matches!(s.local, Endpoint::Unix { .. }) { ' ' } else { ':' });
        if let Some(labels) = &netns {
            let label = s.netns.and_then(|n| labels.get(&n.get()));
            table.cell_str(label.map_or("-", String::as_str));
        }
        if opts.netid_column {
            table.cell_str(s.netid.ss_name());
        }
        if opts.state_column {
            table.cell_str(s.state.ss_name());
        }
        table.cell(|a| push_u64(a, s.recv_q.into()));
        table.cell(|a| match s.send_q {
            // ss reads the kernel's queue as a C int: a destroyed UDP socket's is -1.
            Some(q) if q > i32::MAX as u32 => a.push_str(&(q as i32).to_string()),
            Some(q) => push_u64(a, q.into()),
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
            let contexts = match opts.contexts {
                super::Contexts::None => None,
                super::Contexts::Process => Some((&mut namer.contexts, false)),
                super::Contexts::ProcessAndSocket => Some((&mut namer.contexts, true)),
            };
            names::owners(snap.owners_of(s), contexts, &mut extra);
        }
        details::same_line(s, &opts.details, &mut extra);
        second.clear();
        details::second_line(s, &opts.details, &mut second);
        let sockopts = details::inet_sockopt(s, &opts.details);
        table.cell(|cell| {
            cell.push_str(extra.trim_start());
            // ss puts the kernel's inet options on a line of their own, unless -O.
            if let Some(text) = &sockopts {
                cell.push_str(if opts.oneline { " " } else { "\n\t" });
                cell.push_str(text);
            }
            if !second.is_empty() {
                // ss puts memory and tcp_info on an indented second line, unless -O.
                cell.push_str(if opts.oneline { " " } else { "\n\t" });
                cell.push_str(second.trim_start());
            }
        });
    }
    table
}
