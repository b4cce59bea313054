//! One look at the host, as a capture holds it, and its encoding.
//!
//! Sockets are kept as the kernel sent them (each sock_diag reply message, every extension
//! asked for), and read back by the same parsers as a live dump, so a capture answers with
//! what the live command would have shown. Tables sock_diag could not dump are kept as the
//! /proc/net text they were read from instead. The rest (fd tables, options, counters) is
//! the model, field by field.

use super::codec::{DecodeError, Reader, Writer};
use super::fdlist::FdList;
use super::spool::Spool;
use crate::model::{FdKind, FdLimit, FdName, Netid, OwnerIndex, OwnerScanReport, Process};
use crate::sockopts::{Flow, Report as OptionReport, SockOpts, Unreadable as OptionUnreadable};
use std::collections::{BTreeMap, HashMap};

/// One look: everything the reading commands need, taken at one moment.
#[derive(Debug, Default)]
pub struct Frame {
    /// When it was taken: nanoseconds since the Unix epoch.
    pub taken_at_ns: u64,
    pub tables: Vec<Table>,
    /// Every readable process, ascending by pid, with its fd table.
    pub processes: Vec<ProcessRecord>,
    /// Processes that could not be read, with why.
    pub unreadable: Vec<(u32, String)>,
    pub vanished: u32,
    /// procfs's `hidepid=`, when it hid other users' processes from the recording.
    pub hidepid: Option<String>,
    /// The kernel's text files the commands read (counters, sysctls), by their path under
    /// /proc (`net/netstat`, `sys/net/core/somaxconn`).
    pub files: BTreeMap<String, String>,
    /// Options of the sockets the recording chose (`hosts::record::OptionsOf`), or of every
    /// held socket with `full`.
    pub options: OptionReport,
    /// The doctor's second look, a window after the first.
    pub later: Option<SecondLook>,
    /// Unix socket files no socket was bound to (the doctor's stale-socket rule), and the
    /// directories searched for them.
    pub stale: Vec<String>,
    pub stale_dirs: Vec<String>,
    /// cgroup id → path, for `--cgroup`.
    pub cgroups: Vec<(u64, String)>,
    /// What the user should know about how complete the look is.
    pub warnings: Vec<String>,
    /// Recorded with `--full`: every socket fd's fdinfo and every held socket's options.
    pub full: bool,
    /// The recording thread's network namespace (`tables` are its sockets).
    pub own_netns: Option<u64>,
    /// With `record --all-netns`: every other network namespace and its tables.
    pub namespaces: Vec<NetnsRecord>,
    /// Pod uid → (namespace, name), from the node's pod logs, to name containers' pods.
    pub pods: Vec<(String, String, String)>,
}

/// A network namespace and its sockets, as `--all-netns` reads them (the recording
/// thread's own has no tables here: they are the frame's).
#[derive(Debug, Clone, Default)]
pub struct NetnsRecord {
    pub inode: u64,
    pub name: Option<String>,
    pub pid: Option<u32>,
    pub tables: Vec<Table>,
}

/// A socket table: the kernel's reply messages, or /proc/net text when sock_diag failed.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: TableName,
    pub source: TableSource,
}

/// The tables a look dumps, one request each (TCP, UDP and raw: one per IP family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableName {
    Tcp,
    Udp,
    Raw,
    Unix,
    Packet,
    Netlink,
    /// Since format version 2.
    Mptcp,
}

impl TableName {
    pub const ALL: [TableName; 7] = [
        TableName::Tcp,
        TableName::Udp,
        TableName::Raw,
        TableName::Unix,
        TableName::Packet,
        TableName::Netlink,
        TableName::Mptcp,
    ];

