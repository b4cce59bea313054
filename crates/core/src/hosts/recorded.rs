//! Answering from a frame what the live readers answer from the kernel: the snapshot a
//! selection and filter give, the kernel's text files, and the owner index.

use super::frame::{Frame, TableSource};
use crate::filter::Pred;
use crate::model::{Netid, SockState, StateSet};
use crate::snapshot::{KernelFilter, Snapshot, SnapshotError, SnapshotOptions, eval_context};
use std::collections::HashMap;

/// Every state, and bound-but-inactive sockets too: what a capture holds.
pub fn every_state() -> StateSet {
    StateSet(StateSet::ALL.0 | SockState::BoundInactive.bit())
}

/// The snapshot `opts` asks for, from a frame: the sockets its selection and filter keep,
/// with the details its extensions ask for, and the owners when asked.
pub fn snapshot(frame: &Frame, opts: &SnapshotOptions) -> Result<Snapshot, SnapshotError> {
    let unsupported = |what: &str| Err(SnapshotError::Unsupported(format!("{what} cannot be answered from a capture")));
    if opts.threads {
        return unsupported("owners per thread (-T)");
    }
    if let Some(f) = &opts.filter
        && f.preds().iter().any(|p| matches!(p, Pred::Autobound))
    {
        return unsupported("'autobound' (the kernel's to say, at the moment of asking)");
    }
    let mut snap = Snapshot::default();
    // Text from a file, which anyone may have written: escaped as a live name is, so it reads
    // the same wherever it is printed (live warnings escape the names they hold).
    snap.warnings.extend(frame.warnings.iter().map(|w| crate::text::escape(w).into_owned()));
    if opts.namespaces.is_empty() {
        sockets(&frame.tables, opts, &mut snap);
    } else {
        for ns in &opts.namespaces {
            let tables = if Some(ns.inode) == frame.own_netns {
                Some(&frame.tables)
            } else {
                frame.namespaces.iter().find(|r| r.inode == ns.inode).map(|r| &r.tables)
            };
            let Some(tables) = tables else {
                snap.warnings.push(format!("the capture does not hold the network namespace {}", ns.label()));
                continue;
            };
            let start = snap.sockets.len();
            sockets(tables, opts, &mut snap);
            for s in &mut snap.sockets[start..] {
                s.netns = std::num::NonZeroU64::new(ns.inode);
            }
        }
        snap.namespaces.clone_from(&opts.namespaces);
    }
    let needs_owners =
        opts.filter.as_ref().is_some_and(|f| f.preds().iter().any(|p| matches!(p, Pred::Pid(_) | Pred::Comm(_))));
    if opts.owners || needs_owners {
        snap.owners = Some(frame.owner_index());
    }
    if opts.containers && !opts.namespaces.is_empty() {
        let cgroups = frame.processes.iter().filter_map(|p| Some((p.pid, p.cgroup.clone()?))).collect();
        let pods = frame.pods.iter().map(|(uid, ns, name)| (uid.clone(), (ns.clone(), name.clone()))).collect();
        let paths = || frame.cgroups.iter().cloned().collect();
        // As live: from the owners when they were asked for, else the sockets' own cgroups.
        crate::collector::label_containers(&mut snap, crate::container::Labeler::recorded(cgroups, pods), paths);
    }
    if let Some(f) = &opts.filter
        && opts.kernel_filter != KernelFilter::Only
    {
        let ctx = eval_context(f, &snap, &opts.proc_root);
        let keep: Vec<bool> = snap.sockets.iter().map(|s| f.keeps(s, ctx)).collect();
        let mut keep = keep.into_iter();
        snap.sockets.retain(|_| keep.next().unwrap_or(false));
    }
    Ok(snap)
}

