//! `sockscope fds`: per-process fd tables (lsof -p, ls -l /proc/PID/fd), with peers and limits.

use crate::args::FdsArgs;
use crate::render::fds as render;
use crate::usage::usage;
use sockscope_core::fdselect::{FdSelect, InetSpec};
use sockscope_core::fdview::ReadOptions;
use sockscope_core::fdview::{FdView, FdViewError, FdViewOptions, Which};
use sockscope_core::names::Services;
use std::io::Write;

/// `origin`: the host (or capture's look) to answer from.
pub fn run(args: &FdsArgs, origin: &crate::from::Origin, out: &mut impl Write) -> anyhow::Result<bool> {
    let host = &*origin.host;
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
        read: ReadOptions {
            fdinfo: true,
            specials: !args.no_specials && args.top.is_none(),
            skip_socket_fdinfo: false,
        },
        peers: args.peers || args.json,
    };
    let hidepid = host.hidepid();
    let mut view = match FdView::collect(host, &which, &opts) {
        Ok(v) => v,
        Err(FdViewError::NoSuchPid(pid)) if hidepid.is_some() => {
            return Err(usage(anyhow::anyhow!(
                "no process with pid {pid} is visible: /proc is mounted with hidepid={}, which hides other users' processes (run as root)",
                hidepid.as_deref().unwrap_or_default()
            )));
        }
        // A process that does not exist is a wrong command line, by pid or by name.
        Err(e @ (FdViewError::NoSuchPid(_) | FdViewError::NoSuchName(_))) => return Err(usage(e)),
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read fd tables")),
    };
    for w in &view.warnings {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    // Apply the lsof-style selection; processes left with no fds drop out unless named.
    let named = !which.pids.is_empty() || !which.names.is_empty();
    for p in &mut view.processes {
        let keep: Vec<bool> = p.fds.iter().map(|row| select.matches(p, &row)).collect();
        p.fds.keep(&keep);
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
        for note in view.read_sockopts(host) {
            crate::stderr_line!("sockscope: note: {note}");
        }
    }
    if args.terse {
        for p in &view.processes {
            writeln!(out, "{}", p.pid)?;
        }
    } else if let Some(n) = args.top {
        render::top(out, &view, n, args.json, origin.capture.as_ref())?;
    } else if args.json {
        render::json(out, &view, origin.capture.as_ref())?;
    } else {
        // The limits and the system's file handles speak of processes, not of a selection of
        // their fds (-i, -U, -p, -c): they come with a whole process's table only.
        render::table(out, &view, args.peers, !args.no_header, !selecting)?;
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
