//! Gathering an `Observation`: the only part of `doctor` that reads the system.

use super::{Observation, ProcessFds, SecondLook, Sysctls};
use crate::hosts::Host;
use crate::model::{Endpoint, Netid, SockState, StateSet};
use crate::netlink::request::Extensions;
use crate::procfs::{counters, sysctl};
use crate::select::Selection;
use crate::snapshot::{Snapshot, SnapshotError, SnapshotOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which processes and ports to look at; empty means everything.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub pids: Vec<u32>,
    pub commands: Vec<String>,
    pub ports: Vec<u16>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty() && self.commands.is_empty() && self.ports.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct ObserveOptions {
    pub window: Duration,
    pub scope: Scope,
    /// Directories searched for stale Unix socket files.
    pub stale_dirs: Vec<PathBuf>,
    pub proc_root: PathBuf,
    /// Network namespaces to look at besides the caller's (none: the caller's alone).
    pub namespaces: Vec<crate::model::Netns>,
    /// The rules' thresholds: which sockets' options are worth reading follows from them.
    pub thresholds: super::Thresholds,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            window: Duration::from_secs(1),
            scope: Scope::default(),
            stale_dirs: ["/run", "/var/run", "/tmp"].iter().map(PathBuf::from).collect(),
            proc_root: PathBuf::from("/proc"),
            namespaces: Vec::new(),
            thresholds: super::Thresholds::default(),
        }
    }
}

/// What the doctor looks at on `host`: a first look, a second `opts.window` later, the
/// counters before and after, the tunables, fd usage, stale socket files and the options
/// the rules judge.
pub fn observe(host: &dyn Host, opts: &ObserveOptions) -> Result<Observation, SnapshotError> {
    let mut notes = Vec::new();
    let before = host.counters(&opts.namespaces, &mut notes);
    let mut first_opts = SnapshotOptions::new(Selection::resolve(&[], &[], StateSet::EVERY));
    first_opts.owners = true;
    // Only what the rules read: at 200k connections the whole tcp_info of each doubled the
    // diagnosis's memory.
    first_opts.extensions = Extensions { vitals: true, ..Extensions::default() };
    first_opts.proc_root = opts.proc_root.clone();
    first_opts.namespaces = opts.namespaces.clone();
    let mut first = host.snapshot(&first_opts)?;
    first.warnings.append(&mut notes);
    let mut processes = fd_usage(host, &first);

    // Only the sockets a rule will ask about (`rules::asks_later`), by cookie.
    let mut asked: Vec<u64> = first
        .sockets
        .iter()
        .filter(|s| super::rules::asks_later(s, &opts.thresholds))
        .filter_map(|s| s.cookie.map(|c| c.get()))
        .collect();
    asked.sort_unstable();
    let later = host.second_look(opts.window, &opts.namespaces, &|c| asked.binary_search(&c).is_ok())?;
    let mut second = later.second;
    first.warnings.extend(later.notes);
    let sys = sysctls(host);
    let has_sys = host.text_of("sys/fs/file-max").is_some() || host.text_of("sys/net/core/somaxconn").is_some();
    first.warnings.extend(silent_rules(&opts.proc_root, has_sys, !before.is_empty()));

    let mut stale_extended = Vec::new();
    if opts.scope.is_empty() {
        let mut notes = Vec::new();
        stale_extended = host.stale_sockets(&opts.stale_dirs, &first, &mut notes);
        first.warnings.append(&mut notes);
    } else {
        restrict(&opts.scope, &mut first, &mut second, &mut processes);
    }
    let home_netns = (!opts.namespaces.is_empty()).then(|| host.own_netns()).flatten();
    let options = rule_options(&mut first, &opts.thresholds, |snap, sockets| host.socket_options(snap, sockets, true));
    Ok(Observation {
        first: std::sync::Arc::new(first),
        second,
        window: later.window,
        before,
        after: later.counters,
        sys,
        processes,
        stale_extended,
        home_netns,
        options,
    })
}

