//! Taking a frame from the running host (`sockscope record`): every socket table with every
//! extension, every process's fd table, limits and command line, the kernel's counters and
//! sysctls, the options the rules judge, and the doctor's second look.

use super::frame::{Frame, ProcessRecord, SecondLook, Table, TableName, TableSource};
use crate::model::{FdKind, FdName, Netid};
use crate::netlink::request::{self, Extensions};
use crate::netlink::{DiagSocket, NetlinkError};
use crate::procfs::process::{self, Unreadable};
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
    /// what `fds` and `--sockopts` show of each socket. Without it, options are read for the
    /// listeners and the connections the doctor judges.
    pub full: bool,
}

impl Default for TakeOptions {
    fn default() -> Self {
        let doctor = crate::diagnose::observe::ObserveOptions::default();
        TakeOptions {
            proc_root: doctor.proc_root,
            redact: false,
            window: doctor.window,
            stale_dirs: doctor.stale_dirs,
            all_netns: false,
            full: false,
        }
    }
}

/// Every extension a command may ask for: a capture answers any of them.
pub const EVERYTHING: Extensions =
    Extensions { memory: true, tcp_info: true, tos: true, vitals: false, extended: true };

/// The kernel text files a frame keeps, by path under /proc (the network ones of the
/// recording thread's namespace).
pub const KERNEL_FILES: [&str; 14] = [
    "net/netstat",
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
    let mut frame = Frame { taken_at_ns: now_ns(), ..Frame::default() };
    let pids = process::pids(root).map_err(|cause| crate::ProcError::Read { path: root.clone(), cause })?;
    let read = crate::fdview::ReadOptions { fdinfo: true, specials: true, skip_socket_fdinfo: !opts.full };
    frame.full = opts.full;
    // The tables are dumped while the fd tables are read on the other cores.
    let (tables, tables_read) = std::thread::scope(|sc| {
        let dump = sc.spawn(|| dump_tables(DiagSocket::open(), &crate::procfs::net_dir(root)));
        let tables_read = crate::fdview::read_processes(root, &pids, read);
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
    frame.hidepid = crate::procfs::hidepid(root);
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
                    fds: p.fds.into_iter().map(|r| r.entry).collect(),
                    protocols: Vec::new(),
                    in_our_netns: true,
                    cgroup: crate::text::read_lines(root.join(pid.to_string()).join("cgroup")).ok(),
                });
            }
            Err(Unreadable::Gone) => frame.vanished += 1,
            Err(Unreadable::Denied(why)) => frame.unreadable.push((*pid, why)),
        }
    }
    frame.own_netns = crate::netns::own(root);
    if opts.all_netns {
        other_namespaces(&mut frame, root)?;
    }
    for name in KERNEL_FILES {
        if let Some(text) = kernel_file(root, name) {
            frame.files.insert(name.to_string(), text);
        }
    }
    // What the commands would read of sockets that are not in the dump, and the options the
    // rules and `who` judge: from the look just taken, replayed as the doctor sees it.
    let mut first = SnapshotOptions::new(crate::Selection::resolve(&[], &[], super::replay::every_state()));
    first.owners = true;
    first.extensions = Extensions { vitals: true, ..Extensions::default() };
    first.proc_root = root.clone();
    let snap = super::replay::snapshot(&frame, &first)?;
    note_unlisted_sockets(&mut frame, &snap, root);
    // The options (and TCP traffic) of what the doctor's option rules judge and of the
    // listeners (`who`); with `full`, of every held socket, so that `--sockopts`, `fds -o`
    // and `who` answer as they would have live.
    let judged: Vec<&crate::Socket> = if opts.full {
        snap.sockets.iter().filter(|s| s.inode != 0).collect()
    } else {
        let mut judged = crate::diagnose::observe::option_candidates(&snap, &crate::diagnose::Thresholds::default());
        judged.truncate(crate::diagnose::observe::MAX_OPTION_READS);
        judged.extend(snap.sockets.iter().filter(|s| s.state == crate::SockState::Listen && s.inode != 0));
        judged
    };
    frame.options = crate::sockopts::Report::read_flows(&snap, &judged, root);
    for dir in &opts.stale_dirs {
        frame.stale_dirs.push(crate::text::path_text(dir));
        frame.stale.extend(
            crate::diagnose::observe::stale_sockets(dir, &snap, root).iter().map(|p| crate::text::path_text(p)),
        );
    }
    frame.cgroups = crate::names::cgroup_paths(&crate::host::cgroup2_root()).into_iter().collect();
    frame.cgroups.sort_unstable();
    drop(snap);
    if !opts.window.is_zero() {
        std::thread::sleep(opts.window);
        let mut later = second_look(root)?;
        later.window_ns = u64::try_from(opts.window.as_nanos()).unwrap_or(u64::MAX);
        frame.later = Some(later);
    }
    Ok(frame)
}

