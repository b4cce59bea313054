//! The collector: what builds a `Snapshot`, and keeps between snapshots what can be kept.
//!
//! A one-shot command collects once (`Collector::once`); `watch` and `serve` keep one
//! collector and call `collect` every refresh. Between calls it keeps its sock_diag socket and
//! receive buffer, the size of the last table (so the next one is allocated once), and the
//! owner cache: the fd tables of processes that have not run since they were read are not
//! read again (`procfs::fdscan::OwnerCache`). Every `FULL_WALK_EVERY` collections the cache is
//! dropped and every table read, for the rare ways a table changes while its process sleeps
//! (an fd added by a seccomp supervisor, a table shared with another process).
//!
//! Snapshots are immutable and handed out as `Arc`s, so a UI thread and an HTTP thread can
//! read one while the next is built.

use crate::filter::bytecode::{self, Compiled};
use crate::filter::{Expr, Pred};
use crate::model::{Endpoint, Netid, SockState, Socket};
use crate::netlink::{DiagSocket, NetlinkError, Query};
use crate::procfs::{self, fdscan};
use crate::snapshot::{KernelFilter, Snapshot, SnapshotError, SnapshotOptions, Source, eval_context};
use std::collections::HashMap;
use std::sync::Arc;

/// When a table kept for lookups (who holds this port, this connection) may be taken again
/// because a lookup missed: at most once a second, and never more than 2% of the time
/// (taking the table of a host with 100k sockets takes a fifth of a second).
#[derive(Clone, Copy, Debug, Default)]
pub struct LookupRefresh {
    /// When the table was last taken, and how long that took.
    taken: Option<(std::time::Instant, std::time::Duration)>,
}

impl LookupRefresh {
    const AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
    const SHARE: u32 = 50;

    /// Whether a miss may take the table again now (always, before the first).
    pub fn due(&self) -> bool {
        self.taken.is_none_or(|(at, took)| at.elapsed() >= Self::AT_MOST_EVERY.max(took * Self::SHARE))
    }

    /// Notes a taking of the table that began at `started` and has just ended.
    pub fn taken(&mut self, started: std::time::Instant) {
        self.taken = Some((std::time::Instant::now(), started.elapsed()));
    }
}

/// How many collections reuse the owner cache before one reads every table again.
pub const FULL_WALK_EVERY: u32 = 30;

/// Builds snapshots of one network namespace (the caller's) with fixed options.
pub struct Collector {
    opts: SnapshotOptions,
    /// Opened on first use and kept.
    diag: Option<DiagSocket>,
    /// The sock_diag sockets opened in other network namespaces, by namespace inode.
    others: HashMap<u64, Option<DiagSocket>>,
    /// Whether to keep the owner cache (not for a single look: remembering costs a little).
    incremental: bool,
    cache: fdscan::OwnerCache,
    collections: u32,
    /// Sockets in the last snapshot, to size the next one's table at once.
    last_len: usize,
    last_reuse: fdscan::Reuse,
}

impl Collector {
    /// A collector for repeated looks: it keeps the owner cache between them.
    pub fn new(opts: SnapshotOptions) -> Collector {
        Collector {
            opts,
            diag: None,
            others: HashMap::new(),
            incremental: true,
            cache: fdscan::OwnerCache::default(),
            collections: 0,
            last_len: 0,
            last_reuse: fdscan::Reuse::default(),
        }
    }

    /// A collector for one look (`take` it).
    pub fn once(opts: SnapshotOptions) -> Collector {
        Collector { incremental: false, ..Collector::new(opts) }
    }

    pub fn options(&self) -> &SnapshotOptions {
        &self.opts
    }

    /// How the last collection found owners: processes read, and taken from the cache.
    pub fn last_reuse(&self) -> fdscan::Reuse {
        self.last_reuse
    }

    /// A new snapshot, shared.
    pub fn collect(&mut self) -> Result<Arc<Snapshot>, SnapshotError> {
        self.build().map(Arc::new)
    }

    /// The one snapshot of a collector made with `once`.
    pub fn take(mut self) -> Result<Snapshot, SnapshotError> {
        self.build()
    }