/// What the doctor says when /proc/sys or the counters could not be read: the rules that
/// need them stay silent.
fn silent_rules(proc_root: &Path, has_sys: bool, has_counters: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !has_sys {
        out.push(format!(
            "{} is missing (procfs mounted with subset=pid?): the rules that compare with sysctls (somaxconn, tcp_max_tw_buckets, tcp_max_orphans, tcp_mem, file-max) cannot judge and stay silent",
            proc_root.join("sys").display()
        ));
    }
    if !has_counters {
        out.push(format!(
            "{} cannot be read: the rules that use kernel counters (ListenOverflows, retransmits, UDP drops) cannot judge and stay silent",
            proc_root.join("thread-self/net").display()
        ));
    }
    out
}

/// The sockets whose options the option rules judge (see `rule_options`), all of them.
pub(crate) fn option_candidates<'a>(first: &'a Snapshot, t: &super::Thresholds) -> Vec<&'a crate::Socket> {
    let port_of = |s: &crate::Socket| match s.local {
        Endpoint::Inet { port, .. } => Some((s.netns.map(|n| n.get()), port)),
        _ => None,
    };
    let waiting: std::collections::HashSet<(Option<u64>, u16)> = first
        .sockets
        .iter()
        .filter(|s| s.netid == Netid::Tcp && s.state == SockState::TimeWait)
        .filter_map(port_of)
        .collect();
    let idle_ms = t.keepalive.keepalive_nat_idle_secs.saturating_mul(1000);
    let stall_us = t.nagle_stall.nagle_stall_rtt_ms.saturating_mul(1000);
    let owned = first.owners.as_ref();
    let judged = |s: &&crate::Socket| {
        if s.netid != Netid::Tcp || !owned.is_some_and(|o| o.has_owner(s.inode)) {
            return false;
        }
        match s.state {
            SockState::Listen => port_of(s).is_some_and(|p| waiting.contains(&p)),
            SockState::Established => s.vitals().is_some_and(|v| {
                let idle = u64::from(v.last_data_sent_ms().unwrap_or(0).min(v.last_data_recv_ms().unwrap_or(0)));
                idle >= idle_ms || v.rtt_us().is_some_and(|r| u64::from(r) >= stall_us)
            }),
            _ => false,
        }
    };
    first.sockets.iter().filter(judged).collect()
}

/// At most this many sockets' options are read per diagnosis.
pub(crate) const MAX_OPTION_READS: usize = 10_000;

/// The sockets whose options the option rules judge, read from their processes:
/// listeners with TIME-WAIT sockets on their port (no-reuseaddr), connections idle past the
/// NAT timeout (keepalive) and connections whose round trip reaches the stall threshold
/// (nagle-stall), both from `t`. At most `MAX_OPTION_READS`, the first found; a warning says
/// when more were left unjudged, and one says why options could not be read.
pub(crate) fn rule_options(
    first: &mut Snapshot,
    t: &super::Thresholds,
    read: impl FnOnce(&Snapshot, &[&crate::Socket]) -> crate::sockopts::Report,
) -> crate::sockopts::Report {
    let candidates = option_candidates(first, t);
    let over = candidates.len().saturating_sub(MAX_OPTION_READS);
    let report = read(first, &candidates[..candidates.len().min(MAX_OPTION_READS)]);
    let mut warnings: Vec<String> =
        report.notes().into_iter().map(|n| format!("{n} (the rules that read options cannot judge those)")).collect();
    if over > 0 {
        warnings.push(format!(
            "{over} more sockets were not judged by the rules that read options (no-reuseaddr, keepalive, nagle-stall): at most {MAX_OPTION_READS} are read per run"
        ));
    }
    first.warnings.extend(warnings);
    report
}

/// Open fds, limits and socket counts of every readable process.
pub fn fd_usage(host: &dyn Host, snap: &Snapshot) -> Vec<ProcessFds> {
    let per_pid = sockets_per_pid(snap);
    host.fd_counts()
        .into_iter()
        .map(|c| ProcessFds {
            pid: c.pid,
            sockets: per_pid.get(&c.pid).copied().unwrap_or(0),
            command: c.command,
            open: c.open,
            soft: c.limit.soft,
            hard: c.limit.hard,
        })
        .collect()
}

