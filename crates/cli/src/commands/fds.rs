//! `sockscope fds`: per-process fd tables (lsof -p, ls -l /proc/PID/fd), with peers and limits.

use crate::args::FdsArgs;
use crate::render::fds as render;
use crate::usage::usage;
use sockscope_core::capture::Frame;
use sockscope_core::fdselect::{FdSelect, InetSpec};
use sockscope_core::fdview::ReadOptions;
use sockscope_core::fdview::{FdView, FdViewError, FdViewOptions, Which};
use sockscope_core::names::Services;
use std::io::Write;
use std::sync::Arc;

/// `capture`: the look of a capture to answer from (`--from`).
pub fn run(args: &FdsArgs, capture: Option<Arc<Frame>>, out: &mut impl Write) -> anyhow::Result<bool> {
    let services = Services::load();
    let mut select = FdSelect { unix: args.unix, and: args.and, ..FdSelect::default() };
    if !args.inet.is_empty() {
        let specs: Vec<InetSpec> = args
            .inet
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| InetSpec::parse(s, &services))
            .collect::<Result<_, _>>()
            .map_err(usage)?;
        select.inet = Some(specs);
    }
    for p in &args.pids {
        select.add_pids(p).map_err(usage)?;
    }
    for c in &args.commands {
        select.add_command(c);
    }
    let mut which = Which::default();
    for t in &args.targets {
        match t.parse::<u32>() {
            Ok(pid) => which.pids.push(pid),
            Err(_) => which.names.push(t.clone()),
        }
    }
    let opts = FdViewOptions {
        proc_root: "/proc".into(),
        read: ReadOptions {
            fdinfo: true,
            specials: !args.no_specials && args.top.is_none(),
            skip_socket_fdinfo: false,
        },
        peers: args.peers || args.json,
        capture: capture.clone(),
    };
    let hidepid = match &capture {
        Some(frame) => frame.hidepid.as_deref().map(|h| sockscope_core::text::escape(h).into_owned()),
        None => sockscope_core::host::hidepid(&opts.proc_root),
    };
    let mut view = match FdView::collect(&which, &opts) {
        Ok(v) => v,
        Err(FdViewError::NoSuchPid(pid)) if hidepid.is_some() => {
            return Err(usage(anyhow::anyhow!(
                "no process with pid {pid} is visible: /proc is mounted with hidepid={}, which hides other users' processes (run as root)",
                hidepid.as_deref().unwrap_or_default()
            )));
        }
        Err(e @ FdViewError::NoSuchPid(_)) => return Err(usage(e)),
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read fd tables")),
    };
    for w in &view.warnings {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    // Apply the lsof-style selection; processes left with no fds drop out unless named.
    let named = !which.pids.is_empty() || !which.names.is_empty();
    for p in &mut view.processes {
        let keep: Vec<bool> = p.fds.iter().map(|row| select.matches(p, row)).collect();
        let mut k = keep.iter();
        p.fds.retain(|_| *k.next().unwrap_or(&false));
    }
    let selecting = select.inet.is_some() || select.unix || !select.pids.is_empty() || !select.commands.is_empty();
    view.processes
        .retain(|p| !select.excludes_process(p.pid, &p.command) && (!p.fds.is_empty() || (named && !selecting)));

    // `fds 1` as a user who may not read pid 1: nothing asked for could be read.
    if (!which.pids.is_empty() || !which.names.is_empty()) && view.processes.is_empty() && !view.unreadable.is_empty() {
        let first = &view.unreadable[0];
        anyhow::bail!("cannot read the fds of pid {}: {}", first.pid, first.reason);
    }
    if (args.sockopts || args.json) && args.top.is_none() {
        let notes = match &capture {
            Some(frame) => recorded_sockopts(&mut view, frame),
            None => read_sockopts(&mut view, &opts.proc_root),
        };
        for note in notes {
            crate::stderr_line!("sockscope: note: {note}");
        }
    }
    if let Some(n) = args.top {
        render::top(out, &view, n, args.json)?;
    } else if args.json {
        render::json(out, &view)?;
    } else {
        render::table(out, &view, args.peers, !args.no_header)?;
    }
    out.flush()?;
    if let Some(h) = hidepid.as_deref().filter(|_| !args.json) {
        crate::stderr_line!(
            "sockscope: note: /proc is mounted with hidepid={h}: other users' processes are hidden and not listed (run as root to see them)"
        );
    }
    if !view.unreadable.is_empty() && !args.json {
        let first = &view.unreadable[0];
        crate::stderr_line!(
            "sockscope: note: {} process{} could not be read ({}), e.g. pid {}",
            view.unreadable.len(),
            if view.unreadable.len() == 1 { "" } else { "es" },
            first.reason,
            first.pid
        );
    }
    Ok(true)
}

/// Reads the options of every socket fd shown; returns the notes on those it could not read.
/// Processes are split over the cores: each socket costs some twenty system calls.
fn read_sockopts(view: &mut FdView, proc_root: &std::path::Path) -> Vec<String> {
    use sockscope_core::sockopts::Report;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = view.processes.len().div_ceil(threads).max(1);
    let parts: Vec<Option<Report>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            view.processes.chunks_mut(chunk).map(|part| scope.spawn(move || read_some(part, proc_root))).collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut unread = Report::default();
    let mut notes = Vec::new();
    for part in parts {
        match part {
            Some(part) => unread.merge(part),
            // A reading thread does not panic; if one did, say what is missing.
            None => notes.push("a thread reading socket options failed: some socket fds show none".to_string()),
        }
    }
    notes.extend(unread.notes());
    notes
}

/// The options a capture recorded for each socket fd shown; the notes on those it has none for.
fn recorded_sockopts(view: &mut FdView, frame: &Frame) -> Vec<String> {
    use sockscope_core::model::FdKind;
    use sockscope_core::sockopts::{Report, SockOpts};
    let mut unread = Report::default();
    for p in &mut view.processes {
        for row in &mut p.fds {
            let (FdKind::Socket, Some(inode)) = (&row.entry.kind, row.entry.inode) else { continue };
            row.sockopts = Some(match frame.options.recorded(inode) {
                Ok(o) => o.clone(),
                Err(why) => {
                    unread.tally(why, p.pid, p.command.to_string());
                    SockOpts::default()
                }
            });
        }
    }
    unread.notes()
}

fn read_some(
    processes: &mut [sockscope_core::fdview::ProcessFds],
    proc_root: &std::path::Path,
) -> sockscope_core::sockopts::Report {
    use sockscope_core::model::{FdKind, FdName};
    use sockscope_core::sockopts::{Kind, Reader, Report, SockOpts};
    let mut reader = Reader::new(proc_root);
    let mut unread = Report::default();
    for p in processes {
        for row in &mut p.fds {
            let FdName::Number(fd) = row.entry.fd else { continue };
            if row.entry.kind != FdKind::Socket {
                continue;
            }
            let kind = match &row.socket {
                Some(s) => Kind::of(s),
                None => Kind::from_protocol(row.protocol.as_deref().unwrap_or("")),
            };
            row.sockopts = Some(match reader.read(p.pid, fd, kind) {
                Ok(o) => o,
                Err(why) => {
                    unread.tally(why, p.pid, p.command.to_string());
                    SockOpts::default()
                }
            });
        }
    }
    unread
}
