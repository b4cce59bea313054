//! The recorder (`sockscope record`): one frame of what a `LiveHost` reads — every socket
//! table with every extension, every process's fd table, limits and command line, the
//! kernel's counters and sysctls, the options of the sockets `TakeOptions` names, and a
//! second look a window later — for a `CaptureHost` to answer from later.

use super::host::Host;
use super::live::LiveHost;
use crate::capture::frame::{Frame, ProcessRecord, SecondLook, Table, TableName, TableSource};
use crate::capture::spool::Spooler;
use crate::model::{FdKind, FdName, StateSet};
use crate::netlink::request::{self, Extensions};
use crate::netlink::{DiagSocket, NetlinkError};
use crate::procfs::process::Unreadable;
use crate::snapshot::{SnapshotError, SnapshotOptions};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a recording reads, and how.
#[derive(Clone, Debug)]
pub struct TakeOptions {
    pub proc_root: PathBuf,
    /// Leave command lines out.
    pub redact: bool,
    /// The doctor's second look this long after the first (zero: none).
    pub window: Duration,
    /// Where the doctor looks for stale Unix socket files.
    pub stale_dirs: Vec<PathBuf>,
    /// Every network namespace on the host, not only the recording thread's.
    pub all_netns: bool,
    /// Also every socket fd's fdinfo and every held socket's options (`record --full`):
    /// what `fds` and `--sockopts` show of each socket. Without it, options are read for
    /// what `options_of` names.
    pub full: bool,
    /// Whose options a recording without `full` keeps.
    pub options_of: OptionsOf,
}

/// The sockets whose options (and TCP traffic) a recording keeps besides `--full`: every
/// listener, and the owned TCP connections idle for `idle_for` or with a round trip of
/// `rtt_from` (the connections NAT timeouts and Nagle stalls hurt), at most `at_most` of them.
#[derive(Clone, Debug)]
pub struct OptionsOf {
    pub idle_for: Duration,
    pub rtt_from: Duration,
    pub at_most: usize,
}

impl Default for OptionsOf {
    fn default() -> Self {
        OptionsOf { idle_for: Duration::from_secs(350), rtt_from: Duration::from_millis(20), at_most: 10_000 }
    }
}

impl Default for TakeOptions {
    fn default() -> Self {
        TakeOptions {
            proc_root: PathBuf::from("/proc"),
            redact: false,
            window: Duration::from_secs(1),
            stale_dirs: ["/run", "/var/run", "/tmp"].iter().map(PathBuf::from).collect(),
            all_netns: false,
            full: false,
            options_of: OptionsOf::default(),
        }
    }
}

/// Every extension a command may ask for: a capture answers any of them. (The inet options
/// come with every socket's raw record, which the capture keeps, whatever is asked: not
/// parsed while recording.)
pub const EVERYTHING: Extensions =
    Extensions { memory: true, tcp_info: true, tos: true, vitals: false, extended: true, inet_sockopt: false };

/// The kernel text files a frame keeps, by path under /proc (the network ones of the
/// recording thread's namespace).
pub const KERNEL_FILES: [&str; 15] = [
    "net/netstat",
    "net/protocols",
    "net/snmp",
    "net/snmp6",
    "net/sockstat",
    "net/sockstat6",
    "sys/net/core/somaxconn",
    "sys/net/ipv4/tcp_max_tw_buckets",
    "sys/net/ipv4/tcp_max_orphans",
    "sys/net/ipv4/tcp_mem",
    "sys/net/ipv4/ip_local_port_range",
    "sys/fs/file-nr",
    "sys/fs/file-max",
    "sys/fs/nr_open",
    "sys/net/ipv4/tcp_fin_timeout",
];

