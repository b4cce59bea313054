//! Gathering an `Observation`: the only part of `doctor` that reads the system.

use super::{Later, Observation, ProcessFds, SecondLook, Sysctls};
use crate::model::{Endpoint, Netid, SockState, StateSet};
use crate::netlink::request::Extensions;
use crate::procfs::{counters, process, sysctl};
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
    pub namespaces: Vec<crate::netns::Netns>,
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

fn all_states() -> StateSet {
    crate::capture::replay::every_state()
}

pub fn observe(opts: &ObserveOptions) -> Result<Observation, SnapshotError> {
    let before = counters_in(&opts.proc_root, &opts.namespaces);
    let mut first_opts = SnapshotOptions::new(Selection::resolve(&[], &[], all_states()));
    first_opts.owners = true;
    // Only what the rules read: at 200k connections the whole tcp_info of each doubled the
    // diagnosis's memory.
    first_opts.extensions = Extensions { vitals: true, ..Extensions::default() };
    first_opts.proc_root = opts.proc_root.clone();
    first_opts.namespaces = opts.namespaces.clone();
    let mut first = Snapshot::collect(&first_opts)?;
    let mut processes = fd_usage(&opts.proc_root, &first);

    std::thread::sleep(opts.window);

    let mut second = if opts.namespaces.is_empty() { second_look(&opts.proc_root)? } else { second_look_in(opts)? };
    let after = counters_in(&opts.proc_root, &opts.namespaces);
    let sys = sysctls(&opts.proc_root);
    first.warnings.extend(silent_rules(&opts.proc_root, opts.proc_root.join("sys").exists(), !before.is_empty()));

    let mut stale_extended = Vec::new();
    if opts.scope.is_empty() {
        for dir in &opts.stale_dirs {
            stale_extended.extend(stale_sockets(dir, &first, &opts.proc_root));
        }
    } else {
        restrict(&opts.scope, &mut first, &mut second, &mut processes);
    }
    let home_netns = (!opts.namespaces.is_empty()).then(|| crate::netns::own(&opts.proc_root)).flatten();
    let options = rule_options(&mut first, &opts.thresholds, |snap, sockets| {
        crate::sockopts::Report::read_flows(snap, sockets, &opts.proc_root)
    });
    Ok(Observation {
        first: std::sync::Arc::new(first),
        second,
        window: opts.window,
        before,
        after,
        sys,
        processes,
        stale_extended,
        home_netns,
        options,
    })
}

/// The observation a capture's frame gives: its look, and the second look the recording
/// took a window after it (`record --window`).
pub fn observe_capture(frame: &crate::capture::Frame, opts: &ObserveOptions) -> Result<Observation, SnapshotError> {
    let before = frame.counters();
    let mut first_opts = SnapshotOptions::new(Selection::resolve(&[], &[], all_states()));
    first_opts.owners = true;
    first_opts.extensions = Extensions { vitals: true, ..Extensions::default() };
    first_opts.namespaces = opts.namespaces.clone();
    let mut first = crate::capture::replay::snapshot(frame, &first_opts)?;
    if !opts.namespaces.is_empty() {
        first.warnings.push(
            "the kernel's counters are the recording namespace's: the counter rules judge it alone (the sockets are every namespace's)".into(),
        );
    }
    let mut processes = fd_usage_in(frame, &first);
    let (mut second, after, window) = match &frame.later {
        Some(l) => (
            l.tcp
                .iter()
                .map(|&(cookie, state, recv_q, send_q)| {
                    (cookie, Later { state: SockState::from_kernel(state), recv_q, send_q })
                })
                .collect(),
            crate::capture::replay::counters_of(&l.files),
            Duration::from_nanos(l.window_ns),
        ),
        None => {
            first.warnings.push(
                "the capture has no second look (recorded with --window 0): the rules that compare two looks (what persisted, counters that grew) stay silent".into(),
            );
            (SecondLook::default(), before.clone(), Duration::ZERO)
        }
    };
    let sys = sysctls_in(frame);
    let has_sys = frame.files.keys().any(|k| k.starts_with("sys/"));
    first.warnings.extend(silent_rules(&opts.proc_root, has_sys, !before.is_empty()));
    let mut stale_extended = Vec::new();
    if opts.scope.is_empty() {
        let searched = |d: &PathBuf| frame.stale_dirs.iter().any(|s| d.starts_with(s));
        let unsearched: Vec<String> =
            opts.stale_dirs.iter().filter(|d| !searched(d)).map(|d| d.display().to_string()).collect();
        if !unsearched.is_empty() {
            first.warnings.push(format!(
                "the capture was not searched for stale Unix socket files under {} (it searched {})",
                unsearched.join(", "),
                if frame.stale_dirs.is_empty() { "nothing".to_string() } else { frame.stale_dirs.join(", ") }
            ));
        }
        stale_extended = frame
            .stale
            .iter()
            .map(PathBuf::from)
            .filter(|p| opts.stale_dirs.iter().any(|d| p.starts_with(d)))
            .collect();
    } else {
        restrict(&opts.scope, &mut first, &mut second, &mut processes);
    }
    let options = rule_options(&mut first, &opts.thresholds, |snap, sockets| {
        crate::sockopts::Report::from_capture(&frame.options, snap, sockets)
    });
    Ok(Observation {
        first: std::sync::Arc::new(first),
        second,
        window,
        before,
        after,
        sys,
        processes,
        stale_extended,
        home_netns: None,
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

/// The kernel's counters (netstat, snmp): the caller's namespace's, or with several
/// namespaces their sums (each namespace counts its own; a listener overflowing in a
/// container counts in the container's), read through a process in each.
pub fn counters_in(proc_root: &Path, namespaces: &[crate::netns::Netns]) -> HashMap<String, u64> {
    let mut sum = counters::read(&proc_root.join("thread-self/net"));
    let own = crate::netns::own(proc_root);
    for ns in namespaces.iter().filter(|ns| Some(ns.inode) != own) {
        let Some(pid) = ns.pid else { continue };
        for (k, v) in counters::read(&proc_root.join(pid.to_string()).join("net")) {
            *sum.entry(k).or_default() += v;
        }
    }
    sum
}

/// The second look over several namespaces: their TCP sockets by cookie (cookies are unique
/// on the host), through the collector, which enters each namespace.
fn second_look_in(opts: &ObserveOptions) -> Result<SecondLook, SnapshotError> {
    let mut tcp = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], all_states()));
    tcp.proc_root = opts.proc_root.clone();
    tcp.namespaces = opts.namespaces.clone();
    tcp.containers = false;
    Ok(SecondLook::of(&Snapshot::collect(&tcp)?.sockets))
}

