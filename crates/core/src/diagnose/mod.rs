//! `doctor`: the classic socket and fd problems, found in an `Observation` by rules that are
//! pure functions (no I/O), each giving findings with evidence, cause and fix.

pub mod diff;
pub mod observe;
pub mod rules;
pub mod thresholds;

use crate::model::{Endpoint, Netid, SockState, Socket};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub use rules::Thresholds;

pub use crate::model::{Later, SecondLook};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Crit,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Crit => "CRIT",
        }
    }

    /// Crit at or above `crit`, warn at or above `warn`, else nothing to report.
    pub fn of_ratio(ratio: f64, warn: f64, crit: f64) -> Option<Severity> {
        if ratio >= crit {
            Some(Severity::Crit)
        } else if ratio >= warn {
            Some(Severity::Warn)
        } else {
            None
        }
    }
}

/// A number in the evidence: counts stay integers, ratios are fractions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Num {
    Int(u64),
    Float(f64),
}

/// As the reports write evidence: `12`, `0.75`.
impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessRef {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: String,
}

/// A socket a finding is about, and who holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SocketRef {
    pub netid: Netid,
    pub state: SockState,
    pub local: String,
    pub peer: String,
    pub inode: u64,
    pub pid: Option<u32>,
    pub fd: Option<u32>,
    pub recv_q: u32,
    pub send_q: Option<u32>,
    /// With several namespaces read: the socket's, when it is not the caller's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// The container holding it (`RUNTIME:ID` or `pod:NAMESPACE/NAME`), when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// One line: what is wrong, where.
    pub summary: String,
    pub processes: Vec<ProcessRef>,
    pub sockets: Vec<SocketRef>,
    pub evidence: BTreeMap<String, Num>,
    /// Why it happens, in plain words.
    pub cause: String,
    /// What to do: a command, a setting, a code change.
    pub fix: String,
}

impl Finding {
    pub fn new(rule: &'static str, severity: Severity, summary: String, cause: &str, fix: String) -> Finding {
        Finding {
            rule,
            severity,
            summary,
            processes: Vec::new(),
            sockets: Vec::new(),
            evidence: BTreeMap::new(),
            cause: cause.to_string(),
            fix,
        }
    }

    pub fn int(mut self, k: &str, v: u64) -> Finding {
        self.evidence.insert(k.to_string(), Num::Int(v));
        self
    }

    pub fn ratio(mut self, k: &str, v: f64) -> Finding {
        self.evidence.insert(k.to_string(), Num::Float((v * 10000.0).round() / 10000.0));
        self
    }
}

/// The host's tunables that rules compare against.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sysctls {
    pub somaxconn: u64,
    pub tcp_max_tw_buckets: u64,
    pub tcp_max_orphans: u64,
    /// net.ipv4.tcp_mem: low, pressure, high (pages).
    pub tcp_mem: [u64; 3],
    /// TCP memory in use (pages), from sockstat.
    pub tcp_mem_pages: u64,
    pub port_range: (u16, u16),
    /// fs.file-nr allocated, fs.file-max.
    pub files: (u64, u64),
}

/// One process's fd usage.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessFds {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: String,
    pub open: u64,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
    /// Sockets among its fds.
    pub sockets: u64,
}

/// Everything the rules look at: a snapshot, a second look after the window (by socket
/// cookie), counters at both ends of the window, the tunables, fd usage, and Unix socket
/// files nobody binds.
#[derive(Debug, Default)]
pub struct Observation {
    /// Shared: `watch` diagnoses the snapshot it also shows.
    pub first: std::sync::Arc<crate::Snapshot>,
    pub second: SecondLook,
    pub window: Duration,
    pub before: HashMap<String, u64>,
    pub after: HashMap<String, u64>,
    pub sys: Sysctls,
    pub processes: Vec<ProcessFds>,
    pub stale_extended: Vec<PathBuf>,
    /// The caller's network namespace, when several were read.
    pub home_netns: Option<u64>,
    /// The options (and TCP traffic, from tcp_info) of the sockets the option rules judge,
    /// read from their processes: listeners with TIME-WAIT on their port, idle connections,
    /// connections with slow round trips. Empty where not read (`watch` and `serve` do not:
    /// it costs system calls per socket).
    pub options: crate::sockopts::Report,
}

impl Observation {
    /// Keeps the second look's sockets by cookie.
    pub fn set_second(&mut self, sockets: &[Socket]) {
        self.second = SecondLook::of(sockets);
    }

    /// The same socket (by cookie) at the second look, if it was still there. The doctor's
    /// second look keeps only the sockets `rules::asks_later` names: a rule that asks about
    /// others must be named there.
    pub fn later(&self, s: &Socket) -> Option<Later> {
        s.cookie.and_then(|c| self.second.get(c.get()))
    }

    pub fn delta(&self, counter: &str) -> u64 {
        let get = |m: &HashMap<String, u64>| m.get(counter).copied().unwrap_or(0);
        get(&self.after).saturating_sub(get(&self.before))
    }

    /// The socket as a finding shows it, with its first holder.
    pub fn socket_ref(&self, s: &Socket) -> SocketRef {
        let owner = self.first.owners_of(s).next();
        SocketRef {
            netid: s.netid,
            state: s.state,
            local: s.end_text(&s.local),
            peer: s.end_text(&s.peer),
            inode: s.inode,
            pid: owner.map(|o| o.process.pid),
            fd: owner.map(|o| o.fd),
            recv_q: s.recv_q,
            send_q: s.send_q,
            netns: s
                .netns
                .filter(|n| Some(n.get()) != self.home_netns)
                .and_then(|n| self.first.namespaces.iter().find(|ns| ns.inode == n.get()))
                .map(crate::model::Netns::label),
            container: s.container.as_ref().map(|c| c.label()),
        }
    }

    /// The processes holding a socket.
    pub fn holders(&self, s: &Socket) -> Vec<ProcessRef> {
        self.first
            .owners_of(s)
            .map(|o| ProcessRef { pid: o.process.pid, command: o.process.command.to_string() })
            .collect()
    }
}

/// An endpoint as findings write it (`Endpoint`'s one compact form).
pub fn endpoint_text(e: &Endpoint) -> String {
    e.to_string()
}

/// Runs every rule; findings sorted most severe first.
pub fn diagnose(o: &Observation, t: &Thresholds) -> Vec<Finding> {
    let mut all: Vec<Finding> = rules::ALL.iter().flat_map(|rule| (rule.check)(o, t)).collect();
    all.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
    for f in &mut all {
        name_places(f);
    }
    all
}

/// Says in the summary where a finding's sockets are, when that is a container or another
/// namespace than the caller's: "(in pod:shop/web-0)".
fn name_places(f: &mut Finding) {
    let mut places: Vec<&str> =
        f.sockets.iter().filter_map(|s| s.container.as_deref().or(s.netns.as_deref())).collect();
    places.sort_unstable();
    places.dedup();
    if places.is_empty() {
        return;
    }
    let mut list: Vec<String> = places.iter().take(3).map(|p| crate::text::Untrusted(p).to_string()).collect();
    if places.len() > 3 {
        list.push(format!("and {} more", places.len() - 3));
    }
    f.summary.push_str(&format!(" (in {})", list.join(", ")));
    if f.sockets.iter().any(|s| s.netns.is_some()) && f.fix.contains("sockscope ") {
        f.fix.push_str(" (These sockets are in another network namespace: add --all-netns to that sockscope command.)");
    }
}

/// The worst severity, for the exit status.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}