/// The counters the doctor's second look reads again.
const LATER_FILES: [&str; 3] = ["net/netstat", "net/snmp", "net/snmp6"];

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// One look at the host.
pub fn take(opts: &TakeOptions) -> Result<Frame, SnapshotError> {
    let root = &opts.proc_root;
    let host = LiveHost::new(root.clone());
    let mut frame = Frame { taken_at_ns: now_ns(), ..Frame::default() };
    let pids = host.pids()?;
    let read = crate::procfs::fdtable::ReadOptions { fdinfo: true, specials: true, skip_socket_fdinfo: !opts.full };
    frame.full = opts.full;
    // The tables are dumped while the fd tables are read on the other cores.
    let (tables, tables_read) = std::thread::scope(|sc| {
        let dump = sc.spawn(|| dump_tables(DiagSocket::open(), &crate::procfs::net_dir(root)));
        let tables_read = host.fd_tables(&pids, read);
        (dump.join(), tables_read)
    });
    let (tables, interrupted) =
        tables.unwrap_or_else(|_| Err(SnapshotError::Unsupported("the socket dump panicked".into())))?;
    frame.tables = tables;
    if interrupted {
        frame
            .warnings
            .push("the kernel reported that sockets changed during the dump; some may be missing or doubled".into());
    }
    frame.hidepid = host.hidepid();
    for (pid, t) in pids.iter().zip(tables_read) {
        match t {
            Ok(p) => {
                let cmdline =
                    if opts.redact { None } else { std::fs::read(root.join(pid.to_string()).join("cmdline")).ok() };
                frame.processes.push(ProcessRecord {
                    pid: p.pid,
                    command: p.command,
                    uid: p.uid,
                    limit: p.limit,
                    cmdline,
                    fds: p.fds,
                    protocols: Vec::new(),
                    in_our_netns: true,
                    cgroup: crate::text::read_lines(root.join(pid.to_string()).join("cgroup")).ok(),
                });
            }
            Err(Unreadable::Gone) => frame.vanished += 1,
            Err(Unreadable::Denied(why)) => frame.unreadable.push((*pid, why)),
        }
    }
    frame.own_netns = host.own_netns();
    if opts.all_netns {
        other_namespaces(&mut frame, &host)?;
    }
    for name in KERNEL_FILES {
        if let Some(text) = host.text_of(name) {
            frame.files.insert(name.to_string(), text);
        }
    }
    // What the commands would read of sockets that are not in the dump, the options
    // `options_of` names and the stale socket files: from the look just taken, as a capture
    // replays it, one socket at a time (a million parsed sockets would be ~300 MB; the few
    // these need are kept).
    let mut first = SnapshotOptions::new(crate::Selection::resolve(&[], &[], StateSet::EVERY));
    first.extensions = Extensions { vitals: true, ..Extensions::default() };
    first.proc_root = root.clone();
    let owners = frame.owner_index();
    let mut wanted = Wanted::new(&opts.options_of, opts.full, &owners);
    super::recorded::each_socket(&frame.tables, &first, &mut crate::Snapshot::default(), |s| wanted.offer(s))?;
    let Wanted { mut listed, listeners, connections, bound, .. } = wanted;
    listed.sort_unstable();
    note_unlisted_sockets(&mut frame, &listed, &host);
    drop(listed);
    frame.stale_dirs = opts.stale_dirs.iter().map(|d| crate::text::path_text(d)).collect();
    frame.stale = host.stale_socket_files(&opts.stale_dirs, &bound).iter().map(|p| crate::text::path_text(p)).collect();
    // The options (and TCP traffic) of the sockets chosen; with `full`, of every held
    // socket, so that `--sockopts`, `fds -o` and `who` answer as they would have live.
    let snap = crate::Snapshot {
        sockets: listeners.into_iter().chain(connections).collect(),
        owners: Some(owners),
        ..crate::Snapshot::default()
    };
    let kept: Vec<&crate::Socket> = snap.sockets.iter().collect();
    frame.options = host.socket_options(&snap, &kept, true);
    drop(kept);
    drop(snap);
    frame.cgroups = host.cgroup_paths().into_iter().collect();
    frame.cgroups.sort_unstable();
    if !opts.window.is_zero() {
        // Whole: a replay may judge it with other thresholds.
        let later = host.second_look(opts.window, &[], &|_| true)?;
        let mut files = std::collections::BTreeMap::new();
        for name in LATER_FILES {
            if let Some(text) = host.text_of(name) {
                files.insert(name.to_string(), text);
            }
        }
        frame.later = Some(SecondLook {
            taken_at_ns: now_ns(),
            window_ns: u64::try_from(opts.window.as_nanos()).unwrap_or(u64::MAX),
            tcp: later.second.iter().map(|(cookie, l)| (cookie, l.state.to_kernel(), l.recv_q, l.send_q)).collect(),
            files,
        });
    }
    Ok(frame)
}

/// The sockets of a look the recorder reads more of, chosen as the look is read back:
/// every listener, and the owned TCP connections idle or slow enough (`OptionsOf`), the
/// first `at_most` of them; with `full`, every socket with an inode.
struct Wanted<'a> {
    of: &'a OptionsOf,
    full: bool,
    owners: &'a crate::model::OwnerIndex,
    /// Every socket's inode, to tell which held sockets the dump did not list.
    listed: Vec<u64>,
    listeners: Vec<crate::Socket>,
    connections: Vec<crate::Socket>,
    /// The paths Unix sockets are bound to, for the stale-socket rule.
    bound: HashSet<Box<str>>,
}