    fn build(&mut self) -> Result<Snapshot, SnapshotError> {
        let opts = &self.opts;
        let mut snap = Snapshot::default();
        let sel = &opts.selection;
        let code = kernel_program(opts, &mut snap.warnings)?;
        let needs_owners =
            opts.filter.as_ref().is_some_and(|f| f.preds().iter().any(|p| matches!(p, Pred::Pid(_) | Pred::Comm(_))));
        self.collections += 1;
        if self.collections % FULL_WALK_EVERY == 1 {
            // A full walk: every table is read, and remembered for the next walks.
            self.cache = fdscan::OwnerCache::default();
        }
        let cache = self.incremental.then_some(&self.cache);
        let scan = if opts.owners || opts.threads || needs_owners {
            Some(fdscan::SharedScan::prepare(&opts.proc_root, opts.threads, cache, opts.owner_walk)?)
        } else {
            None
        };
        // The first look sizes its list from the kernel's counts: a list grown by doubling
        // holds up to twice the sockets' 152 bytes (160 MB at a million).
        let expected = if self.collections == 1 { expected_sockets(opts) } else { self.last_len + self.last_len / 8 };
        snap.sockets.reserve(expected);
        let diag = &mut self.diag;
        let others = &mut self.others;
        // The /proc walk runs on its own threads while this one dumps the sockets: both are
        // mostly kernel time, and they touch different locks.
        let scanned = std::thread::scope(|sc| -> Result<_, SnapshotError> {
            let workers: Vec<_> = match &scan {
                Some(scan) => (0..scan.workers().saturating_sub(1).max(1)).map(|_| sc.spawn(|| scan.work())).collect(),
                None => Vec::new(),
            };
            if !sel.is_empty() && opts.namespaces.is_empty() {
                let net_dir = procfs::net_dir(&opts.proc_root);
                match (&opts.tcp_diag_file, opts.source) {
                    (Some(file), _) if sel.has_netid(Netid::Tcp) => {
                        read_tcp_dump(&mut snap, file, sel)?;
                        let rest = sel.without(Netid::Tcp);
                        if !rest.is_empty() {
                            let others = SnapshotOptions { selection: rest, tcp_diag_file: None, ..opts.clone() };
                            dump(&mut snap, diag, &others, code.as_deref(), Some(&net_dir))?;
                        }
                    }
                    (_, Source::Proc) => {
                        procfs::net::collect(&net_dir, sel, None, &mut snap.sockets)?;
                        if sel.has_netid(Netid::Mptcp) {
                            mptcp_unread(&mut snap, "--source proc reads /proc/net, which has no file of them");
                        }
                    }
                    (_, Source::Netlink | Source::Auto) => {
                        dump(&mut snap, diag, opts, code.as_deref(), Some(&net_dir))?
                    }
                }
            } else if !sel.is_empty() {
                collect_namespaces(&mut snap, others, opts, code.as_deref())?;
                snap.namespaces.clone_from(&opts.namespaces);
            }
            fill_unix_peer_names(&mut snap.sockets);
            // This thread helps once the dump is done, then (alone by now) reads what the
            // walk could not open for lack of fds.
            let mine = scan.as_ref().map(|scan| scan.work());
            let mut found = Vec::with_capacity(workers.len() + 1);
            for w in workers {
                found.push(w.join().map_err(|_| SnapshotError::Unsupported("the /proc walk panicked".into()))?);
            }
            if let (Some(scan), Some(mut last)) = (&scan, mine) {
                scan.finish(&mut last);
                found.push(last);
            }
            Ok(scan.is_some().then(|| fdscan::merge(found)))
        })?;
        drop(scan);
        if let Some((index, cache, reuse)) = scanned {
            snap.owners = Some(index);
            self.cache = cache;
            self.last_reuse = reuse;
        }
        let opts = &self.opts;
        if !snap.namespaces.is_empty() && opts.containers {
            let labeler = crate::container::Labeler::new(&opts.proc_root);
            label_containers(&mut snap, labeler, || crate::names::cgroup_paths(&crate::host::cgroup2_root()));
        }
        if let Some(f) = &opts.filter
            && opts.kernel_filter != KernelFilter::Only
        {
            if f.preds().iter().any(|p| matches!(p, Pred::Autobound))
                && let Some(diag) = self.diag.as_mut()
            {
                // Whether a port was bound explicitly is the kernel's to say (sk_userlocks):
                // ask it, so user space answers as the kernel's filter does.
                let program = bytecode::compile(&Expr::Pred(Pred::Autobound)).program();
                snap.autobound = program.and_then(|p| diag.autobound_cookies(&p).ok());
            }
            let ctx = eval_context(f, &snap, &opts.proc_root);
            let keep: Vec<bool> = snap.sockets.iter().map(|s| f.keeps(s, ctx)).collect();
            let mut keep = keep.into_iter();
            snap.sockets.retain(|_| keep.next().unwrap_or(false));
        }
        self.last_len = snap.sockets.len();
        Ok(snap)
    }
}