/// How many of the snapshot's sockets each process holds.
fn sockets_per_pid(snap: &Snapshot) -> HashMap<u32, u64> {
    snap.owners.as_ref().map_or_else(HashMap::new, |idx| {
        let held = idx.held_per_process(snap.sockets.iter().map(|s| s.inode));
        let mut per_pid = HashMap::new();
        for (p, n) in idx.processes().iter().zip(held).filter(|(_, n)| *n > 0) {
            *per_pid.entry(p.pid).or_default() += n;
        }
        per_pid
    })
}

/// /proc/net/sockstat and sockstat6 of the tables' namespace: `TCP.inuse`, `TCP.orphan`,
/// `TCP.tw`, `TCP.mem`, `UDP.inuse`, … (what node_exporter's sockstat collector reads).
pub fn sockstat(host: &dyn Host) -> HashMap<String, u64> {
    counters::sockstat_from(|f| host.text_of(&format!("net/{f}")))
}

/// The tunables the rules compare with, from the tables' namespace.
pub fn sysctls(host: &dyn Host) -> Sysctls {
    sysctls_with(
        |name| host.text_of(&format!("sys/{name}")).map(|t| sysctl::parse_u64s(&t)).unwrap_or_default(),
        &sockstat(host),
    )
}

/// The tunables, from a reader of /proc/sys files' numbers and the sockstat counters.
fn sysctls_with(read_u64s: impl Fn(&str) -> Vec<u64>, sockstat: &HashMap<String, u64>) -> Sysctls {
    let one = |name: &str| read_u64s(name).first().copied().unwrap_or(0);
    let tcp_mem = read_u64s("net/ipv4/tcp_mem");
    let files = read_u64s("fs/file-nr");
    let port_range =
        sysctl::port_range(&read_u64s("net/ipv4/ip_local_port_range")).unwrap_or(sysctl::DEFAULT_PORT_RANGE);
    Sysctls {
        somaxconn: one("net/core/somaxconn"),
        tcp_max_tw_buckets: one("net/ipv4/tcp_max_tw_buckets"),
        tcp_max_orphans: one("net/ipv4/tcp_max_orphans"),
        tcp_mem: [
            tcp_mem.first().copied().unwrap_or(0),
            tcp_mem.get(1).copied().unwrap_or(0),
            tcp_mem.get(2).copied().unwrap_or(0),
        ],
        tcp_mem_pages: sockstat.get("TCP.mem").copied().unwrap_or(0),
        port_range,
        files: (files.first().copied().unwrap_or(0), files.get(2).copied().unwrap_or(0)),
    }
}

/// Keeps only what the scope names: sockets held by its processes or on its ports, and
/// those processes.
fn restrict(scope: &Scope, first: &mut Snapshot, second: &mut SecondLook, processes: &mut Vec<ProcessFds>) {
    let in_scope_pid =
        |pid: u32, command: &str| scope.pids.contains(&pid) || scope.commands.iter().any(|c| c == command);
    let port_match = |s: &crate::Socket| {
        s.local.port().is_some_and(|p| scope.ports.contains(&p))
            || s.peer.port().is_some_and(|p| scope.ports.contains(&p))
    };
    let mut scoped_pids: std::collections::HashSet<u32> =
        processes.iter().filter(|p| in_scope_pid(p.pid, &p.command)).map(|p| p.pid).collect();
    let owners = first.owners.take();
    first.sockets.retain(|s| {
        let held =
            owners.as_ref().is_some_and(|o| o.owners(s.inode).any(|o| in_scope_pid(o.process.pid, &o.process.command)));
        let keep = held || port_match(s);
        if keep && let Some(o) = &owners {
            scoped_pids.extend(o.owners(s.inode).map(|o| o.process.pid));
        }
        keep
    });
    first.owners = owners;
    // The second look matters only for the sockets kept.
    let kept: std::collections::HashSet<u64> = first.sockets.iter().filter_map(|s| s.cookie.map(|c| c.get())).collect();
    second.retain(|cookie| kept.contains(&cookie));
    processes.retain(|p| scoped_pids.contains(&p.pid));
}
