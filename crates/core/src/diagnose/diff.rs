//! What changed between two looks: sockets by state per process and per port, fds per
//! process, listeners that appeared or went, limits changed, counters' deltas, and the
//! doctor's growth rules run over the span between them.

use crate::capture::frame::{Frame, ProcessRecord};
use crate::diagnose::observe::{ObserveOptions, observe};
use crate::diagnose::{Finding, SecondLook, Severity, Thresholds, diagnose};
use crate::hosts::{CaptureHost, Host};
use crate::model::{Endpoint, Netid, SockState, StateSet};
use crate::snapshot::{Snapshot, SnapshotError, SnapshotOptions};
use crate::summary::listening_ports;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// The doctor's rules that compare two looks: over two captures, their window is the span
/// between them.
pub const GROWTH_RULES: [&str; 6] =
    ["close-wait-leak", "stuck-queues", "accept-queue", "syn-flood", "retransmits", "udp-drops"];

/// A process whose fds grew by at least this many, and by this share, is reported as leaking.
const FD_LEAK_MIN: u64 = 100;
const FD_LEAK_SHARE: f64 = 0.2;

#[derive(Debug, Serialize)]
pub struct Diff {
    pub span_seconds: f64,
    pub processes: Vec<ProcessChange>,
    pub ports: Vec<PortChange>,
    pub listeners_new: Vec<String>,
    pub listeners_gone: Vec<String>,
    pub limits: Vec<LimitChange>,
    pub counters: Vec<CounterChange>,
    pub findings: Vec<Finding>,
    pub processes_started: usize,
    pub processes_exited: usize,
}