impl<'a> Wanted<'a> {
    fn new(of: &'a OptionsOf, full: bool, owners: &'a crate::model::OwnerIndex) -> Wanted<'a> {
        Wanted {
            of,
            full,
            owners,
            listed: Vec::new(),
            listeners: Vec::new(),
            connections: Vec::new(),
            bound: HashSet::new(),
        }
    }

    fn offer(&mut self, s: crate::Socket) {
        use crate::SockState;
        self.listed.push(s.inode);
        if let Some(path) = super::live::bound_path(&s)
            && !self.bound.contains(path)
        {
            self.bound.insert(path.into());
        }
        if s.inode == 0 {
            return;
        }
        if self.full {
            self.connections.push(s);
        } else if s.state == SockState::Listen {
            self.listeners.push(s);
        } else if self.connections.len() < self.of.at_most
            && s.netid == crate::Netid::Tcp
            && s.state == SockState::Established
            && self.owners.has_owner(s.inode)
            && self.slow_or_idle(&s)
        {
            self.connections.push(s);
        }
    }

    fn slow_or_idle(&self, s: &crate::Socket) -> bool {
        let idle_ms = u64::try_from(self.of.idle_for.as_millis()).unwrap_or(u64::MAX);
        let rtt_us = u64::try_from(self.of.rtt_from.as_micros()).unwrap_or(u64::MAX);
        s.vitals().is_some_and(|v| {
            let idle = u64::from(v.last_data_sent_ms().unwrap_or(0).min(v.last_data_recv_ms().unwrap_or(0)));
            idle >= idle_ms || v.rtt_us().is_some_and(|r| u64::from(r) >= rtt_us)
        })
    }
}

/// For each socket fd the dump did not list (not bound, or of another namespace), the
/// protocol the kernel names and whether its process shares our namespace, as `fds` shows.
/// `listed`: every inode the dump holds, sorted.
fn note_unlisted_sockets(frame: &mut Frame, listed: &[u64], host: &LiveHost) {
    for p in &mut frame.processes {
        let mut asked = false;
        for e in p.fds.iter() {
            let (FdKind::Socket, Some(inode), FdName::Number(fd)) = (&e.kind, e.inode, e.fd) else { continue };
            if listed.binary_search(&inode).is_ok() {
                continue;
            }
            if let Some(name) = host.socket_protocol(p.pid, &e.fd) {
                p.protocols.push((fd, name));
            }
            if !asked {
                asked = true;
                p.in_our_netns = host.shares_netns(p.pid);
            }
        }
    }
}

/// Every other network namespace's tables, through a sock_diag socket opened inside each
/// (their /proc/net through a process in them, for tables sock_diag cannot dump); and the
/// pods' names, to label their containers. A namespace that cannot be entered is skipped,
/// with a warning that says which and why.
fn other_namespaces(frame: &mut Frame, host: &LiveHost) -> Result<(), SnapshotError> {
    use crate::capture::frame::NetnsRecord;
    let root = host.proc_root();
    for ns in host.namespaces()? {
        if Some(ns.inode) == frame.own_netns {
            // Its sockets are the frame's own tables; its name and process are kept here.
            frame.namespaces.push(NetnsRecord {
                inode: ns.inode,
                name: ns.name.clone(),
                pid: ns.pid,
                tables: Vec::new(),
            });
            continue;
        }
        let diag = match crate::netns::diag_socket_in(&ns) {
            Ok(fd) => Ok(DiagSocket::from_fd(fd)),
            Err(e) => {
                frame.warnings.push(format!("skipped the network namespace {}: {}", ns.label(), e.reason()));
                continue;
            }
        };
        let net_dir = ns.pid.map_or_else(PathBuf::new, |pid| root.join(pid.to_string()).join("net"));
        let (tables, interrupted) = dump_tables(diag, &net_dir)?;
        if interrupted {
            frame.warnings.push(format!("the kernel reported that sockets changed during the dump of {}", ns.label()));
        }
        frame.namespaces.push(NetnsRecord { inode: ns.inode, name: ns.name.clone(), pid: ns.pid, tables });
    }
    let pods_dir = std::env::var_os("SOCKSCOPE_POD_LOGS")
        .map_or_else(|| PathBuf::from(crate::container::POD_LOGS_DIR), PathBuf::from);
    frame.pods = crate::container::pod_names(&pods_dir).into_iter().map(|(uid, (ns, name))| (uid, ns, name)).collect();
    frame.pods.sort_unstable();
    Ok(())
}