    /// The netids this table's sockets have.
    pub fn netids(self) -> &'static [Netid] {
        match self {
            TableName::Tcp => &[Netid::Tcp],
            TableName::Udp => &[Netid::Udp],
            TableName::Raw => &[Netid::Raw],
            TableName::Unix => &[Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket],
            TableName::Packet => &[Netid::PacketRaw, Netid::PacketDgram],
            TableName::Netlink => &[Netid::Netlink],
            TableName::Mptcp => &[Netid::Mptcp],
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> Option<TableName> {
        TableName::ALL.get(usize::from(c)).copied()
    }
}

#[derive(Debug, Clone)]
pub enum TableSource {
    /// The payloads of the kernel's reply messages, each with a varint length before it
    /// (shared with the decoded look: tens of megabytes at 100k sockets, not copied).
    Netlink(super::codec::Shared),
    /// The same, held compressed while a look is recorded (`spool`); written as `Netlink`.
    Spooled(Spool),
    /// sock_diag could not dump it (the error, as the live listing says it), so the /proc/net
    /// files were read: (file name, text).
    ProcNet { failure: String, files: Vec<(String, String)> },
}

impl TableSource {
    /// Each kernel reply message of a sock_diag table, in order (none for /proc/net text).
    /// An error only when a spooled table cannot be decompressed (memory ran out).
    pub fn each_message(&self, mut f: impl FnMut(&[u8])) -> std::io::Result<()> {
        let mut messages = |bytes: &[u8]| {
            let mut r = Reader::new(bytes);
            while let Ok(m) = r.bytes() {
                f(m);
            }
        };
        match self {
            TableSource::Netlink(bytes) => messages(bytes.bytes()),
            TableSource::Spooled(spool) => spool.for_each_chunk(messages)?,
            TableSource::ProcNet { .. } => {}
        }
        Ok(())
    }
}

/// A process, its limits and its fd table.
#[derive(Debug, Clone)]
pub struct ProcessRecord {
    pub pid: u32,
    pub command: String,
    pub uid: u32,
    pub limit: FdLimit,
    /// The command line, NUL-separated as /proc has it; `None` when redacted or unreadable.
    pub cmdline: Option<Vec<u8>>,
    /// Kept packed, as the capture stores it (~15 bytes a socket fd, not 96).
    pub fds: FdList,
    /// For socket fds the dump did not list: the protocol the kernel names (by fd number).
    pub protocols: Vec<(u32, String)>,
    /// Whether it shares the recording thread's network namespace.
    pub in_our_netns: bool,
    /// /proc/PID/cgroup, for the container it is in.
    pub cgroup: Option<String>,
}

impl ProcessRecord {
    /// Its open fds: the numbered ones (cwd, rtd, txt and mem are not fds).
    pub fn open_fds(&self) -> u64 {
        self.fds.iter().filter(|e| matches!(e.fd, FdName::Number(_))).count() as u64
    }
}

/// The doctor's second look: each TCP socket's state and queues by cookie, and the counters.
#[derive(Debug, Clone, Default)]
pub struct SecondLook {
    pub taken_at_ns: u64,
    /// The pause before it (the doctor's window).
    pub window_ns: u64,
    /// (cookie, kernel state number, recv-q, send-q).
    pub tcp: Vec<(u64, u8, u32, u32)>,
    pub files: BTreeMap<String, String>,
}

// Section tags: a reader skips what it does not know, so later versions may add sections.
const TIME: u8 = 1;
const TABLES: u8 = 2;
const PROCESSES: u8 = 3;
const UNREADABLE: u8 = 4;
const FILES: u8 = 5;
const OPTIONS: u8 = 6;
const LATER: u8 = 7;
const STALE: u8 = 8;
const CGROUPS: u8 = 9;
const WARNINGS: u8 = 10;
const OWNER_REPORT: u8 = 11;
const NAMESPACES: u8 = 12;
const PODS: u8 = 13;
const CGROUPS_OF_PROCESSES: u8 = 14;
const STALE_DIRS: u8 = 15;
const FULL: u8 = 16;

impl Frame {
    /// The namespaces the look holds, as `--all-netns` lists them live (the recording's own
    /// first); empty when recorded without `--all-netns`.
    pub fn netns_list(&self) -> Vec<crate::model::Netns> {
        self.namespaces
            .iter()
            .map(|r| crate::model::Netns {
                inode: r.inode,
                name: r.name.clone(),
                pid: r.pid,
                path: std::path::PathBuf::new(),
                container: None,
            })
            .collect()
    }