/// One process's change (pid and command together: a reused pid is another process).
#[derive(Debug, Serialize)]
pub struct ProcessChange {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: String,
    /// Its command line, NUL-separated arguments joined by spaces (absent when redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    pub fds_before: u64,
    pub fds_after: u64,
    pub fds_delta: i64,
    /// Sockets by state and service port whose count changed: (state, port, before, after).
    pub sockets: Vec<StateCount>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateCount {
    pub state: SockState,
    /// The service port: the local port when something listened on it, else the peer's.
    pub port: u16,
    pub before: u64,
    pub after: u64,
    pub delta: i64,
}

#[derive(Debug, Serialize)]
pub struct PortChange {
    pub port: u16,
    pub states: Vec<StateCount>,
    pub delta: i64,
}

#[derive(Debug, Serialize)]
pub struct LimitChange {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: String,
    pub soft_before: Option<u64>,
    pub soft_after: Option<u64>,
    pub hard_before: Option<u64>,
    pub hard_after: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct CounterChange {
    pub name: String,
    pub before: u64,
    pub after: u64,
    pub delta: i64,
}

/// `after - before`, saturated at i64's range (counters are u64).
fn delta(before: u64, after: u64) -> i64 {
    (i128::from(after) - i128::from(before)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Every TCP and UDP socket of a look, with owners.
fn look(frame: &CaptureHost) -> Result<Snapshot, SnapshotError> {
    let mut opts = SnapshotOptions::new(crate::Selection::resolve(&[Netid::Tcp, Netid::Udp], &[], StateSet::EVERY));
    opts.owners = true;
    frame.snapshot(&opts)
}

/// What the diff compares: TCP and UDP sockets (A's look holds every table: see `diff`).
fn is_tcp_or_udp(s: &crate::Socket) -> bool {
    matches!(s.netid, Netid::Tcp | Netid::Udp)
}

type Key = (u32, String);
/// Sockets counted by (state, service port).
type ByStatePort = BTreeMap<(SockState, u16), u64>;

/// (state, service port) → count, per process; and per port over all processes.
fn counts(snap: &Snapshot) -> (HashMap<Key, ByStatePort>, ByStatePort) {
    let listening = listening_ports(&snap.sockets);
    let mut per_process: HashMap<Key, ByStatePort> = HashMap::new();
    let mut per_port = BTreeMap::new();
    for s in snap.sockets.iter().filter(|s| is_tcp_or_udp(s)) {
        let (Endpoint::Inet { port: local, .. }, peer) = (&s.local, &s.peer) else { continue };
        let port = if s.state == SockState::Listen || listening.contains(&(s.netid, *local)) {
            *local
        } else {
            peer.port().unwrap_or(*local)
        };
        *per_port.entry((s.state, port)).or_default() += 1;
        for o in snap.owners_of(s) {
            *per_process
                .entry((o.process.pid, o.process.command.to_string()))
                .or_default()
                .entry((s.state, port))
                .or_default() += 1;
        }
    }
    (per_process, per_port)
}

fn changes(before: &ByStatePort, after: &ByStatePort) -> Vec<StateCount> {
    let keys: std::collections::BTreeSet<&(SockState, u16)> = before.keys().chain(after.keys()).collect();
    let mut out: Vec<StateCount> = keys
        .into_iter()
        .filter_map(|k| {
            let (b, a) = (before.get(k).copied().unwrap_or(0), after.get(k).copied().unwrap_or(0));
            (a != b).then(|| StateCount { state: k.0, port: k.1, before: b, after: a, delta: delta(b, a) })
        })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.delta.unsigned_abs()));
    out
}

/// What changed from `a` to `b`, the processes and ports with the largest changes first.
pub fn diff(a: &CaptureHost, b: &CaptureHost, t: &Thresholds) -> Result<Diff, SnapshotError> {
    let span = Duration::from_nanos(b.frame().taken_at_ns.saturating_sub(a.frame().taken_at_ns));
    // A's look as the doctor reads it, for the growth rules; its sockets serve the counts too.
    let opts = ObserveOptions { thresholds: t.clone(), ..ObserveOptions::default() };
    let mut observed = observe(a, &opts)?;
    let sb = look(b)?;
    let (a, b) = (&**a.frame(), &**b.frame());
    let sa = std::sync::Arc::clone(&observed.first);
    let ((pa, porta), (pb, portb)) = (counts(&sa), counts(&sb));
    let (fa, fb) = (fd_counts(a), fd_counts(b));
    let empty = BTreeMap::new();
    let mut processes = Vec::new();
    let mut limits = Vec::new();
    for (key, (after, rec)) in &fb {
        let before = fa.get(key).map_or(0, |(n, _)| *n);
        let sockets = changes(pa.get(key).unwrap_or(&empty), pb.get(key).unwrap_or(&empty));
        if let Some((_, old)) = fa.get(key)
            && old.limit != rec.limit
        {
            limits.push(LimitChange {
                pid: key.0,
                command: key.1.clone(),
                soft_before: old.limit.soft,
                soft_after: rec.limit.soft,
                hard_before: old.limit.hard,
                hard_after: rec.limit.hard,
            });
        }
        // A process that started since with no fd (a kernel thread) changed nothing to show.
        let started = !fa.contains_key(key) && *after > 0;
        if started || before != *after || !sockets.is_empty() {
            processes.push(ProcessChange {
                pid: key.0,
                command: key.1.clone(),
                cmdline: rec.cmdline.as_ref().map(|c| {
                    String::from_utf8_lossy(c).split('\0').filter(|a| !a.is_empty()).collect::<Vec<_>>().join(" ")
                }),
                fds_before: before,
                fds_after: *after,
                fds_delta: delta(before, *after),
                sockets,
            });
        }
    }
    processes.sort_by_key(|p| (std::cmp::Reverse(p.fds_delta.unsigned_abs()), p.pid));
    let mut ports: Vec<PortChange> = {
        let all = changes(&porta, &portb);
        let mut by_port: BTreeMap<u16, Vec<StateCount>> = BTreeMap::new();
        for c in all {
            by_port.entry(c.port).or_default().push(c);
        }
        by_port
            .into_iter()
            .map(|(port, states)| PortChange { port, delta: states.iter().map(|s| s.delta).sum(), states })
            .collect()
    };
    ports.sort_by_key(|p| (std::cmp::Reverse(p.states.iter().map(|s| s.delta.unsigned_abs()).sum::<u64>()), p.port));
    let listeners = |snap: &Snapshot| -> HashSet<String> {
        snap.sockets
            .iter()
            .filter(|s| s.state == SockState::Listen && is_tcp_or_udp(s))
            .map(|s| {
                let owners: Vec<String> = snap
                    .owners_of(s)
                    .map(|o| format!("{} {}", crate::text::Untrusted(&o.process.command), o.process.pid))
                    .collect();
                let owners = if owners.is_empty() { String::new() } else { format!(" ({})", owners.join(", ")) };
                format!("{} {}{owners}", s.netid.ss_name(), s.local)
            })
            .collect()
    };
    let (la, lb) = (listeners(&sa), listeners(&sb));
    let mut listeners_new: Vec<String> = lb.difference(&la).cloned().collect();
    let mut listeners_gone: Vec<String> = la.difference(&lb).cloned().collect();
    listeners_new.sort();
    listeners_gone.sort();
    let (ca, cb) = (a.counters(), b.counters());
    let mut counters: Vec<CounterChange> = cb
        .iter()
        .filter_map(|(name, after)| {
            let before = ca.get(name).copied().unwrap_or(0);
            (before != *after).then(|| CounterChange {
                name: name.clone(),
                before,
                after: *after,
                delta: delta(before, *after),
            })
        })
        .collect();
    counters.sort_by(|x, y| x.name.cmp(&y.name));
    limits.sort_by_key(|l| l.pid);
    let started = fb.keys().filter(|k| !fa.contains_key(*k)).count();
    let exited = fa.keys().filter(|k| !fb.contains_key(*k)).count();
    observed.second = SecondLook::of(&sb.sockets);
    observed.after = b.counters();
    observed.window = span;
    let mut findings: Vec<Finding> =
        diagnose(&observed, t).into_iter().filter(|f| GROWTH_RULES.contains(&f.rule)).collect();
    findings.extend(fd_leaks(&processes, &fb, span));
    findings.sort_by(|x, y| y.severity.cmp(&x.severity).then(x.rule.cmp(y.rule)));
    Ok(Diff {
        span_seconds: span.as_secs_f64(),
        processes,
        ports,
        listeners_new,
        listeners_gone,
        limits,
        counters,
        findings,
        processes_started: started,
        processes_exited: exited,
    })
}

/// Each process's open fds (numbered ones), by (pid, command).
fn fd_counts(f: &Frame) -> HashMap<Key, (u64, &ProcessRecord)> {
    f.processes.iter().map(|p| ((p.pid, p.command.clone()), (p.open_fds(), p))).collect()
}

/// fd-leak: a process whose open fds grew by at least `FD_LEAK_MIN` and `FD_LEAK_SHARE`
/// between the looks; critical when, at that rate, it reaches its soft limit within a day.
fn fd_leaks(processes: &[ProcessChange], after: &HashMap<Key, (u64, &ProcessRecord)>, span: Duration) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in processes {
        let grew = p.fds_delta.max(0) as u64;
        if p.fds_before == 0 || grew < FD_LEAK_MIN || (grew as f64) < FD_LEAK_SHARE * p.fds_before as f64 {
            continue;
        }
        let soft = after.get(&(p.pid, p.command.clone())).and_then(|(_, r)| r.limit.soft);
        let per_second = grew as f64 / span.as_secs_f64().max(1e-9);
        let until_limit = soft.map(|s| s.saturating_sub(p.fds_after) as f64 / per_second);
        let severity = if until_limit.is_some_and(|s| s < 86_400.0) { Severity::Crit } else { Severity::Warn };
        let when = match (soft, until_limit) {
            (Some(s), Some(secs)) => format!("; at this rate it reaches its limit of {s} in {}", duration_words(secs)),
            _ => String::new(),
        };
        let top = p
            .sockets
            .iter()
            .find(|c| c.delta > 0)
            .map_or(String::new(), |c| format!(", {:+} {} on :{}", c.delta, c.state.ss_name(), c.port));
        let mut f = Finding::new(
            "fd-leak",
            severity,
            format!("{} ({}) grew by {grew} fds in {:.0} s ({} → {}){top}{when}", crate::text::Untrusted(&p.command), p.pid, span.as_secs_f64(), p.fds_before, p.fds_after),
            "Its open fds grew steadily between the two captures: something is opened (a socket, a file) and not closed on some path. When it reaches RLIMIT_NOFILE, accept() and open() fail with EMFILE.",
            format!("See what grows: sockscope --from AFTER.cap fds {} (and the socket states above); fix the missing close(), and meanwhile restart or raise the limit (LimitNOFILE=).", p.pid),
        )
        .int("fds_before", p.fds_before)
        .int("fds_after", p.fds_after)
        .ratio("fds_per_second", per_second);
        f.processes.push(crate::diagnose::ProcessRef { pid: p.pid, command: p.command.clone() });
        out.push(f);
    }
    out
}

/// `40 s`, `12 min`, `3.5 h`, `2 days`.
fn duration_words(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.0} days", secs / 86_400.0)
    }
}