/// Every table with every extension, as the kernel sends it; a table sock_diag cannot dump
/// is read from `net_dir` (the namespace's /proc/net). Also whether the kernel said a dump
/// was interrupted.
fn dump_tables(diag: Result<DiagSocket, NetlinkError>, net_dir: &Path) -> Result<(Vec<Table>, bool), SnapshotError> {
    let mut diag = match diag {
        Ok(d) => Some(d),
        Err(e @ NetlinkError::Open(_)) => {
            let why = format!("{e}; reading /proc/net instead (no cookies, listener backlogs or Unix peers)");
            return Ok((TableName::ALL.iter().map(|t| proc_net_table(*t, why.clone(), net_dir)).collect(), false));
        }
        Err(e) => return Err(e.into()),
    };
    let mut tables = Vec::new();
    let mut interrupted = false;
    for name in TableName::ALL {
        let Some(d) = diag.as_mut() else { break };
        d.interrupted = false;
        // Compressed as they arrive: a million sockets' replies are ~400 MB raw.
        let mut spool = Spooler::new().map_err(spool_error)?;
        let mut keep = |p: &[u8]| spool.push(p);
        let result = match name {
            TableName::Tcp | TableName::Udp | TableName::Raw => {
                let (proto, label) = match name {
                    TableName::Tcp => (request::IPPROTO_TCP, "tcp"),
                    TableName::Udp => (request::IPPROTO_UDP, "udp"),
                    _ => (request::IPPROTO_RAW, "raw"),
                };
                let ext = EVERYTHING.inet_ext();
                let states = StateSet::EVERY;
                d.dump(label, &request::inet(request::AF_INET, proto, states, ext), &mut keep)
                    .and_then(|()| d.dump(label, &request::inet(request::AF_INET6, proto, states, ext), &mut keep))
            }
            TableName::Unix => d.dump("unix", &request::unix(StateSet::EVERY, EVERYTHING), &mut keep),
            TableName::Packet => d.dump("packet", &request::packet(EVERYTHING), &mut keep),
            TableName::Netlink => d.dump("netlink", &request::netlink(EVERYTHING), &mut keep),
            TableName::Mptcp => {
                let (ext, states) = (EVERYTHING.inet_ext(), StateSet::EVERY);
                let ask = |af| request::inet_any(af, request::IPPROTO_MPTCP, states, ext, None).unwrap_or_default();
                match d.dump("mptcp", &ask(request::AF_INET), &mut keep) {
                    Ok(()) => d.dump("mptcp", &ask(request::AF_INET6), &mut keep),
                    // A kernel without MPTCP has no MPTCP sockets: an empty table says so.
                    Err(NetlinkError::Unsupported { .. }) if !crate::collector::kernel_has_mptcp() => Ok(()),
                    Err(e) => Err(e),
                }
            }
        };
        interrupted |= d.interrupted;
        match result {
            Ok(()) => tables.push(Table { name, source: TableSource::Spooled(spool.finish().map_err(spool_error)?) }),
            Err(e @ NetlinkError::Unsupported { .. }) if name == TableName::Mptcp => {
                tables.push(Table { name, source: TableSource::ProcNet { failure: e.to_string(), files: Vec::new() } });
            }
            Err(e @ NetlinkError::Unsupported { .. }) => {
                tables.push(proc_net_table(name, format!("{e}; read from /proc/net instead"), net_dir));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((tables, interrupted))
}

fn spool_error(e: std::io::Error) -> SnapshotError {
    SnapshotError::Unsupported(format!("cannot compress the socket tables while recording them: {e}"))
}

/// A table read from /proc/net: the text of its files, and why sock_diag was not used.
fn proc_net_table(name: TableName, failure: String, dir: &Path) -> Table {
    let mut files = Vec::new();
    let mut seen = Vec::new();
    for netid in name.netids() {
        for (file, _) in crate::procfs::net::files(*netid) {
            if seen.contains(file) {
                continue;
            }
            seen.push(file);
            if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
                files.push((file.to_string(), text));
            }
        }
    }
    Table { name, source: TableSource::ProcNet { failure, files } }
}