/// A kernel file under /proc by its frame name (`net/…` through thread-self).
pub fn kernel_file(root: &Path, name: &str) -> Option<String> {
    let path = match name.strip_prefix("net/") {
        Some(file) => crate::procfs::net_dir(root).join(file),
        None => root.join(name),
    };
    std::fs::read_to_string(path).ok()
}

/// The doctor's second look: TCP states and queues by cookie, and the counters again.
fn second_look(root: &Path) -> Result<SecondLook, SnapshotError> {
    let mut later = SecondLook { taken_at_ns: now_ns(), ..SecondLook::default() };
    if let Ok(mut diag) = DiagSocket::open() {
        for af in [request::AF_INET, request::AF_INET6] {
            let req = request::inet(af, request::IPPROTO_TCP, super::replay::every_state(), 0);
            diag.dump("tcp", &req, |p| {
                if let Some(s) = crate::netlink::parse::inet(p, Netid::Tcp)
                    && let Some(c) = s.cookie
                {
                    later.tcp.push((c.get(), s.state.to_kernel(), s.recv_q, s.send_q.unwrap_or(0)));
                }
            })?;
        }
    }
    for name in LATER_FILES {
        if let Some(text) = kernel_file(root, name) {
            later.files.insert(name.to_string(), text);
        }
    }
    Ok(later)
}

/// For each socket fd the dump did not list (not bound, or of another namespace), the
/// protocol the kernel names and whether its process shares our namespace, as `fds` shows.
fn note_unlisted_sockets(frame: &mut Frame, snap: &crate::Snapshot, root: &Path) {
    let listed: HashSet<u64> = snap.sockets.iter().map(|s| s.inode).collect();
    let ours = process::netns(root, "thread-self");
    for p in &mut frame.processes {
        let mut asked = false;
        for e in &p.fds {
            let (FdKind::Socket, Some(inode), FdName::Number(fd)) = (&e.kind, e.inode, e.fd) else { continue };
            if listed.contains(&inode) {
                continue;
            }
            if let Some(name) = crate::procfs::fdtable::socket_protocol(root, p.pid, &e.fd) {
                p.protocols.push((fd, name));
            }
            if !asked {
                asked = true;
                p.in_our_netns = ours.is_some() && process::netns(root, &p.pid.to_string()) == ours;
            }
        }
    }
}

/// Every other network namespace's tables, through a sock_diag socket opened inside each
/// (their /proc/net through a process in them, for tables sock_diag cannot dump); and the
/// pods' names, to label their containers. A namespace that cannot be entered is skipped,
/// with a warning that says which and why.
fn other_namespaces(frame: &mut Frame, root: &Path) -> Result<(), SnapshotError> {
    use super::frame::NetnsRecord;
    for ns in crate::netns::discover(root) {
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
        let mut bytes = Vec::new();
        let mut keep = |p: &[u8]| {
            let mut w = super::codec::Writer { buf: std::mem::take(&mut bytes) };
            w.bytes(p);
            bytes = w.buf;
        };
        let result = match name {
            TableName::Tcp | TableName::Udp | TableName::Raw => {
                let (proto, label) = match name {
                    TableName::Tcp => (request::IPPROTO_TCP, "tcp"),
                    TableName::Udp => (request::IPPROTO_UDP, "udp"),
                    _ => (request::IPPROTO_RAW, "raw"),
                };
                let ext = EVERYTHING.inet_ext();
                let states = super::replay::every_state();
                d.dump(label, &request::inet(request::AF_INET, proto, states, ext), &mut keep)
                    .and_then(|()| d.dump(label, &request::inet(request::AF_INET6, proto, states, ext), &mut keep))
            }
            TableName::Unix => d.dump("unix", &request::unix(super::replay::every_state(), EVERYTHING), &mut keep),
            TableName::Packet => d.dump("packet", &request::packet(EVERYTHING), &mut keep),
            TableName::Netlink => d.dump("netlink", &request::netlink(EVERYTHING), &mut keep),
        };
        interrupted |= d.interrupted;
        match result {
            Ok(()) => tables.push(Table { name, source: TableSource::Netlink(super::codec::Shared::new(bytes)) }),
            Err(e @ NetlinkError::Unsupported { .. }) => {
                tables.push(proc_net_table(name, format!("{e}; read from /proc/net instead"), net_dir));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((tables, interrupted))
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