    /// The look encoded, all of it in memory (spooled tables decompressed): for tests and
    /// small looks; the recorder writes `pieces` instead.
    pub fn encode(&self, w: &mut Writer) -> std::io::Result<()> {
        for piece in self.pieces() {
            match piece {
                Piece::Bytes(b) => w.buf.extend_from_slice(&b),
                Piece::Spool(s) => s.for_each_chunk(|c| w.buf.extend_from_slice(c))?,
            }
        }
        Ok(())
    }

    /// The look encoded, in order: bytes, and the spooled tables where they belong, so a
    /// recorder writes a look of a million sockets without its tables uncompressed twice.
    pub fn pieces(&self) -> Vec<Piece<'_>> {
        let mut p = Pieces::default();
        p.w.section(TIME, |w| w.u(self.taken_at_ns));
        p.section(TABLES, |p| tables_into(p, &self.tables));
        let w = &mut p.w;
        w.section(PROCESSES, |w| {
            w.u(self.processes.len() as u64);
            for p in &self.processes {
                encode_process(w, p);
            }
        });
        w.section(UNREADABLE, |w| {
            w.u(u64::from(self.vanished));
            w.u(self.unreadable.len() as u64);
            for (pid, why) in &self.unreadable {
                w.u(u64::from(*pid));
                w.str(why);
            }
        });
        w.section(OWNER_REPORT, |w| {
            let r = self.owner_report();
            w.u(u64::from(r.processes_scanned));
            w.u(u64::from(r.processes_unreadable));
            w.opt_str(r.unreadable_reason.as_deref());
            w.u(r.unreadable_pids.len() as u64);
            for p in &r.unreadable_pids {
                w.u(u64::from(*p));
            }
            w.u(u64::from(r.processes_vanished));
            w.opt_str(r.hidepid.as_deref());
        });
        w.section(FILES, |w| encode_files(w, &self.files));
        w.section(OPTIONS, |w| encode_options(w, &self.options));
        if let Some(l) = &self.later {
            w.section(LATER, |w| {
                w.u(l.taken_at_ns);
                w.u(l.window_ns);
                w.u(l.tcp.len() as u64);
                for &(cookie, state, rq, sq) in &l.tcp {
                    w.u(cookie);
                    w.buf.push(state);
                    w.u(u64::from(rq));
                    w.u(u64::from(sq));
                }
                encode_files(w, &l.files);
            });
        }
        w.section(STALE, |w| encode_strings(w, &self.stale));
        w.section(STALE_DIRS, |w| encode_strings(w, &self.stale_dirs));
        w.section(FULL, |w| w.bool(self.full));
        w.section(CGROUPS, |w| {
            w.u(self.cgroups.len() as u64);
            for (id, path) in &self.cgroups {
                w.u(*id);
                w.str(path);
            }
        });
        w.section(WARNINGS, |w| encode_strings(w, &self.warnings));
        p.section(NAMESPACES, |p| {
            p.w.opt(self.own_netns);
            p.w.u(self.namespaces.len() as u64);
            for ns in &self.namespaces {
                p.w.u(ns.inode);
                p.w.opt_str(ns.name.as_deref());
                p.w.opt(ns.pid.map(u64::from));
                tables_into(p, &ns.tables);
            }
        });
        let w = &mut p.w;
        w.section(PODS, |w| {
            w.u(self.pods.len() as u64);
            for (uid, ns, name) in &self.pods {
                w.str(uid);
                w.str(ns);
                w.str(name);
            }
        });
        // Apart from the processes' own section, which older readers read unchanged.
        w.section(CGROUPS_OF_PROCESSES, |w| {
            let known: Vec<(u32, &str)> =
                self.processes.iter().filter_map(|p| Some((p.pid, p.cgroup.as_deref()?))).collect();
            w.u(known.len() as u64);
            for (pid, text) in known {
                w.u(u64::from(pid));
                w.str(text);
            }
        });
        p.finish()
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Frame, DecodeError> {
        let mut f = Frame::default();
        while !r.is_empty() {
            let (tag, mut s) = r.section()?;
            match tag {
                TIME => f.taken_at_ns = s.u()?,
                TABLES => f.tables = decode_tables(&mut s)?,
                PROCESSES => {
                    for _ in 0..s.count()? {
                        f.processes.push(decode_process(&mut s)?);
                    }
                }
                UNREADABLE => {
                    f.vanished = s.u32()?;
                    for _ in 0..s.count()? {
                        f.unreadable.push((s.u32()?, s.string()?));
                    }
                }
                OWNER_REPORT => {
                    // The counts are the processes' and the unreadable ones' (derived again
                    // by `owner_report`); only hidepid is not.
                    let (_scanned, _unreadable, _reason) = (s.u32()?, s.u32()?, s.opt_string()?);
                    for _ in 0..s.count()? {
                        s.u32()?;
                    }
                    let _vanished = s.u32()?;
                    f.hidepid = s.opt_string()?;
                }
                FILES => f.files = decode_files(&mut s)?,
                OPTIONS => f.options = decode_options(&mut s)?,
                LATER => {
                    let mut l = SecondLook { taken_at_ns: s.u()?, window_ns: s.u()?, ..SecondLook::default() };
                    for _ in 0..s.count()? {
                        l.tcp.push((s.u()?, s.u8()?, s.u32()?, s.u32()?));
                    }
                    l.files = decode_files(&mut s)?;
                    f.later = Some(l);
                }
                STALE => f.stale = decode_strings(&mut s)?,
                STALE_DIRS => f.stale_dirs = decode_strings(&mut s)?,
                FULL => f.full = s.bool()?,
                CGROUPS => {
                    for _ in 0..s.count()? {
                        f.cgroups.push((s.u()?, s.string()?));
                    }
                }
                WARNINGS => f.warnings = decode_strings(&mut s)?,
                NAMESPACES => {
                    f.own_netns = s.opt()?;
                    for _ in 0..s.count()? {
                        let inode = s.u()?;
                        let name = s.opt_string()?;
                        let pid = s.opt_u32()?;
                        let tables = decode_tables(&mut s)?;
                        f.namespaces.push(NetnsRecord { inode, name, pid, tables });
                    }
                }
                PODS => {
                    for _ in 0..s.count()? {
                        f.pods.push((s.string()?, s.string()?, s.string()?));
                    }
                }
                CGROUPS_OF_PROCESSES => {
                    for _ in 0..s.count()? {
                        let (pid, text) = (s.u32()?, s.string()?);
                        if let Ok(i) = f.processes.binary_search_by_key(&pid, |p| p.pid) {
                            f.processes[i].cgroup = Some(text);
                        }
                    }
                }
                // A section a later version added: skipped.
                _ => {}
            }
        }
        Ok(f)
    }