/// Each namespace and socket labelled with the container that holds it. A namespace: from
/// the cgroup of a process in it. A socket: from its owners' cgroups (where the processes
/// are now) when it has known owners; else from the socket's own cgroup (where it was made;
/// the kernel reports it for inet sockets, so this works without owners), else from its
/// namespace's.
pub(crate) fn label_containers(
    snap: &mut Snapshot,
    mut labeler: crate::container::Labeler,
    cgroup_paths: impl FnOnce() -> HashMap<u64, String>,
) {
    use crate::model::Container;
    use std::sync::Arc;
    let mut by_ns: HashMap<u64, Arc<Container>> = HashMap::new();
    for ns in &mut snap.namespaces {
        if let Some(c) = ns.pid.and_then(|pid| labeler.of_pid(pid)) {
            ns.container = Some((*c).clone());
            by_ns.insert(ns.inode, c);
        }
    }
    let mut cgroup_paths = Some(cgroup_paths);
    let mut paths: Option<HashMap<u64, String>> = None;
    let mut by_cgroup: HashMap<u64, Option<Arc<Container>>> = HashMap::new();
    let owners = snap.owners.as_ref();
    for s in &mut snap.sockets {
        // Held by known processes: they decide, container or not.
        let mut held = false;
        let mut found = None;
        for o in owners.into_iter().flat_map(|idx| idx.owners(s.inode)) {
            held = true;
            found = labeler.of_pid(o.process.pid);
            if found.is_some() {
                break;
            }
        }
        if !held && let Some(id) = s.cgroup_id {
            found = by_cgroup
                .entry(id.get())
                .or_insert_with(|| {
                    let paths = paths.get_or_insert_with(|| cgroup_paths.take().map(|f| f()).unwrap_or_default());
                    paths.get(&id.get()).and_then(|path| labeler.of_path(path))
                })
                .clone();
        }
        if !held && found.is_none() {
            found = s.netns.and_then(|n| by_ns.get(&n.get()).cloned());
        }
        s.container = found;
    }
}

/// Every namespace asked for, on as many threads as there are cores: each namespace's dump
/// walks the kernel's TCP and UDP tables, which all namespaces share, so with many
/// namespaces the walks dominate, and they are independent. Each namespace is read into its
/// own partial snapshot (a refused filter program starts only its own over), merged in order.
fn collect_namespaces(
    snap: &mut Snapshot,
    others: &mut HashMap<u64, Option<DiagSocket>>,
    opts: &SnapshotOptions,
    code: Option<&[u8]>,
) -> Result<(), SnapshotError> {
    let mut slots: Vec<(&crate::model::Netns, Option<DiagSocket>)> =
        opts.namespaces.iter().map(|ns| (ns, others.remove(&ns.inode).flatten())).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, slots.len().max(1));
    let chunk = slots.len().div_ceil(threads).max(1);
    let own = crate::netns::own(&opts.proc_root);
    type Part<'a> = Result<(Snapshot, Vec<(&'a crate::model::Netns, String)>), SnapshotError>;
    let parts: Vec<Part<'_>> = std::thread::scope(|sc| {
        let readers: Vec<_> = slots
            .chunks_mut(chunk)
            .map(|part| {
                sc.spawn(move || {
                    let mut partial = Snapshot { kernel_filtered: true, ..Snapshot::default() };
                    let mut skipped = Vec::new();
                    for (ns, diag) in part.iter_mut() {
                        let mut one = Snapshot::default();
                        if let Some(why) = collect_netns(&mut one, diag, ns, own == Some(ns.inode), opts, code)? {
                            skipped.push((*ns, why));
                        }
                        absorb(&mut partial, one);
                    }
                    Ok((partial, skipped))
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|_| Err(SnapshotError::Unsupported("a namespace reader panicked".into()))))
            .collect()
    });
    for (ns, diag) in slots {
        others.insert(ns.inode, diag);
    }
    snap.kernel_filtered = code.is_some();
    let mut skipped = Vec::new();
    for part in parts {
        let (part, mut skips) = part?;
        absorb(snap, part);
        skipped.append(&mut skips);
    }
    snap.warnings.extend(skipped_note(&skipped, opts));
    Ok(())
}

