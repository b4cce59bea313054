//! `sockscope [FLAGS]`: the socket table (ss, netstat -tanp).

use crate::args::{ListArgs, SourceArg};
use crate::render::{json, names::Namer, sockets};
use anyhow::{Context, bail};
use sockscope_core::{Snapshot, SnapshotOptions, Socket, Source};
use std::io::Write;

pub fn run(args: &ListArgs, out: &mut impl Write, terminal_width: Option<usize>) -> anyhow::Result<()> {
    if let Some(first) = args.filter.first() {
        bail!("filter expressions are not supported yet (got '{first}'); select with -t -u -x -l -a -4 -6 -A -f");
    }
    let selection = crate::selection::from_args(args).map_err(anyhow::Error::msg)?;
    let mut opts = SnapshotOptions::new(selection);
    opts.source = match args.source {
        SourceArg::Auto => Source::Auto,
        SourceArg::Netlink => Source::Netlink,
        SourceArg::Proc => Source::Proc,
    };
    let structured = args.json || args.jsonl;
    opts.owners = args.processes || structured;
    let snap = Snapshot::collect(&opts).context("cannot read sockets")?;
    for w in &snap.warnings {
        eprintln!("sockscope: warning: {w}");
    }

    let mut rows: Vec<&Socket> = snap.sockets.iter().collect();
    // ss's order: table by table (its dump order), which we keep, sorting within nothing else.
    rows.sort_by_key(|s| s.netid);
    let mut namer = Namer::new(args.numeric, args.resolve);
    if args.json {
        json::document(out, &snap, &rows, &mut namer)?;
    } else if args.jsonl {
        json::lines(out, &snap, &rows, &mut namer)?;
    } else {
        let table = sockets::TableOptions {
            netid_column: selection.table_count() > 1,
            header: !args.no_header,
            processes: args.processes,
            extended: args.extended,
            max_width: if args.oneline { None } else { terminal_width },
        };
        sockets::write(out, &snap, &rows, &mut namer, &table)?;
    }
    out.flush()?;
    if args.processes && !structured {
        note_unknown_owners(&snap);
    }
    Ok(())
}

/// Never a silent gap: say how many processes' fds could not be read, and why.
fn note_unknown_owners(snap: &Snapshot) {
    let Some(idx) = &snap.owners else { return };
    let r = &idx.report;
    if r.processes_unreadable > 0 {
        let unowned = snap.sockets.iter().filter(|s| s.inode != 0 && !idx.has_owner(s.inode)).count();
        eprintln!(
            "sockscope: note: {} process{} could not be read ({}); {} socket{} no known owner",
            r.processes_unreadable,
            if r.processes_unreadable == 1 { "" } else { "es" },
            r.unreadable_reason.as_deref().unwrap_or("unknown reason"),
            unowned,
            if unowned == 1 { " has" } else { "s have" },
        );
    }
}