    /// The owner index the live walk would have built: every socket fd of every process.
    pub fn owner_index(&self) -> OwnerIndex {
        let mut processes = Vec::new();
        let mut entries = Vec::new();
        for p in &self.processes {
            let index = processes.len() as u32;
            let mut holds = false;
            for e in p.fds.iter() {
                if let (FdKind::Socket, Some(inode), FdName::Number(fd)) = (&e.kind, e.inode, e.fd) {
                    entries.push((inode, index, fd));
                    holds = true;
                }
            }
            if holds {
                processes.push(Process::new(p.pid, p.command.as_str(), p.uid));
            }
        }
        OwnerIndex::new(processes, entries, self.owner_report())
    }

    /// What the owner walk read and could not, as a live walk reports it.
    pub fn owner_report(&self) -> OwnerScanReport {
        OwnerScanReport {
            processes_scanned: self.processes.len() as u32,
            processes_unreadable: self.unreadable.len() as u32,
            unreadable_reason: self.unreadable.first().map(|(_, why)| why.clone()),
            unreadable_pids: self.unreadable.iter().take(64).map(|(pid, _)| *pid).collect(),
            processes_vanished: self.vanished,
            hidepid: self.hidepid.clone(),
        }
    }
}

/// A part of an encoded look (`Frame::pieces`).
pub enum Piece<'a> {
    Bytes(Vec<u8>),
    /// A spooled table's messages: its compressed frames, which decompress to `raw_len`.
    Spool(&'a Spool),
}

impl Piece<'_> {
    /// Its length in the decompressed look.
    pub fn decoded_len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Spool(s) => s.raw_len(),
        }
    }
}