/// The frame's sockets `opts.selection` selects, in the order a live dump gives them: the
/// sock_diag tables first, then those read from /proc/net (as the live fallback appends them).
fn sockets(tables: &[super::frame::Table], opts: &SnapshotOptions, snap: &mut Snapshot) {
    let sel = &opts.selection;
    let mut scratch = Vec::new();
    let mut fell_back = Vec::new();
    for t in tables {
        let selected: Vec<Netid> = t.name.netids().iter().copied().filter(|n| sel.has_netid(*n)).collect();
        if selected.is_empty() {
            continue;
        }
        match &t.source {
            TableSource::Netlink(bytes) => {
                let mut r = super::codec::Reader::new(bytes.bytes());
                while let Ok(payload) = r.bytes() {
                    if let Some(s) =
                        crate::netlink::parse::recorded(payload, selected[0], opts.extensions, &mut scratch)
                            .filter(|s| sel.matches(s))
                    {
                        snap.sockets.push(s);
                    }
                }
            }
            TableSource::ProcNet { failure, .. } => {
                fell_back.push((t, selected.clone()));
                if !snap.fallbacks.contains(failure) {
                    snap.fallbacks.push(failure.clone());
                }
                for n in selected {
                    if !snap.fallback_tables.contains(&n) {
                        snap.fallback_tables.push(n);
                    }
                }
            }
        }
    }
    for (t, selected) in fell_back {
        let TableSource::ProcNet { files, .. } = &t.source else { continue };
        for (file, text) in files {
            // The family of the file, as the live fallback reads it.
            let found = t.name.netids().iter().flat_map(|n| crate::procfs::net::files(*n)).find(|(f, _)| f == file);
            let Some(&(_, family)) = found else {
                snap.warnings.push(format!("the capture's /proc/net/{file} is not a file of its table: left out"));
                continue;
            };
            if !sel.has_family(family) {
                continue;
            }
            // Parsed when it was read; text that no longer parses is left out, said once.
            match crate::procfs::net::parse_file(file, family, text) {
                Ok(parsed) => {
                    snap.sockets.extend(parsed.into_iter().filter(|s| sel.matches(s) && selected.contains(&s.netid)))
                }
                Err((line, what)) => snap.warnings.push(format!("the capture's /proc/net/{file} line {line}: {what}")),
            }
        }
    }
}

impl Frame {
    /// How many sockets the look holds (counted without parsing them).
    pub fn socket_count(&self) -> usize {
        self.tables
            .iter()
            .map(|t| match &t.source {
                TableSource::Netlink(bytes) => {
                    let mut r = super::codec::Reader::new(bytes.bytes());
                    std::iter::from_fn(|| r.bytes().ok()).count()
                }
                // A header line, then a socket a line.
                TableSource::ProcNet { files, .. } => {
                    files.iter().map(|(_, t)| t.lines().count().saturating_sub(1)).sum()
                }
            })
            .sum()
    }

    /// A kernel text file as it was (`net/netstat`, `sys/fs/file-nr`).
    pub fn file(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    /// The whitespace-separated numbers of a /proc/sys file (`net/core/somaxconn`), as
    /// `procfs::sysctl::read_u64s` reads them live.
    pub fn sysctl_u64s(&self, name: &str) -> Vec<u64> {
        self.file(&format!("sys/{name}")).map(crate::procfs::sysctl::parse_u64s).unwrap_or_default()
    }

    /// netstat, snmp and snmp6, as `procfs::counters::read` reads them live.
    pub fn counters(&self) -> HashMap<String, u64> {
        counters_of(&self.files)
    }

    /// sockstat and sockstat6.
    pub fn sockstat(&self) -> HashMap<String, u64> {
        crate::procfs::counters::sockstat_from(|f| self.file(&format!("net/{f}")).map(str::to_string))
    }
}

/// The counters of a set of kernel files (a look's, or its second look's).
pub fn counters_of(files: &std::collections::BTreeMap<String, String>) -> HashMap<String, u64> {
    crate::procfs::counters::read_from(|f| files.get(&format!("net/{f}")).cloned())
}