/// One line per reason for the namespaces skipped: how many, which (the first few), and
/// whose (the owners of the processes in them).
fn skipped_note(skipped: &[(&crate::model::Netns, String)], opts: &SnapshotOptions) -> Vec<String> {
    let mut reasons: Vec<&str> = skipped.iter().map(|(_, why)| why.as_str()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    reasons
        .into_iter()
        .map(|why| {
            let these: Vec<&crate::model::Netns> =
                skipped.iter().filter(|(_, w)| w == why).map(|(ns, _)| *ns).collect();
            let mut names: Vec<String> =
                these.iter().take(5).map(|ns| crate::text::escape(&ns.label()).into_owned()).collect();
            if these.len() > 5 {
                names.push(format!("and {} more", these.len() - 5));
            }
            let mut owners: Vec<u32> = these
                .iter()
                .filter_map(|ns| ns.pid)
                .filter_map(|pid| rustix::fs::stat(opts.proc_root.join(pid.to_string())).ok().map(|st| st.st_uid))
                .collect();
            owners.sort_unstable();
            owners.dedup();
            let owners = if owners.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = owners.iter().map(u32::to_string).collect();
                format!("; their processes' owners: uid {}", list.join(", "))
            };
            format!(
                "skipped {} of {} network namespaces ({}): {why}{owners}",
                these.len(),
                opts.namespaces.len(),
                names.join(", ")
            )
        })
        .collect()
}

/// Adds a namespace's (or a reader's) partial snapshot to `snap`: sockets in order, what to
/// tell the user, and whether the kernel filtered them all.
fn absorb(snap: &mut Snapshot, mut part: Snapshot) {
    snap.kernel_filtered &= part.kernel_filtered;
    snap.sockets.append(&mut part.sockets);
    snap.warnings.append(&mut part.warnings);
    snap.fallbacks.append(&mut part.fallbacks);
    for t in part.fallback_tables {
        if !snap.fallback_tables.contains(&t) {
            snap.fallback_tables.push(t);
        }
    }
}

/// The sockets of another network namespace into `snap`, each marked with it: through a
/// sock_diag socket opened inside it (kept), and /proc/net read through a process inside it.
/// A namespace that cannot be read is skipped: the reason is returned.
fn collect_netns(
    snap: &mut Snapshot,
    diag: &mut Option<DiagSocket>,
    ns: &crate::model::Netns,
    callers: bool,
    opts: &SnapshotOptions,
    code: Option<&[u8]>,
) -> Result<Option<String>, SnapshotError> {
    let start = snap.sockets.len();
    let net_dir = ns.pid.map(|pid| opts.proc_root.join(pid.to_string()).join("net"));
    if opts.source == Source::Proc {
        match &net_dir {
            Some(dir) => {
                if let Err(e) = procfs::net::collect(dir, &opts.selection, None, &mut snap.sockets) {
                    return Ok(Some(e.to_string()));
                }
            }
            None => return Ok(Some("no process is in them, so their /proc/net cannot be read".into())),
        }
    } else {
        if diag.is_none() && callers {
            // The caller's own: no need (nor privilege) to enter it.
            *diag = Some(DiagSocket::open()?);
        }
        if diag.is_none() {
            match crate::netns::diag_socket_in(ns) {
                Ok(fd) => *diag = Some(DiagSocket::from_fd(fd)),
                Err(e) => return Ok(Some(e.reason())),
            }
        }
        dump(snap, diag, opts, code, net_dir.as_deref())?;
    }
    let inode = std::num::NonZeroU64::new(ns.inode);
    for s in &mut snap.sockets[start..] {
        s.netns = inode;
    }
    Ok(None)
}