/// An encoding in pieces: bytes written so far, and the pieces before them.
#[derive(Default)]
struct Pieces<'a> {
    done: Vec<Piece<'a>>,
    w: Writer,
}

impl<'a> Pieces<'a> {
    fn spool(&mut self, s: &'a Spool) {
        self.flush();
        self.done.push(Piece::Spool(s));
    }

    fn flush(&mut self) {
        if !self.w.buf.is_empty() {
            self.done.push(Piece::Bytes(std::mem::take(&mut self.w.buf)));
        }
    }

    /// A section whose body may hold spooled tables: its length is the pieces' lengths.
    fn section(&mut self, tag: u8, body: impl FnOnce(&mut Pieces<'a>)) {
        let mut inner = Pieces::default();
        body(&mut inner);
        let inner = inner.finish();
        self.w.buf.push(tag);
        self.w.u(inner.iter().map(Piece::decoded_len).sum());
        self.flush();
        self.done.extend(inner);
    }

    fn finish(mut self) -> Vec<Piece<'a>> {
        self.flush();
        self.done
    }
}

fn tables_into<'a>(p: &mut Pieces<'a>, tables: &'a [Table]) {
    p.w.u(tables.len() as u64);
    for t in tables {
        let w = &mut p.w;
        w.buf.push(t.name.code());
        match &t.source {
            TableSource::Netlink(bytes) => {
                w.buf.push(0);
                w.bytes(bytes.bytes());
            }
            // As `Netlink`: the same bytes in the capture.
            TableSource::Spooled(spool) => {
                w.buf.push(0);
                w.u(spool.raw_len());
                p.spool(spool);
            }
            TableSource::ProcNet { failure, files } => {
                w.buf.push(1);
                w.str(failure);
                w.u(files.len() as u64);
                for (name, text) in files {
                    w.str(name);
                    w.str(text);
                }
            }
        }
    }
}

fn decode_tables(s: &mut Reader<'_>) -> Result<Vec<Table>, DecodeError> {
    let mut tables = Vec::new();
    for _ in 0..s.count()? {
        let name = TableName::from_code(s.u8()?).map_or_else(|| s.fail("an unknown socket table"), Ok)?;
        let source = match s.u8()? {
            0 => TableSource::Netlink(s.shared_bytes()?),
            1 => {
                let failure = s.string()?;
                let mut files = Vec::new();
                for _ in 0..s.count()? {
                    files.push((s.string()?, s.string()?));
                }
                TableSource::ProcNet { failure, files }
            }
            _ => return s.fail("an unknown kind of socket table"),
        };
        tables.push(Table { name, source });
    }
    Ok(tables)
}

fn encode_strings(w: &mut Writer, v: &[String]) {
    w.u(v.len() as u64);
    for s in v {
        w.str(s);
    }
}

fn decode_strings(r: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    (0..r.count()?).map(|_| r.string()).collect()
}

fn encode_files(w: &mut Writer, files: &BTreeMap<String, String>) {
    w.u(files.len() as u64);
    for (k, v) in files {
        w.str(k);
        w.str(v);
    }
}

