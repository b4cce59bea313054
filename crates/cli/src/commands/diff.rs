//! `sockscope diff A B`: what changed between two captures, and what the growth rules say.

use crate::args::DiffArgs;
use crate::render::envelope::{Envelope, Kind};
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::capture::{Capture, Keep, Limit};
use sockscope_core::diagnose::diff::{Diff, diff};
use sockscope_core::diagnose::{Severity, Thresholds};
use sockscope_core::hosts::CaptureHost;
use sockscope_core::text::Untrusted;
use std::io::Write;
use std::sync::Arc;

/// Exit status: 0 when no growth rule flags anything, 1 when one does.
/// Only A's first look and B's last are kept as the captures are read.
pub fn run(args: &DiffArgs, limit: Limit, out: &mut impl Write) -> anyhow::Result<u8> {
    let mut a = Capture::read_keeping(&args.before, Keep::First, limit).map_err(usage)?;
    let mut b = Capture::read_keeping(&args.after, Keep::Last, limit).map_err(usage)?;
    let first = CaptureHost::new(Arc::new(a.frames.swap_remove(0)));
    let last = CaptureHost::new(Arc::new(b.frames.swap_remove(0)));
    if last.frame().taken_at_ns < first.frame().taken_at_ns {
        crate::stderr_line!(
            "sockscope: note: {} was taken before {}: the changes read backwards",
            args.after.display(),
            args.before.display()
        );
    }
    if a.header.hostname != b.header.hostname {
        crate::stderr_line!(
            "sockscope: note: the captures are of different hosts ({} and {})",
            Untrusted(&a.header.hostname),
            Untrusted(&b.header.hostname)
        );
    }
    let d = diff(&first, &last, &Thresholds::default()).context("cannot compare the captures")?;
    if args.json {
        Envelope::new(Kind::Diff, &[], None, &d).write(out)?;
    } else {
        text(out, &d, args.top)?;
    }
    Ok(if d.findings.iter().any(|f| f.severity >= Severity::Warn) { 1 } else { 0 })
}

fn signed(n: i64) -> String {
    if n > 0 { format!("+{n}") } else { n.to_string() }
}

fn text(out: &mut impl Write, d: &Diff, top: usize) -> anyhow::Result<()> {
    writeln!(
        out,
        "Over {:.0} s: {} process{} started, {} exited.",
        d.span_seconds,
        d.processes_started,
        if d.processes_started == 1 { "" } else { "es" },
        d.processes_exited
    )?;
    if !d.findings.is_empty() {
        writeln!(out, "\nFindings:")?;
        for f in &d.findings {
            writeln!(out, "  {} {}: {}", f.severity.name(), f.rule, f.summary)?;
        }
    }
    if !d.processes.is_empty() {
        writeln!(out, "\nProcesses (fds, and sockets by state and service port):")?;
        for p in d.processes.iter().take(top) {
            let mut parts = vec![format!("{} fds ({} → {})", signed(p.fds_delta), p.fds_before, p.fds_after)];
            parts.extend(
                p.sockets.iter().take(3).map(|c| format!("{} {} :{}", signed(c.delta), c.state.ss_name(), c.port)),
            );
            writeln!(out, "  {} {}: {}", Untrusted(&p.command), p.pid, parts.join(", "))?;
        }
        if d.processes.len() > top {
            writeln!(out, "  … and {} more (--top N)", d.processes.len() - top)?;
        }
    }
    if !d.ports.is_empty() {
        writeln!(out, "\nPorts:")?;
        for p in d.ports.iter().take(top) {
            let states: Vec<String> = p
                .states
                .iter()
                .map(|c| format!("{} {} ({} → {})", signed(c.delta), c.state.ss_name(), c.before, c.after))
                .collect();
            writeln!(out, "  :{}  {}", p.port, states.join(", "))?;
        }
        if d.ports.len() > top {
            writeln!(out, "  … and {} more (--top N)", d.ports.len() - top)?;
        }
    }
    for (title, list) in [("New listeners", &d.listeners_new), ("Listeners gone", &d.listeners_gone)] {
        if !list.is_empty() {
            writeln!(out, "\n{title}:")?;
            for l in list {
                writeln!(out, "  {}", Untrusted(l))?;
            }
        }
    }
    if !d.limits.is_empty() {
        writeln!(out, "\nLimits changed (open files, soft/hard):")?;
        let n = |v: Option<u64>| v.map_or("unlimited".to_string(), |v| v.to_string());
        for l in &d.limits {
            writeln!(
                out,
                "  {} {}: {}/{} → {}/{}",
                Untrusted(&l.command),
                l.pid,
                n(l.soft_before),
                n(l.hard_before),
                n(l.soft_after),
                n(l.hard_after)
            )?;
        }
    }
    const WATCHED: [&str; 8] = [
        "TcpExt.ListenOverflows",
        "TcpExt.ListenDrops",
        "TcpExt.TCPSynRetrans",
        "Tcp.RetransSegs",
        "Tcp.OutRsts",
        "Tcp.EstabResets",
        "Udp.RcvbufErrors",
        "TcpExt.TCPTimeouts",
    ];
    let watched: Vec<_> = d.counters.iter().filter(|c| WATCHED.contains(&c.name.as_str())).collect();
    if !watched.is_empty() {
        writeln!(out, "\nCounters (all of them: --json):")?;
        for c in watched {
            writeln!(out, "  {:24} {} ({} → {})", c.name, signed(c.delta), c.before, c.after)?;
        }
    }
    Ok(())
}