/// The TCP sockets of a raw dump file (TCPDIAG_FILE), as ss reads them: up to the first
/// NLMSG_DONE. The kernel ran no filter on them: the caller's user-space pass does.
fn read_tcp_dump(snap: &mut Snapshot, file: &std::path::Path, sel: &crate::Selection) -> Result<(), SnapshotError> {
    let err = |why: String| SnapshotError::DumpFile { path: file.to_path_buf(), why };
    let input = std::fs::File::open(file).map_err(|e| err(e.to_string()))?;
    crate::netlink::rawdump::read_from(&mut std::io::BufReader::new(input), sel, &mut snap.sockets)
        .map_err(|e| err(e.to_string()))?;
    snap.warnings.push(format!(
        "TCP sockets read from the dump {} (TCPDIAG_FILE), not from the kernel: they are as they were when it was taken",
        file.display()
    ));
    Ok(())
}

/// `-D FILE` (ss -D): the TCP sockets `opts` selects, with the kernel running the filter,
/// written to `out` in ss's raw dump format. A filter the kernel cannot run cannot be
/// applied to a raw dump: that is an error, not a wider dump.
pub fn write_tcp_dump(opts: &SnapshotOptions, out: &mut dyn std::io::Write) -> Result<(), SnapshotError> {
    let code = match &opts.filter {
        None => None,
        Some(f) => match bytecode::compile(f) {
            Compiled::Program(code) => Some(code),
            Compiled::NoForm | Compiled::TooLong => {
                return Err(SnapshotError::Unsupported(
                    "-D writes what the kernel selects, and this filter cannot run in the kernel (it names Unix paths, owners or too many conditions)".into(),
                ));
            }
        },
    };
    let mut diag = DiagSocket::open()?;
    let ext = opts.extensions.inet_ext_for(Netid::Tcp);
    diag.dump_tcp_raw(&opts.selection, ext, code.as_deref(), out).map_err(|e| match e {
        crate::netlink::rawdump::RawDumpError::Netlink(n) => SnapshotError::Netlink(n),
        crate::netlink::rawdump::RawDumpError::Write(w) => {
            SnapshotError::DumpWrite(format!("cannot write the dump: {w}"))
        }
    })
}