fn decode_files(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, DecodeError> {
    let mut out = BTreeMap::new();
    for _ in 0..r.count()? {
        out.insert(r.string()?, r.string()?);
    }
    Ok(out)
}

fn encode_process(w: &mut Writer, p: &ProcessRecord) {
    w.u(u64::from(p.pid));
    w.str(&p.command);
    w.u(u64::from(p.uid));
    w.opt(p.limit.soft);
    w.opt(p.limit.hard);
    w.bool(p.cmdline.is_some());
    if let Some(c) = &p.cmdline {
        w.bytes(c);
    }
    w.bool(p.in_our_netns);
    w.u(p.protocols.len() as u64);
    for (fd, name) in &p.protocols {
        w.u(u64::from(*fd));
        w.str(name);
    }
    p.fds.encode(w);
}

fn decode_process(r: &mut Reader<'_>) -> Result<ProcessRecord, DecodeError> {
    let pid = r.u32()?;
    let command = r.string()?;
    let uid = r.u32()?;
    let limit = FdLimit { soft: r.opt()?, hard: r.opt()? };
    let cmdline = if r.bool()? { Some(r.bytes()?.to_vec()) } else { None };
    let in_our_netns = r.bool()?;
    let mut protocols = Vec::new();
    for _ in 0..r.count()? {
        protocols.push((r.u32()?, r.string()?));
    }
    let fds = FdList::decode(r)?;
    Ok(ProcessRecord { pid, command, uid, limit, cmdline, fds, protocols, in_our_netns, cgroup: None })
}

macro_rules! option_fields {
    ($m:ident) => {
        $m!(bool: reuseaddr, reuseport, keepalive, nodelay, cork, quickack, linger, freebind, transparent, v6only, nonblock, cloexec);
        $m!(u32: keepidle, keepintvl, keepcnt, linger_seconds, rcvbuf, rcvbuf_set, sndbuf, sndbuf_set, rcvlowat, user_timeout_ms, defer_accept, fastopen, mark, priority);
    };
}

fn encode_sockopts(w: &mut Writer, o: &SockOpts) {
    macro_rules! put {
        (bool: $($f:ident),*) => { $( w.opt(o.$f.map(u64::from)); )* };
        (u32: $($f:ident),*) => { $( w.opt(o.$f.map(u64::from)); )* };
    }
    option_fields!(put);
    w.opt(o.tos.map(u64::from));
    w.opt_str(o.congestion.as_deref());
    w.opt_str(o.bindtodevice.as_deref());
}

fn decode_sockopts(r: &mut Reader<'_>) -> Result<SockOpts, DecodeError> {
    let mut o = SockOpts::default();
    macro_rules! get {
        (bool: $($f:ident),*) => { $( o.$f = r.opt()?.map(|v| v != 0); )* };
        (u32: $($f:ident),*) => { $( o.$f = r.opt_u32()?; )* };
    }
    option_fields!(get);
    o.tos = r.opt_u32()?.map(|v| v as u8);
    o.congestion = r.opt_string()?;
    o.bindtodevice = r.opt_string()?;
    Ok(o)
}

const OPTION_REASONS: [OptionUnreadable; 5] = [
    OptionUnreadable::Denied,
    OptionUnreadable::Unsupported,
    OptionUnreadable::Gone,
    OptionUnreadable::Failed,
    OptionUnreadable::NotRecorded,
];

fn reason_code(u: OptionUnreadable) -> u64 {
    OPTION_REASONS.iter().position(|x| *x == u).unwrap_or(3) as u64
}

fn reason_of(r: &mut Reader<'_>) -> Result<OptionUnreadable, DecodeError> {
    let n = r.u()?;
    usize::try_from(n).ok().and_then(|n| OPTION_REASONS.get(n)).copied().map_or_else(|| r.fail("an unknown reason"), Ok)
}

fn encode_options(w: &mut Writer, rep: &OptionReport) {
    let mut by: Vec<(&u64, &SockOpts)> = rep.by_inode.iter().collect();
    by.sort_unstable_by_key(|(i, _)| **i);
    w.u(by.len() as u64);
    for (inode, o) in by {
        w.u(*inode);
        encode_sockopts(w, o);
    }
    let mut flows: Vec<(&u64, &Flow)> = rep.flows.iter().collect();
    flows.sort_unstable_by_key(|(i, _)| **i);
    w.u(flows.len() as u64);
    for (inode, f) in flows {
        w.u(*inode);
        w.u(u64::from(f.rtt_us));
        w.u(u64::from(f.min_rtt_us));
        w.u(u64::from(f.data_segs_out));
        w.u(f.bytes_sent);
    }
    let mut unknown: Vec<(&u64, &OptionUnreadable)> = rep.unknown.iter().collect();
    unknown.sort_unstable_by_key(|(i, _)| **i);
    w.u(unknown.len() as u64);
    for (inode, why) in unknown {
        w.u(*inode);
        w.u(reason_code(*why));
    }
    w.u(rep.unread.len() as u64);
    for (why, (count, procs)) in &rep.unread {
        w.u(reason_code(*why));
        w.u(*count as u64);
        w.u(procs.len() as u64);
        for (pid, command) in procs {
            w.u(u64::from(*pid));
            w.str(command);
        }
    }
}

fn decode_options(r: &mut Reader<'_>) -> Result<OptionReport, DecodeError> {
    let mut rep = OptionReport::default();
    for _ in 0..r.count()? {
        let inode = r.u()?;
        rep.by_inode.insert(inode, decode_sockopts(r)?);
    }
    for _ in 0..r.count()? {
        let inode = r.u()?;
        let f = Flow { rtt_us: r.u32()?, min_rtt_us: r.u32()?, data_segs_out: r.u32()?, bytes_sent: r.u()? };
        rep.flows.insert(inode, f);
    }
    for _ in 0..r.count()? {
        let inode = r.u()?;
        rep.unknown.insert(inode, reason_of(r)?);
    }
    for _ in 0..r.count()? {
        let why = reason_of(r)?;
        let count = usize::try_from(r.u()?).unwrap_or(usize::MAX);
        let mut procs = BTreeMap::new();
        for _ in 0..r.count()? {
            procs.insert(r.u32()?, r.string()?);
        }
        rep.unread.insert(why, (count, procs));
    }
    Ok(rep)
}

impl Frame {
    /// How many sockets the look holds (counted without parsing them).
    pub fn socket_count(&self) -> usize {
        self.tables
            .iter()
            .map(|t| match &t.source {
                // A header line, then a socket a line.
                TableSource::ProcNet { files, .. } => {
                    files.iter().map(|(_, t)| t.lines().count().saturating_sub(1)).sum()
                }
                netlink => {
                    let mut n = 0;
                    // A spool that cannot be read back counts none (its reader says why).
                    let _ = netlink.each_message(|_| n += 1);
                    n
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

#[cfg(test)]
mod roundtrip {
    use super::*;
    use crate::capture::codec::Shared;
    use crate::model::FdEntry;
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;

    fn table() -> impl Strategy<Value = Table> {
        let name = (0..TableName::ALL.len()).prop_map(|i| TableName::ALL[i]);
        // As read from a capture, or as the recorder holds it (`Spooled`): the same bytes.
        let netlink = (vec(vec(any::<u8>(), 0..40), 0..5), any::<bool>()).prop_map(|(msgs, spooled)| {
            if spooled {
                let mut s = crate::capture::spool::Spooler::new().unwrap();
                msgs.iter().for_each(|m| s.push(m));
                return TableSource::Spooled(s.finish().unwrap());
            }
            let mut w = Writer { buf: Vec::new() };
            for m in &msgs {
                w.bytes(m);
            }
            TableSource::Netlink(Shared::new(w.buf))
        });
        let proc_net = (".{0,20}", vec(("[a-z6]{1,8}", ".{0,40}"), 0..3))
            .prop_map(|(failure, files)| TableSource::ProcNet { failure, files });
        (name, prop_oneof![netlink, proc_net]).prop_map(|(name, source)| Table { name, source })
    }

    fn fd() -> impl Strategy<Value = FdEntry> {
        let link = prop_oneof![
            any::<u32>().prop_map(|i| format!("socket:[{i}]")),
            any::<u32>().prop_map(|i| format!("pipe:[{i}]")),
            "/[a-z/]{0,16}".prop_map(String::from),
            Just("anon_inode:[eventfd]".to_string()),
            ".{0,12}".prop_map(String::from),
        ];
        (0..4096u32, link, option::of(any::<u64>()), option::of(any::<u64>())).prop_map(|(n, link, pos, size)| {
            let mut e = crate::procfs::fdtable::entry_for(FdName::Number(n), link, || None);
            (e.pos, e.size) = (pos, size);
            e
        })
    }

    fn process(pid: u32) -> impl Strategy<Value = ProcessRecord> {
        (
            ".{0,15}",
            any::<u32>(),
            (option::of(any::<u64>()), option::of(any::<u64>())),
            option::of(vec(any::<u8>(), 0..30)),
            vec(fd(), 0..6),
            vec((any::<u32>(), "[A-Z]{0,6}"), 0..2),
            any::<bool>(),
            option::of(".{0,30}"),
        )
            .prop_map(move |(command, uid, (soft, hard), cmdline, fds, protocols, in_our_netns, cgroup)| {
                ProcessRecord {
                    pid,
                    command,
                    uid,
                    limit: FdLimit { soft, hard },
                    cmdline,
                    fds: FdList::of(&fds),
                    protocols,
                    in_our_netns,
                    cgroup,
                }
            })
    }

    fn frame() -> impl Strategy<Value = Frame> {
        let processes = proptest::collection::btree_set(1..100_000u32, 0..4)
            .prop_flat_map(|pids| pids.into_iter().map(process).collect::<Vec<_>>());
        let later = option::of(
            (
                any::<u64>(),
                any::<u64>(),
                vec(any::<(u64, u8, u32, u32)>(), 0..4),
                btree_map("net/[a-z]{1,6}", ".{0,20}", 0..2),
            )
                .prop_map(|(taken_at_ns, window_ns, tcp, files)| SecondLook {
                    taken_at_ns,
                    window_ns,
                    tcp,
                    files,
                }),
        );
        let namespaces = vec(
            (any::<u64>(), option::of(".{0,8}"), option::of(any::<u32>()), vec(table(), 0..2))
                .prop_map(|(inode, name, pid, tables)| NetnsRecord { inode, name, pid, tables }),
            0..2,
        );
        (
            (any::<u64>(), vec(table(), 0..4), processes, vec((any::<u32>(), ".{0,10}"), 0..3), any::<u32>()),
            (option::of("[0-9a-z]{0,8}"), btree_map("(net|sys)/[a-z_/]{1,12}", ".{0,30}", 0..4), later),
            (vec(".{0,16}", 0..3), vec(".{0,8}", 0..2), vec((any::<u64>(), ".{0,12}"), 0..3), vec(".{0,20}", 0..3)),
            (any::<bool>(), option::of(any::<u64>()), namespaces, vec((".{0,6}", ".{0,6}", ".{0,6}"), 0..2)),
        )
            .prop_map(|(a, b, c, d)| {
                let (taken_at_ns, tables, processes, unreadable, vanished) = a;
                let (hidepid, files, later) = b;
                let (stale, stale_dirs, cgroups, warnings) = c;
                let (full, own_netns, namespaces, pods) = d;
                Frame {
                    taken_at_ns,
                    tables,
                    processes,
                    unreadable,
                    vanished,
                    hidepid,
                    files,
                    later,
                    stale,
                    stale_dirs,
                    cgroups,
                    warnings,
                    full,
                    own_netns,
                    namespaces,
                    pods,
                    ..Frame::default()
                }
            })
    }

    fn encoded(f: &Frame) -> Vec<u8> {
        let mut w = Writer { buf: Vec::new() };
        f.encode(&mut w).expect("a spool made here decompresses");
        w.buf
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// decode(encode(f)) is f: encoded again, it is the same bytes (so no field is lost,
        /// changed or added on the way through), and it reads to the same look.
        #[test]
        fn a_frame_reads_back_as_it_was_written(f in frame()) {
            let bytes = encoded(&f);
            let back = Frame::decode(&mut Reader::new(&bytes)).expect("a frame just written reads back");
            prop_assert_eq!(encoded(&back), bytes);
            prop_assert_eq!(back.processes.len(), f.processes.len());
            prop_assert_eq!(back.socket_count(), f.socket_count());
            prop_assert_eq!(&back.files, &f.files);
            prop_assert_eq!(format!("{:?}", back.processes), format!("{:?}", f.processes));
        }
    }
}
