//! `sockscope doctor`: observe, run every rule, report by severity, exit 0/1/2.

use crate::args::DoctorArgs;
use crate::render::doctor as render;
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::diagnose::observe::{ObserveOptions, Scope, observe};
use sockscope_core::diagnose::{Severity, Thresholds, diagnose, worst};
use std::io::Write;
use std::time::Duration;

/// `origin`: the host (or capture's look) to answer from.
pub fn run(args: &DoctorArgs, origin: &crate::from::Origin, colour: bool, out: &mut impl Write) -> anyhow::Result<u8> {
    let mut t = Thresholds::default();
    if let Some(path) = &args.config {
        let text = crate::input::read_text(path, "the config file", false)?;
        sockscope_core::diagnose::thresholds::read_toml(&mut t, &path.display().to_string(), &text).map_err(usage)?;
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
    let host = &*origin.host;
    crate::usage::check_pids("--pid", &args.pid, host)?;
    let mut opts = ObserveOptions {
        window: Duration::from_secs_f64(args.interval),
        scope: Scope { pids: args.pid.clone(), commands: args.comm.clone(), ports: args.port.clone() },
        thresholds: t.clone(),
        ..ObserveOptions::default()
    };
    opts.namespaces = crate::plan::namespaces(&args.namespaces, false, host)?;
    if !args.stale_dirs.is_empty() {
        opts.stale_dirs = args.stale_dirs.clone();
    }
    let observation = observe(host, &opts).context("cannot observe the host")?;
    for w in &observation.first.warnings {
        crate::stderr_line!("sockscope: warning: {w}");
    }
    let findings = diagnose(&observation, &t);
    if args.json {
        render::json(out, &observation, &findings, &t, origin.capture.as_ref())?;
    } else {
        render::report(out, &observation, &findings, colour)?;
    }
    Ok(match worst(&findings) {
        Some(Severity::Crit) => 2,
        Some(Severity::Warn) => 1,
        _ => 0,
    })
}
