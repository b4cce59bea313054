//! `sockscope doctor`: observe, run every rule, report by severity, exit 0/1/2.

use crate::args::DoctorArgs;
use crate::render::doctor as render;
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::diagnose::observe::{ObserveOptions, Scope, observe, observe_capture};
use sockscope_core::diagnose::{Severity, Thresholds, diagnose, worst};
use std::io::Write;
use std::time::Duration;

/// `capture`: the look of a capture to answer from (`--from`).
pub fn run(
    args: &DoctorArgs,
    capture: Option<std::sync::Arc<sockscope_core::capture::Frame>>,
    colour: bool,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let mut t = Thresholds::default();
    if let Some(path) = &args.config {
        let text = crate::input::read_text(path, "the config file", false)?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .with_context(|| format!("{}:{}: expected KEY = VALUE", path.display(), n + 1))
                .map_err(usage)?;
            t.set(k.trim(), v).map_err(|e| usage(anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1)))?;
        }
    }
    for kv in &args.set {
        let (k, v) = kv.split_once('=').with_context(|| format!("--set {kv}: expected KEY=VALUE")).map_err(usage)?;
        t.set(k.trim(), v).map_err(usage)?;
    }
    if args.list_thresholds {
        for (k, v) in t.describe() {
            writeln!(out, "{k} = {v}")?;
        }
        return Ok(0);
    }
    match &capture {
        None => crate::usage::check_pids("--pid", &args.pid)?,
        Some(frame) => {
            if let Some(pid) = args.pid.iter().find(|pid| !frame.processes.iter().any(|p| p.pid == **pid)) {
                return Err(usage(anyhow::anyhow!("--pid {pid}: no such process in the capture")));
            }
        }
    }
    let mut opts = ObserveOptions {
        window: Duration::from_secs_f64(args.interval),
        scope: Scope { pids: args.pid.clone(), commands: args.comm.clone(), ports: args.port.clone() },
        thresholds: t.clone(),
        ..ObserveOptions::default()
    };
    opts.namespaces = crate::plan::namespaces(&args.namespaces, false, &opts.proc_root, capture.as_deref())?;
    if !args.stale_dirs.is_empty() {
        opts.stale_dirs = args.stale_dirs.clone();
    }
    let observation = match &capture {
        Some(frame) => observe_capture(frame, &opts).context("cannot read the capture")?,
        None => observe(&opts).context("cannot observe the host")?,
    };
    for w in &observation.first.warnings {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    let findings = diagnose(&observation, &t);
    if args.json {
        render::json(out, &observation, &findings, &t)?;
    } else {
        render::report(out, &observation, &findings, colour)?;
    }
    Ok(match worst(&findings) {
        Some(Severity::Crit) => 2,
        Some(Severity::Warn) => 1,
        _ => 0,
    })
}