/// The sock_diag dump into `snap`, through the kept socket (opened on first use), with the
/// /proc/net fallbacks `opts.source` allows (none without a `net_dir`).
fn dump(
    snap: &mut Snapshot,
    diag: &mut Option<DiagSocket>,
    opts: &SnapshotOptions,
    code: Option<&[u8]>,
    net_dir: Option<&std::path::Path>,
) -> Result<(), SnapshotError> {
    let sel = &opts.selection;
    let diag = match diag {
        Some(d) => d,
        None => match DiagSocket::open() {
            Ok(d) => diag.insert(d),
            Err(e) if opts.source == Source::Auto && net_dir.is_some() => {
                snap.warnings
                    .push(format!("{e}; reading /proc/net instead (no cookies, listener backlogs or Unix peers)"));
                procfs::net::collect(
                    net_dir.unwrap_or(std::path::Path::new("/proc/net")),
                    sel,
                    None,
                    &mut snap.sockets,
                )?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        },
    };
    diag.interrupted = false;
    // With several namespaces, each dump walks the whole host's TCP table: once, not per family.
    let one_walk = !opts.namespaces.is_empty();
    let mut query = Query { selection: *sel, extensions: opts.extensions, bytecode: code, one_walk };
    let mut result = diag.collect(&query, &mut snap.sockets);
    if code.is_some() && refused_program(&result) {
        snap.warnings.push(filter_in_user_space(opts, &result)?);
        snap.sockets.clear();
        query.bytecode = None;
        result = diag.collect(&query, &mut snap.sockets);
    } else {
        snap.kernel_filtered = code.is_some();
    }
    let mut failed = result?;
    if let Some(i) = failed.iter().position(|(n, _)| *n == Netid::Mptcp) {
        let (_, e) = failed.remove(i);
        mptcp_unread(snap, &e.to_string());
    }
    if diag.interrupted {
        snap.warnings
            .push("the kernel reported that sockets changed during the dump; some may be missing or doubled".into());
    }
    if let Some((_, e)) = failed.first()
        && opts.source == Source::Netlink
    {
        return Err(SnapshotError::Unsupported(format!("{e} (and --source netlink forbids reading /proc/net)")));
    }
    if !failed.is_empty() {
        let tables: Vec<Netid> = failed.iter().map(|(n, _)| *n).collect();
        snap.fallback_tables.clone_from(&tables);
        let mut seen = Vec::new();
        for (_, e) in &failed {
            let msg = e.to_string();
            if !seen.contains(&msg) {
                snap.fallbacks.push(format!("{msg}; read from /proc/net instead"));
                seen.push(msg);
            }
        }
        match net_dir {
            Some(dir) => procfs::net::collect(dir, sel, Some(&tables), &mut snap.sockets)?,
            None => snap
                .warnings
                .push("no process is in the namespace, so the tables sock_diag cannot dump are missing from it".into()),
        }
    }
    Ok(())
}

/// How many sockets a first look at `opts` may find, from sockstat's counts of the selected
/// IP tables in the caller's namespace (TCP in use and TIME-WAIT, UDP, raw) and a little
/// more for a table that grows meanwhile. 0 where that would overstate (a filter, no
/// established connections asked for) or cannot be told (other namespaces, other tables):
/// the list then grows as it must.
fn expected_sockets(opts: &SnapshotOptions) -> usize {
    let sel = &opts.selection;
    let counted = [Netid::Tcp, Netid::Udp, Netid::Raw].iter().any(|n| sel.has_netid(*n));
    if !counted || !opts.namespaces.is_empty() || opts.filter.is_some() || !sel.states.contains(SockState::Established)
    {
        return 0;
    }
    let net = procfs::net_dir(&opts.proc_root);
    let counts = procfs::counters::sockstat_from(|f| std::fs::read_to_string(net.join(f)).ok());
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut total = 0;
    if sel.has_netid(Netid::Tcp) {
        total += n("TCP.inuse") + n("TCP6.inuse") + n("TCP.tw");
    }
    if sel.has_netid(Netid::Udp) {
        total += n("UDP.inuse") + n("UDP6.inuse");
    }
    if sel.has_netid(Netid::Raw) {
        total += n("RAW.inuse") + n("RAW6.inuse");
    }
    let total = usize::try_from(total).unwrap_or(0);
    total + total / 64
}

/// The filter's kernel program, when the kernel is to run it: None without a filter, with
/// --kernel-filter off or --source proc, or for a filter no program can express (then
/// filtered in user space, said in `warnings` when it is too long). Refuses what cannot be
/// decided at all.
pub(crate) fn kernel_program(
    opts: &SnapshotOptions,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, SnapshotError> {
    let Some(f) = &opts.filter else { return Ok(None) };
    let compiled = match (opts.kernel_filter, opts.source) {
        (KernelFilter::Auto | KernelFilter::Only, Source::Auto | Source::Netlink) => Some(bytecode::compile(f)),
        _ => None,
    };
    if compiled == Some(Compiled::TooLong) {
        if opts.kernel_filter == KernelFilter::Only {
            return Err(SnapshotError::Unsupported(format!(
                "this filter compiles to a kernel program longer than the {} bytes sock_diag can carry; drop --kernel-filter only to filter in user space",
                bytecode::MAX_LEN
            )));
        }
        warnings.push(format!(
            "the filter is too long for a kernel program (over {} bytes); filtering in user space",
            bytecode::MAX_LEN
        ));
    }
    let code = compiled.and_then(Compiled::program);
    check_evaluable(f, code.is_some())?;
    if opts.kernel_filter == KernelFilter::Only && code.is_none() {
        return Err(SnapshotError::Unsupported(
            "this filter cannot run in the kernel (it names Unix paths, states or owners)".into(),
        ));
    }
    Ok(code)
}

/// The kernel would not run our program (fwmark needs CAP_NET_ADMIN; an old kernel may
/// lack an op). Filtering in user space instead is the same answer only when user space can
/// decide every condition: never widen the selection. Returns the warning to give, or why
/// the listing cannot be answered.
pub(crate) fn filter_in_user_space(
    opts: &SnapshotOptions,
    result: &Result<Vec<(Netid, NetlinkError)>, NetlinkError>,
) -> Result<String, SnapshotError> {
    let why = match result {
        Err(e) => e.to_string(),
        Ok(failed) => failed.first().map(|(_, e)| e.to_string()).unwrap_or_default(),
    };
    if opts.kernel_filter == KernelFilter::Only {
        return Err(SnapshotError::Unsupported(format!(
            "the kernel refused the filter program ({why}), and --kernel-filter only forbids filtering in user space"
        )));
    }
    if let Some(f) = &opts.filter {
        check_evaluable(f, false).map_err(|_| {
            SnapshotError::Unsupported(format!(
                "the kernel refused the filter program ({why}); its fwmark or cgroup conditions cannot be decided in user space (they need CAP_NET_ADMIN)"
            ))
        })?;
    }
    Ok(format!("the kernel refused the filter program ({why}); filtering in user space"))
}

/// MPTCP sockets could not be read (no mptcp_diag, or /proc asked for): said when the
/// kernel has MPTCP, so some may exist; a kernel without it has none, and nothing is missing.
pub(crate) fn mptcp_unread(snap: &mut Snapshot, why: &str) {
    if kernel_has_mptcp() {
        snap.warnings.push(format!("MPTCP sockets are not listed: {why}"));
    }
}

/// Whether this kernel has MPTCP (its sysctl directory), whatever its diag module.
pub(crate) fn kernel_has_mptcp() -> bool {
    std::path::Path::new("/proc/sys/net/mptcp").exists()
}

pub(crate) fn refused_program(result: &Result<Vec<(Netid, NetlinkError)>, NetlinkError>) -> bool {
    let refused = |e: &NetlinkError| match e {
        NetlinkError::Io { errno, .. } | NetlinkError::Unsupported { errno, .. } => {
            *errno == rustix::io::Errno::PERM || *errno == rustix::io::Errno::INVAL
        }
        _ => false,
    };
    match result {
        Err(e) => refused(e),
        Ok(failed) => failed.iter().any(|(n, e)| matches!(n, Netid::Tcp | Netid::Udp | Netid::Raw) && refused(e)),
    }
}

/// Conditions only the kernel can decide must reach it.
pub(crate) fn check_evaluable(f: &Expr, in_kernel: bool) -> Result<(), SnapshotError> {
    if in_kernel {
        return Ok(());
    }
    for p in f.preds() {
        let what = match p {
            Pred::Fwmark { .. } => "fwmark",
            Pred::Cgroup { .. } => "cgroup",
            _ => continue,
        };
        return Err(SnapshotError::Unsupported(format!(
            "'{what}' is decided by the kernel's filter: use it with sock_diag (not --source proc, not --kernel-filter off) and with conditions the kernel understands (no Unix paths, states, --pid or --comm in the same filter)"
        )));
    }
    Ok(())
}

/// A connected Unix socket's peer end is shown by the peer's bound name when the peer is in
/// the snapshot (the client of /run/x.sock has /run/x.sock as its peer).
fn fill_unix_peer_names(sockets: &mut [Socket]) {
    let named: HashMap<u64, Box<crate::model::UnixName>> = sockets
        .iter()
        .filter_map(|s| match &s.local {
            Endpoint::Unix { name: Some(n), inode } => Some((*inode, n.clone())),
            _ => None,
        })
        .collect();
    if named.is_empty() {
        return;
    }
    for s in sockets.iter_mut() {
        if let Endpoint::Unix { name: name @ None, inode } = &mut s.peer
            && *inode != 0
        {
            *name = named.get(inode).cloned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StateSet;
    use crate::select::Selection;
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    /// (inode, fd) of the connections to `port` that process `pid` holds (other sockets it may
    /// have inherited from tests running beside this one are left out).
    fn owners_of(snap: &Snapshot, pid: u32, port: u16) -> Vec<(u64, u32)> {
        let Some(index) = &snap.owners else { return Vec::new() };
        let mut found: Vec<(u64, u32)> = snap
            .sockets
            .iter()
            .filter(|s| s.peer.port() == Some(port))
            .flat_map(|s| index.owners(s.inode).filter(|o| o.process.pid == pid).map(|o| (s.inode, o.fd)))
            .collect();
        // By fd: inode numbers come from per-CPU batches, not in creation order.
        found.sort_unstable_by_key(|&(inode, fd)| (fd, inode));
        found
    }

    /// A sleeping process is taken from the cache; once it runs and connects, its new socket
    /// is found; every answer equals a fresh collector's.
    #[test]
    fn a_process_that_did_not_run_is_not_read_again_and_one_that_did_is() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // bash, holding enough fds to be remembered, waits on stdin, then connects. It first
        // closes what it inherited from tests running beside this one.
        let script = format!(
            "for fd in /proc/$$/fd/*; do fd=${{fd##*/}}; [ $fd -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null
             exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null 8</dev/null 9</dev/null
             exec 10<>/dev/tcp/127.0.0.1/{port}; echo ready; read line
             exec 11<>/dev/tcp/127.0.0.1/{port}; echo connected; read line"
        );
        let mut child = Command::new("bash")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn bash");
        let pid = child.id();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
        // On a loaded machine bash may still be on its way from `echo` to `read`: wait until
        // it sleeps and its run time holds still, or the cache rightly reads it again.
        let schedstat = || std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap_or_default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let before = schedstat();
            std::thread::sleep(std::time::Duration::from_millis(50));
            let state = std::fs::read(format!("/proc/{pid}/stat"))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let sleeping = state.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('S'));
            if (sleeping && schedstat() == before) || std::time::Instant::now() > deadline {
                break;
            }
        }

        let mut opts = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], StateSet::ALL));
        opts.owners = true;
        // The cache belongs to the /proc walk (the kernel's iterator needs none).
        opts.owner_walk = crate::OwnerWalk::Proc;
        let mut collector = Collector::new(opts.clone());
        let first = collector.collect().expect("collect");
        let held = owners_of(&first, pid, port);
        assert_eq!(held.iter().map(|&(_, fd)| fd).collect::<Vec<_>>(), vec![10], "{held:?}");
        assert!(collector.last_reuse().read > 0);

        let second = collector.collect().expect("collect");
        assert_eq!(owners_of(&second, pid, port), held);
        assert!(collector.last_reuse().reused > 0, "{:?}", collector.last_reuse());

        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "go").expect("write");
        assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("connected"));
        let third = collector.collect().expect("collect");
        let fresh = Collector::once(opts).take().expect("collect");
        let now = owners_of(&third, pid, port);
        assert_eq!(now.iter().map(|&(_, fd)| fd).collect::<Vec<_>>(), vec![10, 11], "{now:?}");
        assert_eq!(now, owners_of(&fresh, pid, port));

        drop(stdin);
        let _ = child.wait();
    }

    #[test]
    fn a_full_walk_comes_round() {
        let mut opts = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], StateSet::ALL));
        opts.owners = true;
        opts.owner_walk = crate::OwnerWalk::Proc;
        let mut collector = Collector::new(opts);
        for n in 1..=FULL_WALK_EVERY + 1 {
            collector.collect().expect("collect");
            if n == FULL_WALK_EVERY + 1 {
                assert_eq!(collector.last_reuse().reused, 0, "collection {n} reads every table");
            }
        }
    }
}
