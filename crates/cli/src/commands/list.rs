//! `sockscope [FLAGS] [FILTER]`: the socket table (ss, netstat -tanp), and the actions that
//! act on the same selection: -K (kill), -s and --summary-by (counts).

use super::kill;
use crate::plan::{Action, ListPlan};
use crate::render::Format;
use crate::render::{names::Namer, sockets, sockets_json, summary};
use anyhow::Context;
use sockscope_core::outfile::Existing;
use sockscope_core::summary::{Totals, group, listening_ports};
use sockscope_core::{Snapshot, Socket};
use std::io::Write;
use std::path::Path;

/// `file_mode`: of the `-D` file.
pub fn run(
    plan: &ListPlan,
    file_mode: u32,
    out: &mut impl Write,
    terminal_width: Option<usize>,
) -> anyhow::Result<bool> {
    if let Some(name) = &plan.netns {
        sockscope_core::host::enter_named_netns(name).map_err(|e| match e {
            sockscope_core::host::NetnsError::NoSuch { .. } => crate::usage::usage(e),
            other => anyhow::Error::new(other),
        })?;
    }
    if plan.show_bytecode {
        write_bytecode(out, plan)?;
    }
    if plan.action == Action::Totals {
        let (totals, warnings) = Totals::collect(&*plan.host, plan.collect.source).context("cannot read sockets")?;
        for w in &warnings {
            crate::stderr_line!("sockscope: warning: {w}");
        }
        summary::totals(&totals, &warnings, plan.capture.as_ref(), plan.output.format, out)?;
        return Ok(true);
    }
    if plan.action == Action::DumpTcp {
        return dump_tcp(plan, file_mode, out);
    }
    if plan.action == Action::Destroyed {
        return super::destroyed::follow(plan, out, |out, rows, header| {
            let snap = Snapshot::default();
            write_sockets(out, &snap, rows, plan, terminal_width, header)
        });
    }
    if plan.action == Action::List
        && let Some(done) = stream_sockets(plan, out, terminal_width)?
    {
        return Ok(done);
    }
    let snap = plan.host.snapshot(&plan.collect).context("cannot read sockets")?;
    note_fallbacks(&snap, &plan.output);
    for w in &snap.warnings {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    let mut rows: Vec<&Socket> = snap.sockets.iter().collect();
    // Table by table, in the order ss lists them; within a table, the kernel's order.
    rows.sort_by_key(|s| s.netid);
    match plan.action {
        // Counted from the kernel's counters before any listing (above).
        Action::Totals => Ok(true),
        Action::Groups(by) => {
            let listening = listening_ports_for(&snap, plan);
            let groups = group(&snap, by, &listening);
            let counted = summary::Counted { socket_count: snap.sockets.len(), warnings: &snap.warnings };
            summary::groups(&groups, by, counted, plan.capture.as_ref(), plan.output.format, out)?;
            Ok(true)
        }
        // Written before any collection (above).
        Action::DumpTcp => Ok(true),
        Action::Kill { dry_run } => {
            // Whatever path the filter took (kernel, user space, a refused or partial
            // program), -K destroys only sockets the filter certainly selects.
            let rows = kill::certainly_selected(&snap, rows, plan.filter(), &plan.collect);
            kill::run(&rows, dry_run, out, |out, rows| write_sockets(out, &snap, rows, plan, terminal_width, true))
        }
        // Followed before any collection (above).
        Action::Destroyed => Ok(true),
        Action::List => {
            write_sockets(out, &snap, &rows, plan, terminal_width, true)?;
            out.flush()?;
            if plan.output.processes && plan.output.format == Format::Table {
                note_unknown_owners(&snap);
            }
            Ok(true)
        }
    }
}

/// The table written as the kernel's dump yields the sockets, none kept: when nothing
/// printed needs another socket (no owners, options or namespaces; the inet tables, whose
/// rows stand alone). JSON always names owners, so it is taken whole. None when the listing
/// must be taken whole.
fn stream_sockets(
    plan: &ListPlan,
    out: &mut impl Write,
    terminal_width: Option<usize>,
) -> anyhow::Result<Option<bool>> {
    let o = &plan.output;
    if o.format != Format::Table || o.sockopts || !sockscope_core::stream::can_stream(&plan.collect) {
        return Ok(None);
    }
    let mut namer = namer_for(plan);
    let cgroups = o.cgroups.then(|| plan.host.cgroup_paths());
    let table = table_options(plan, cgroups, None, terminal_width, true);
    let mut batches = sockets::Batches::new(&table, &mut namer);
    // The first write error stops the writing (the dump then ends unread); it is returned.
    let mut failed: Option<std::io::Error> = None;
    let notes = plan.host.stream(&plan.collect, &mut |s| {
        if failed.is_none()
            && let Err(e) = batches.push(s, out)
        {
            failed = Some(e);
        }
    });
    let Some(snap) = notes.context("cannot read sockets")? else { return Ok(None) };
    if let Some(e) = failed {
        return Err(e.into());
    }
    batches.flush(out)?;
    note_fallbacks(&snap, o);
    for w in &snap.warnings {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    Ok(Some(true))
}

/// -D FILE: the TCP sockets the filter selects, as ss -D writes them; nothing on the terminal.
fn dump_tcp(plan: &ListPlan, file_mode: u32, out: &mut impl Write) -> anyhow::Result<bool> {
    let to = plan.dump_to.as_deref().unwrap_or("-");
    let mut file;
    let sink: &mut dyn Write = if to == "-" {
        out
    } else {
        let created = sockscope_core::outfile::create(Path::new(to), Existing::Replace, file_mode)
            .map_err(|e| crate::usage::usage(anyhow::anyhow!("-D {e}")))?;
        file = std::io::BufWriter::new(created);
        &mut file
    };
    sockscope_core::write_tcp_dump(&plan.collect, sink).context("-D: cannot dump the TCP sockets")?;
    Ok(true)
}

/// What listens here, to key connections by their service port: from the snapshot when it
/// holds the listeners, else from a look at the listeners alone (without -a the listing has
/// only connections, and a server with 10k clients must be one row, not 10k).
fn listening_ports_for(snap: &Snapshot, plan: &ListPlan) -> std::collections::HashSet<(sockscope_core::Netid, u16)> {
    let states = plan.collect.selection.states;
    if states.contains(sockscope_core::SockState::Listen) && states.contains(sockscope_core::SockState::Close) {
        return listening_ports(&snap.sockets);
    }
    let mut opts = sockscope_core::SnapshotOptions::new(sockscope_core::Selection::resolve(
        &[sockscope_core::Netid::Tcp, sockscope_core::Netid::Udp],
        &[],
        sockscope_core::model::StateSet::listening(),
    ));
    opts.source = plan.collect.source;
    match plan.host.snapshot(&opts) {
        Ok(listeners) => listening_ports(&listeners.sockets),
        Err(_) => listening_ports(&snap.sockets),
    }
}

/// -b: the inet_diag program the filter compiles to, one instruction per line, or why there
/// is none.
fn write_bytecode(out: &mut impl Write, plan: &ListPlan) -> anyhow::Result<()> {
    use sockscope_core::filter::bytecode::{self, Compiled};
    let Some(expr) = plan.filter() else {
        writeln!(out, "bytecode: none (no filter)")?;
        return Ok(());
    };
    match bytecode::compile(expr) {
        Compiled::Program(code) => {
            writeln!(out, "bytecode: {} bytes", code.len())?;
            for line in bytecode::disassemble(&code) {
                writeln!(out, "  {line}")?;
            }
        }
        Compiled::NoForm => {
            writeln!(out, "bytecode: none (the filter names Unix paths, states or owners: user space only)")?
        }
        Compiled::TooLong => {
            writeln!(out, "bytecode: none (longer than {} bytes: user space only)", bytecode::MAX_LEN)?
        }
    }
    Ok(())
}

/// The sockets as a table, a JSON document or JSON lines.
/// `header`: whether a table starts with its header (unless -H).
fn write_sockets(
    out: &mut dyn Write,
    snap: &Snapshot,
    rows: &[&Socket],
    plan: &ListPlan,
    terminal_width: Option<usize>,
    header: bool,
) -> anyhow::Result<()> {
    let mut out = out;
    let o = &plan.output;
    let mut namer = namer_for(plan);
    let cgroups = o.cgroups.then(|| plan.host.cgroup_paths());
    let sockopts = o.sockopts.then(|| {
        let report = plan.host.socket_options(snap, rows, false);
        for note in report.notes() {
            crate::stderr_line!("sockscope: note: {note}");
        }
        std::sync::Arc::new(report)
    });
    match o.format {
        Format::Json | Format::JsonLines => {
            let extras = sockets_json::Extras {
                cgroups: cgroups.as_ref(),
                sockopts: sockopts.as_deref(),
                inet_sockopt: o.details.inet_sockopt,
            };
            let lines = o.format == Format::JsonLines;
            sockets_json::write(&mut out, snap, rows, &mut namer, extras, plan.capture.as_ref(), lines)?;
        }
        Format::Table => {
            let table = table_options(plan, cgroups, sockopts, terminal_width, header);
            sockets::write(&mut out, snap, rows, &mut namer, &table)?;
        }
    }
    Ok(())
}

/// The names the listing prints: services (not for ephemeral ports, as ss), interfaces of
/// the namespaces read.
fn namer_for(plan: &ListPlan) -> Namer {
    let o = &plan.output;
    let mut namer = Namer::new(o.numeric, o.resolve, plan.services.clone());
    namer.interfaces.read_in(&plan.host, &plan.collect.namespaces);
    namer.skip_ephemeral(&*plan.host);
    namer
}

/// How the table is drawn. `header`: whether it starts with its header (unless -H).
fn table_options(
    plan: &ListPlan,
    cgroups: Option<std::collections::HashMap<u64, String>>,
    sockopts: Option<std::sync::Arc<sockscope_core::sockopts::Report>>,
    terminal_width: Option<usize>,
    header: bool,
) -> sockets::TableOptions {
    let o = &plan.output;
    sockets::TableOptions {
        netid_column: o.netid_column,
        state_column: o.state_column,
        header: o.header && header,
        processes: o.processes,
        contexts: o.contexts,
        details: crate::render::details::DetailFlags { cgroups, sockopts, ..o.details.clone() },
        oneline: o.oneline,
        max_width: if o.oneline { None } else { terminal_width },
        colour: o.colour,
    }
}

/// Reading a table from /proc/net is normal (raw sockets on most kernels): it is said only
/// with --verbose, or when it loses what was asked for — details of raw sockets (/proc/net has
/// no memory, tcp_info, TOS or cookies), and for any other table what the plain listing shows
/// (listener backlogs, Unix peers).
fn note_fallbacks(snap: &Snapshot, o: &crate::plan::Output) {
    let details = o.details.extended || o.details.memory || o.details.info || o.details.tos;
    let visible = snap.fallback_tables.iter().any(|t| *t != sockscope_core::Netid::Raw);
    if !(o.verbose || details || visible) {
        return;
    }
    let lost = if details || visible {
        "; those sockets have no cookie, memory, tcp_info, TOS, listener backlog or Unix peer"
    } else {
        ""
    };
    for w in &snap.fallbacks {
        crate::stderr_line!("sockscope: note: {w}{lost}");
    }
}

/// Never a silent gap: when some socket shows no owner, say how many processes' fds could
/// not be read, and why. When every socket has its owner, the unreadable processes changed
/// nothing, and are not mentioned.
fn note_unknown_owners(snap: &Snapshot) {
    let Some(idx) = &snap.owners else { return };
    let Some(note) = idx.report.gap_note() else { return };
    let unowned = snap.sockets.iter().filter(|s| s.inode != 0 && !idx.has_owner(s.inode)).count();
    if unowned == 0 {
        return;
    }
    crate::stderr_line!(
        "sockscope: note: {note}; {} no known owner",
        crate::render::counted(unowned, "socket has", "sockets have"),
    );
}
