//! `sockscope [FLAGS] [FILTER]`: the socket table (ss, netstat -tanp), and the actions that
//! act on the same selection: -K (kill), -s and --summary-by (counts).

use super::{kill, summary};
use crate::args::{KernelFilterArg, ListArgs, SourceArg};
use crate::filter_args;
use crate::render::details::DetailFlags;
use crate::render::{json, names::Namer, sockets};
use anyhow::{Context, bail};
use sockscope_core::filter;
use sockscope_core::names::{Interfaces, Services};
use sockscope_core::netlink::request::Extensions;
use sockscope_core::{KernelFilter, Snapshot, SnapshotOptions, Socket, Source};
use std::io::Write;

pub fn run(args: &ListArgs, out: &mut impl Write, terminal_width: Option<usize>) -> anyhow::Result<bool> {
    if args.summary {
        return summary::totals(args, out);
    }
    let services = Services::load();
    let mut f = filter_args::build(args, &services)?;
    if args.kill && f.is_empty() {
        bail!(
            "-K destroys every socket the filter selects, so it needs a filter (for example: sockscope -K dport = :8080); try --dry-run first"
        );
    }
    let mut selection = crate::selection::from_args(args).map_err(anyhow::Error::msg)?;
    selection.states = filter_args::states(&f, selection.states);
    if let Some(e) = &mut f.expr {
        let cgroup_root = sockscope_core::procfs::cgroup2_root().unwrap_or_else(|| "/sys/fs/cgroup".into());
        filter::resolve(e, &mut Interfaces::new(), &cgroup_root)?;
    }
    let mut opts = SnapshotOptions::new(selection);
    opts.source = match args.source {
        SourceArg::Auto => Source::Auto,
        SourceArg::Netlink => Source::Netlink,
        SourceArg::Proc => Source::Proc,
    };
    opts.kernel_filter = match args.kernel_filter {
        KernelFilterArg::Auto => KernelFilter::Auto,
        KernelFilterArg::Off => KernelFilter::Off,
        KernelFilterArg::Only => KernelFilter::Only,
    };
    let structured = args.json || args.jsonl;
    let processes = args.processes || args.threads;
    opts.owners = processes || structured || matches!(args.summary_by, Some(summary::GroupKey::Process));
    opts.threads = args.threads;
    opts.extensions = Extensions { memory: args.memory, tcp_info: args.info, tos: args.tos, vitals: false };
    opts.filter = f.expr.clone();
    let snap = Snapshot::collect(&opts).context("cannot read sockets")?;
    for w in snap.fallbacks.iter().chain(&snap.warnings) {
        crate::stderr_line!("sockscope: warning: {w}");
    }

    let mut rows: Vec<&Socket> = snap.sockets.iter().collect();
    // Table by table, in the order ss lists them; within a table, the kernel's order.
    rows.sort_by_key(|s| s.netid);
    if let Some(key) = args.summary_by {
        return summary::groups(&snap, key, args.json, out).map(|()| true);
    }
    if args.kill {
        // Whatever path the filter took (kernel, user space, a refused or partial program),
        // -K destroys only sockets the filter certainly selects.
        let rows = kill::certainly_selected(&snap, rows, f.expr.as_ref(), &opts);
        return kill::run(&snap, &rows, args, out, |out, rows| {
            write_sockets(out, &snap, rows, args, &services, &selection, terminal_width)
        });
    }
    write_sockets(out, &snap, &rows, args, &services, &selection, terminal_width)?;
    out.flush()?;
    if processes && !structured {
        note_unknown_owners(&snap);
    }
    Ok(true)
}

/// The sockets as a table, a JSON document or JSON lines.
fn write_sockets(
    out: &mut dyn Write,
    snap: &Snapshot,
    rows: &[&Socket],
    args: &ListArgs,
    services: &Services,
    selection: &sockscope_core::Selection,
    terminal_width: Option<usize>,
) -> anyhow::Result<()> {
    let mut out = out;
    let mut namer = Namer::new(args.numeric, args.resolve, services.clone());
    let cgroups = args.cgroup.then(|| {
        let root = sockscope_core::procfs::cgroup2_root().unwrap_or_else(|| "/sys/fs/cgroup".into());
        sockscope_core::names::cgroup_paths(&root)
    });
    if args.json {
        json::document(&mut out, snap, rows, &mut namer, cgroups.as_ref())?;
    } else if args.jsonl {
        json::lines(&mut out, snap, rows, &mut namer, cgroups.as_ref())?;
    } else {
        let table = sockets::TableOptions {
            // As ss: a Netid column only when several tables are shown, a State column only
            // when several states can be.
            netid_column: selection.table_count() > 1,
            state_column: selection.states.0.count_ones() > 1,
            header: !args.no_header,
            processes: args.processes || args.threads,
            details: DetailFlags {
                timers: args.options,
                extended: args.extended,
                memory: args.memory,
                info: args.info,
                tos: args.tos,
                cgroups,
            },
            oneline: args.oneline,
            max_width: if args.oneline { None } else { terminal_width },
        };
        sockets::write(&mut out, snap, rows, &mut namer, &table)?;
    }
    Ok(())
}

/// Never a silent gap: say how many processes' fds could not be read, and why.
fn note_unknown_owners(snap: &Snapshot) {
    let Some(idx) = &snap.owners else { return };
    let Some(note) = idx.report.gap_note() else { return };
    let unowned = snap.sockets.iter().filter(|s| s.inode != 0 && !idx.has_owner(s.inode)).count();
    crate::stderr_line!(
        "sockscope: note: {note}; {unowned} socket{} no known owner",
        if unowned == 1 { " has" } else { "s have" },
    );
}
