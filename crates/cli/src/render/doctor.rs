//! The doctor's report: findings grouped by severity, colour on a terminal; or JSON.

use super::envelope::{CaptureInfo, Envelope, Kind};
use crate::escape::escape;
use serde::Serialize;
use sockscope_core::diagnose::{Finding, Observation, Severity, Thresholds, rules};
use sockscope_core::text::Colour;
use std::io::{self, Write};

fn paint(on: bool, colour: Colour, text: &str) -> String {
    if on { sockscope_core::text::paint(colour, text) } else { text.to_string() }
}

fn colour_of(s: Severity) -> Colour {
    match s {
        Severity::Crit => Colour::BoldRed,
        Severity::Warn => Colour::BoldYellow,
        Severity::Info => Colour::BoldBlue,
    }
}

/// Findings of one rule shown in the text report; the rest are counted.
const MAX_PER_RULE: usize = 10;

fn finding(out: &mut impl Write, f: &Finding, colour: bool) -> io::Result<()> {
    // Rules build their prose with the untrusted parts escaped (text::Untrusted).
    writeln!(out, "  {} {}", paint(colour, Colour::Bold, f.rule), f.summary)?;
    let ev: Vec<String> = f.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !ev.is_empty() {
        writeln!(out, "      evidence: {}", ev.join(" "))?;
    }
    for s in f.sockets.iter().take(3) {
        let who = match (s.pid, s.fd) {
            (Some(p), Some(fd)) => format!("pid {p} fd {fd} "),
            _ => String::new(),
        };
        writeln!(
            out,
            "      socket:   {who}{} {} {} -> {}",
            s.netid.ss_name(),
            s.state.ss_name(),
            escape(&s.local),
            escape(&s.peer)
        )?;
    }
    if f.sockets.len() > 3 {
        writeln!(out, "      ({} more sockets in --json)", f.sockets.len() - 3)?;
    }
    Ok(())
}

/// A fix shared by several findings: the first finding's, which names its own object, is
/// kept as the example.
fn generic_fix(fix: &str) -> String {
    format!("{fix} (and likewise for the others)")
}

pub fn report(out: &mut impl Write, o: &Observation, findings: &[Finding], colour: bool) -> io::Result<()> {
    for sev in [Severity::Crit, Severity::Warn, Severity::Info] {
        let group: Vec<&Finding> = findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        writeln!(out, "{}", paint(colour, colour_of(sev), &format!("{} ({})", sev.name(), group.len())))?;
        // Findings of one rule share their cause and fix: print those once, after them.
        let mut rules_seen: Vec<&str> = Vec::new();
        for f in &group {
            if !rules_seen.contains(&f.rule) {
                rules_seen.push(f.rule);
            }
        }
        for rule in rules_seen {
            let of_rule: Vec<&&Finding> = group.iter().filter(|f| f.rule == rule).collect();
            for f in of_rule.iter().take(MAX_PER_RULE) {
                finding(out, f, colour)?;
            }
            if of_rule.len() > MAX_PER_RULE {
                writeln!(
                    out,
                    "  {} ({} more findings of this rule in --json)",
                    paint(colour, Colour::Bold, rule),
                    of_rule.len() - MAX_PER_RULE
                )?;
            }
            writeln!(out, "      cause:    {}", of_rule[0].cause)?;
            if of_rule.len() == 1 {
                writeln!(out, "      fix:      {}", of_rule[0].fix)?;
            } else {
                writeln!(out, "      fix:      {}", generic_fix(&of_rule[0].fix))?;
            }
        }
        writeln!(out)?;
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let line = format!(
        "{} critical, {} warning, {} info — {} over {} and {}, window {:.1} s",
        count(Severity::Crit),
        count(Severity::Warn),
        count(Severity::Info),
        super::counted(rules::ALL.len(), "rule", "rules"),
        super::counted(o.first.sockets.len(), "socket", "sockets"),
        super::counted(o.processes.len(), "process", "processes"),
        o.window.as_secs_f64()
    );
    let healthy = count(Severity::Crit) + count(Severity::Warn) == 0;
    writeln!(out, "{}", if healthy { paint(colour, Colour::BoldGreen, &format!("healthy: {line}")) } else { line })?;
    if let Some(note) = o.first.owners.as_ref().and_then(|idx| idx.report.gap_note()) {
        writeln!(out, "note: {note}: their sockets show no owner")?;
    }
    Ok(())
}

/// `capture`: the capture the observation is from.
pub fn json(
    out: &mut impl Write,
    o: &Observation,
    findings: &[Finding],
    t: &Thresholds,
    capture: Option<&CaptureInfo>,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Counts {
        crit: usize,
        warn: usize,
        info: usize,
    }
    #[derive(Serialize)]
    struct Data<'a> {
        window_s: f64,
        worst: Option<Severity>,
        counts: Counts,
        sockets_examined: usize,
        processes_examined: usize,
        rules: Vec<&'static str>,
        findings: &'a [Finding],
        thresholds: &'a Thresholds,
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let data = Data {
        window_s: o.window.as_secs_f64(),
        worst: sockscope_core::diagnose::worst(findings),
        counts: Counts { crit: count(Severity::Crit), warn: count(Severity::Warn), info: count(Severity::Info) },
        sockets_examined: o.first.sockets.len(),
        processes_examined: o.processes.len(),
        rules: rules::ALL.iter().map(|r| r.id).collect(),
        findings,
        thresholds: t,
    };
    Envelope::new(Kind::Doctor, &o.first.warnings, capture, data).write(out)
}