/// The second look: each TCP socket's state and queues by cookie, parsed straight from the
/// dump (no snapshot is built, so two full snapshots never coexist in memory).
fn second_look(proc_root: &Path) -> Result<SecondLook, SnapshotError> {
    use crate::netlink::{DiagSocket, parse, request};
    let mut out = Vec::new();
    let Ok(mut diag) = DiagSocket::open() else {
        // Without sock_diag there are no cookies to follow: read the tables from /proc.
        let mut opts = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], all_states()));
        opts.proc_root = proc_root.to_path_buf();
        let _ = Snapshot::collect(&opts)?;
        return Ok(SecondLook::default());
    };
    for af in [request::AF_INET, request::AF_INET6] {
        let req = request::inet(af, request::IPPROTO_TCP, all_states(), 0);
        diag.dump("tcp", &req, |p| {
            if let Some(s) = parse::inet(p, Netid::Tcp)
                && let Some(c) = s.cookie
            {
                out.push((c.get(), Later { state: s.state, recv_q: s.recv_q, send_q: s.send_q.unwrap_or(0) }));
            }
        })?;
    }
    Ok(out.into_iter().collect())
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
            SockState::Established => s.details.as_ref().and_then(|d| d.vitals()).is_some_and(|v| {
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
pub fn fd_usage(root: &Path, snap: &Snapshot) -> Vec<ProcessFds> {
    let sockets = sockets_per_pid(snap);
    let mut out = Vec::new();
    for pid in process::pids(root).unwrap_or_default() {
        let Ok(open) = process::open_fds(root, pid) else { continue };
        let limit = process::fd_limit(root, pid).unwrap_or_default();
        let Ok(command) = process::comm(root, pid) else { continue };
        out.push(ProcessFds {
            pid,
            command,
            open,
            soft: limit.soft,
            hard: limit.hard,
            sockets: sockets.get(&pid).copied().unwrap_or(0),
        });
    }
    out
}

/// `fd_usage` as a capture's look had it.
pub fn fd_usage_in(frame: &crate::capture::Frame, snap: &Snapshot) -> Vec<ProcessFds> {
    let per_pid = sockets_per_pid(snap);
    frame
        .processes
        .iter()
        .map(|p| ProcessFds {
            pid: p.pid,
            command: p.command.clone(),
            open: p.open_fds(),
            soft: p.limit.soft,
            hard: p.limit.hard,
            sockets: per_pid.get(&p.pid).copied().unwrap_or(0),
        })
        .collect()
}

/// `sysctls` as a capture's look had them.
pub fn sysctls_in(frame: &crate::capture::Frame) -> Sysctls {
    sysctls_with(|name| frame.sysctl_u64s(name), &frame.sockstat())
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

/// /proc/net/sockstat and sockstat6 of the caller's namespace: `TCP.inuse`, `TCP.orphan`,
/// `TCP.tw`, `TCP.mem`, `UDP.inuse`, … (what node_exporter's sockstat collector reads).
pub fn sockstat(root: &Path) -> HashMap<String, u64> {
    counters::read_sockstat(&root.join("thread-self/net"))
}

/// The tunables the rules compare with, from the caller's namespace.
pub fn sysctls(root: &Path) -> Sysctls {
    sysctls_with(|name| sysctl::read_u64s(root, name), &sockstat(root))
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

/// Socket files under `dir` (at most 4 levels deep, 100 000 entries) that no socket in this
/// or any other namespace is bound to.
pub(crate) fn stale_sockets(dir: &Path, snap: &Snapshot, root: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let bound: std::collections::HashSet<&str> = snap
        .sockets
        .iter()
        .filter_map(|s| match &s.local {
            Endpoint::Unix { name: Some(n), .. } if !n.is_abstract => Some(&*n.path),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    let mut seen = 0;
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            seen += 1;
            if seen > 100_000 {
                return out;
            }
            let Ok(t) = e.file_type() else { continue };
            let path = e.path();
            if t.is_dir() && depth < 4 {
                stack.push((path, depth + 1));
            } else if t.is_socket() {
                // The same lossless text the socket names were read into, so a path that is
                // not UTF-8 still matches its socket.
                let text = crate::text::path_text(&path);
                // Stale only when every namespace was looked at and none binds it.
                if !bound.contains(&*text) && crate::who::other_namespaces_bind(&text, root) == Some(false) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
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
