//! sockscope-events: every TCP connection's life as it happens, from what every modern kernel
//! offers without a BPF toolchain.
//!
//! Two kernel sources:
//! - the tracepoints `sock:inet_sock_set_state` (each state change), `tcp:tcp_destroy_sock`
//!   (the socket's cookie as it is destroyed) and `tcp:tcp_receive_reset`, read with
//!   perf_event_open (root or CAP_PERFMON);
//! - the sock_diag destroy groups (the socket's last tcp_info when it is freed: bytes, rtt,
//!   retransmits), which any user may join, and which only carry the sockets of the network
//!   namespace the joining socket was made in: one is joined in each namespace followed.
//!
//! They are joined by socket cookie. Without the tracepoints, lives come from the destroy
//! records alone, with start times from periodic looks at the socket table (approximate).
#![forbid(unsafe_code)]

mod clock;
pub mod format;
mod model;
mod procs;
pub mod records;
mod ring;
mod table;
mod tracefs;
mod tracker;

pub use clock::{monotonic_ns, wall_ns};
pub use model::{Closer, Event, Life, Options, Owner, Transition};
pub use tracker::Totals;

use records::{SocketLayout, StateLayout};
use ring::Rings;
use rustix::event::{PollFd, PollFlags};
use sockscope_core::freed::FreedListener;
use sockscope_core::model::Netns;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tracker::Tracker;

/// Which kernel sources are in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Tracepoints,
    /// Destroy records only, and why the tracepoints could not be used.
    DestroyRecordsOnly {
        why: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("{0}")]
    Tracefs(#[from] tracefs::TracefsError),
    #[error("{0}")]
    Format(#[from] format::FormatError),
    #[error("{0}")]
    Ring(#[from] ring::RingError),
    #[error("{0}")]
    Freed(#[from] sockscope_core::freed::FreedError),
    #[error("{}", .0.reason())]
    Netns(#[from] sockscope_core::netns::NetnsError),
}

/// Ring bytes per CPU: a state change is ~100 bytes, five or more per socket.
const STATE_RING: usize = 4 << 20;
const SOCKET_RING: usize = 512 << 10;
/// How long before a drain a record must be stamped to be taken in that drain.
const REORDER_MARGIN_NS: u64 = 2_000_000;
/// Most records taken from one ring at a time: a reader that fell behind catches up in
/// steps, printing as it goes, instead of holding a whole ring's records in memory.
const DRAIN_AT_ONCE: usize = 8192;
/// Most records waiting for the other rings' records of the same time; beyond it, the
/// oldest are taken anyway (a reader far behind would otherwise hold its lag in memory).
const PENDING_AT_MOST: usize = 32768;
/// How long, at most, the end spends taking what is still in the rings.
const FINISH_AT_MOST_NS: u64 = 2_000_000_000;
/// How often the rings are drained.
const RING_DRAIN: Duration = Duration::from_millis(20);
/// Every namespace followed: how often the host is looked at for namespaces that came or went.
const NAMESPACES_EVERY_NS: u64 = 1_000_000_000;
/// ... and, at the soonest, again when a record names one not known yet (a new pod).
const NAMESPACES_AGAIN_NS: u64 = 200_000_000;

/// The network namespaces followed.
#[derive(Clone, Debug)]
pub enum Scope {
    /// This process's.
    Own,
    /// These (any of them may be this process's).
    These(Vec<Netns>),
    /// Every one on the host, those that come while it runs too.
    All,
}

/// A followed namespace: what it is called, and its destroy records.
struct Followed {
    netns: Netns,
    freed: FreedListener,
}

pub struct Monitor {
    source: Source,
    rings: Option<(Rings, StateLayout, SocketLayout, Option<SocketLayout>)>,
    all: bool,
    udp: bool,
    /// By namespace inode.
    followed: BTreeMap<u64, Followed>,
    /// Destroy-record overflows of namespaces no longer followed (gone).
    past_overflows: u64,
    /// When the host was last looked at for namespaces (every namespace followed).
    namespaces_read_ns: u64,
    /// Namespaces that could not be followed, and why (each said once).
    skipped: BTreeMap<u64, String>,
    notes: Vec<String>,
    /// Tracepoint records drained but not yet taken, in time order.
    pending: Vec<(u64, tracker::Input)>,
    /// The last drain left records in a ring: drain again without waiting.
    behind: bool,
    tracker: Tracker,
    /// Kept mounted while the rings are open (a private mount is undone on drop).
    _tracefs: Option<tracefs::Tracefs>,
}

impl Monitor {
    /// Opens the tracepoints, falling back to destroy records alone for `--life` when they
    /// cannot be opened; transitions need the tracepoints. The tracepoints see every
    /// namespace; the destroy records and the socket table are read in each one followed.
    pub fn open(opts: Options, scope: Scope) -> Result<Monitor, EventsError> {
        let opened = open_tracepoints();
        let (source, rings, tracefs) = match opened {
            Ok((rings, tracefs)) => (Source::Tracepoints, Some(rings), Some(tracefs)),
            Err(e) if opts.life => (Source::DestroyRecordsOnly { why: e.to_string() }, None, None),
            Err(e) => return Err(e),
        };
        // Lives take their counters from the destroy records; state changes need them too,
        // as the proof of where a socket whose owner could not be asked is.
        let udp = opts.life && opts.udp;
        let proc_root = Path::new("/proc");
        let own = sockscope_core::netns::selected(&[], proc_root)?.into_iter().next();
        let mut followed = BTreeMap::new();
        let (follow, tables) = match scope {
            Scope::Own => {
                let own =
                    own.ok_or(sockscope_core::netns::NetnsError::NotNetns { spec: "/proc/self/ns/net".into() })?;
                let inode = own.inode;
                followed.insert(inode, Followed { freed: FreedListener::open(udp)?, netns: own });
                (Some(vec![inode]), Vec::new())
            }
            Scope::These(mut list) => {
                label_containers(&mut list, proc_root);
                for ns in &list {
                    let freed = open_freed_in(ns, udp, own.as_ref())?;
                    followed.insert(ns.inode, Followed { freed, netns: ns.clone() });
                }
                (Some(list.iter().map(|n| n.inode).collect()), list)
            }
            Scope::All => (None, Vec::new()),
        };
        let all = follow.is_none();
        let tracker = Tracker::new(opts, rings.is_none(), follow, tables);
        let mut monitor = Monitor {
            source,
            rings,
            all,
            udp,
            followed,
            past_overflows: 0,
            namespaces_read_ns: 0,
            skipped: BTreeMap::new(),
            notes: Vec::new(),
            pending: Vec::new(),
            behind: false,
            tracker,
            _tracefs: tracefs,
        };
        if monitor.all {
            monitor.read_namespaces(&mut Vec::new())?;
        }
        Ok(monitor)
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// A namespace followed, by inode: its name, container, and a process in it (None once
    /// it went, or before it is found: the caller names it by its inode).
    pub fn namespace(&self, inode: u64) -> Option<&Netns> {
        self.followed.get(&inode).map(|f| &f.netns)
    }

    /// What the caller should tell the user (namespaces that could not be followed), once.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Waits up to `timeout` for kernel records, then hands every event they make to `out`.
    pub fn poll(&mut self, timeout: Duration, out: &mut Vec<Event>) -> Result<(), EventsError> {
        self.wait(timeout);
        let from = out.len();
        let taken_up_to = self.take_rings(out);
        let freed_drained_from = self.take_destroy_records(out)?;
        self.tracker.tick(taken_up_to, freed_drained_from, out);
        if self.all {
            let now = monotonic_ns();
            let since = now.saturating_sub(self.namespaces_read_ns);
            let unnamed = out[from..].iter().any(|e| !self.followed.contains_key(&e.netns()));
            if since >= NAMESPACES_EVERY_NS || unnamed && since >= NAMESPACES_AGAIN_NS {
                self.read_namespaces(out)?;
            }
        }
        Ok(())
    }

    /// Every namespace followed: looks at the host for namespaces that came (their destroy
    /// records are joined) or went (what their records still hold is taken, then they are
    /// let go: a socket held in a namespace keeps it alive).
    fn read_namespaces(&mut self, out: &mut Vec<Event>) -> Result<(), EventsError> {
        let proc_root = Path::new("/proc");
        self.namespaces_read_ns = monotonic_ns();
        let mut found = sockscope_core::netns::discover(proc_root);
        label_containers(&mut found, proc_root);
        let gone: Vec<u64> = self.followed.keys().filter(|i| !found.iter().any(|n| n.inode == **i)).copied().collect();
        if !gone.is_empty() {
            self.take_destroy_records(out)?;
            for inode in gone {
                if let Some(f) = self.followed.remove(&inode) {
                    self.past_overflows += f.freed.overflows;
                }
            }
        }
        let own = found.first().filter(|n| Some(n.inode) == sockscope_core::netns::own(proc_root)).cloned();
        for ns in &found {
            if let Some(f) = self.followed.get_mut(&ns.inode) {
                // Named or labelled since (a container's cgroup is set after its namespace).
                f.netns.name.clone_from(&ns.name);
                if ns.container.is_some() {
                    f.netns.container.clone_from(&ns.container);
                }
                continue;
            }
            if self.skipped.contains_key(&ns.inode) {
                continue;
            }
            match open_freed_in(ns, self.udp, own.as_ref()) {
                Ok(freed) => {
                    self.followed.insert(ns.inode, Followed { netns: ns.clone(), freed });
                }
                Err(e) => {
                    let why = e.to_string();
                    self.notes.push(format!("cannot follow the network namespace {}: {why}", ns.label()));
                    self.skipped.insert(ns.inode, why);
                }
            }
        }
        self.skipped.retain(|i, _| found.iter().any(|n| n.inode == *i));
        let tables: Vec<Netns> = self.followed.values().map(|f| f.netns.clone()).collect();
        self.tracker.set_namespaces(tables);
        Ok(())
    }

    /// Ends: the records still in the rings and the destroy-record buffer are taken, and
    /// every life still waiting for its last record is given as it is.
    pub fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), EventsError> {
        let until = monotonic_ns();
        while self.behind && monotonic_ns() < until + FINISH_AT_MOST_NS {
            self.take_rings(out);
        }
        for (time_ns, input) in std::mem::take(&mut self.pending) {
            self.tracker.input(time_ns, input, out);
        }
        self.take_destroy_records(out)?;
        self.tracker.finish(out);
        Ok(())
    }

    /// Drains the rings (at most DRAIN_AT_ONCE records from each) and takes the records in
    /// time order. Returns the time before which every record has been taken.
    fn take_rings(&mut self, out: &mut Vec<Event>) -> u64 {
        let drained_from = monotonic_ns();
        let Some((rings, state, socket, reset)) = &mut self.rings else { return drained_from };
        let batch = &mut self.pending;
        let tracker = &mut self.tracker;
        let cut = rings.drain(DRAIN_AT_ONCE, |item| {
            let s = match item {
                ring::Item::Sample(s) => s,
                ring::Item::Comm { pid, comm } => return tracker.exec(pid, comm),
            };
            let input = match s.event {
                0 => state.decode(s.raw).map(|c| tracker::Input::State { pid: s.pid, tid: s.tid, change: c }),
                1 => socket.decode(s.raw).map(tracker::Input::Destroyed),
                _ => reset.as_ref().and_then(|r| r.decode(s.raw)).map(tracker::Input::Reset),
            };
            match input {
                Some(i) => batch.push((s.time_ns, i)),
                None => tracker.totals.undecodable += 1,
            }
        });
        // Each CPU's ring is in order; together they are not, and a CPU may still be writing
        // a record stamped before this drain began. Records are taken in time order up to a
        // little before it; the rest wait for the next drain. (A socket's address is reused
        // as soon as it is freed, often on another CPU: out of order, the new socket's
        // records would be taken for the old one's.) A ring left with records in it (a
        // reader behind) holds records from after the last one taken from it: those wait
        // too, unless so many wait that memory would grow with the lag.
        batch.sort_by_key(|(t, _)| *t);
        let horizon = drained_from.saturating_sub(REORDER_MARGIN_NS).min(cut.unwrap_or(u64::MAX));
        self.behind = cut.is_some();
        let ready = batch.partition_point(|(t, _)| *t < horizon).max(batch.len().saturating_sub(PENDING_AT_MOST));
        // A record that cannot be read is as lost as one the kernel dropped.
        self.tracker.totals.lost_records = rings.lost.iter().sum::<u64>() + rings.unreadable;
        for (time_ns, input) in batch.drain(..ready) {
            self.tracker.input(time_ns, input, out);
        }
        horizon
    }

    /// Takes every destroy record waiting; returns when it began.
    fn take_destroy_records(&mut self, out: &mut Vec<Event>) -> Result<u64, EventsError> {
        let from = monotonic_ns();
        let tracker = &mut self.tracker;
        let mut overflows = self.past_overflows;
        for (inode, f) in &mut self.followed {
            f.freed.drain(|record| tracker.freed(from, *inode, record, out))?;
            overflows += f.freed.overflows;
        }
        tracker.totals.destroy_overflows = overflows;
        Ok(from)
    }

    pub fn totals(&self) -> Totals {
        self.tracker.totals
    }

    /// Waits `timeout` (shortened to the ring drain period when the rings are open), or
    /// until a destroy record arrives.
    fn wait(&self, timeout: Duration) {
        let timeout = match (&self.rings, self.behind) {
            (Some(_), true) => Duration::ZERO,
            (Some(_), false) => timeout.min(RING_DRAIN),
            (None, _) => timeout,
        };
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        for f in self.followed.values() {
            fds.extend(f.freed.fds().map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)));
        }
        let ts = rustix::time::Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        // EINTR (a signal to stop) ends the wait early, which is what it should do.
        let _ = rustix::event::poll(&mut fds, Some(&ts));
    }
}

/// The destroy records of `ns`, joined from inside it (this process's own: from here).
fn open_freed_in(ns: &Netns, udp: bool, own: Option<&Netns>) -> Result<FreedListener, EventsError> {
    if own.is_some_and(|o| o.inode == ns.inode) {
        return Ok(FreedListener::open(udp)?);
    }
    Ok(sockscope_core::netns::run_in(ns, move || FreedListener::open(udp))??)
}

/// Each namespace with the container (or pod) whose it is, from a process's cgroup.
fn label_containers(namespaces: &mut [Netns], proc_root: &Path) {
    let mut labeler = sockscope_core::container::Labeler::new(proc_root);
    for ns in namespaces {
        ns.container = ns.pid.and_then(|pid| labeler.of_pid(pid)).map(|c| (*c).clone());
    }
}

type Opened = ((Rings, StateLayout, SocketLayout, Option<SocketLayout>), tracefs::Tracefs);

fn open_tracepoints() -> Result<Opened, EventsError> {
    let tracefs = tracefs::Tracefs::open()?;
    let state = tracefs.event("sock", "inet_sock_set_state")?;
    let destroy = tracefs.event("tcp", "tcp_destroy_sock")?;
    // Optional: without it, who reset a connection is told from the context of the close.
    let reset = tracefs.event("tcp", "tcp_receive_reset").ok();
    let state_layout = StateLayout::new(&state)?;
    let destroy_layout = SocketLayout::new(&destroy)?;
    let reset_layout = reset.as_ref().and_then(|f| SocketLayout::new(f).ok());
    let mut events = vec![(state.id, STATE_RING), (destroy.id, SOCKET_RING)];
    if let (Some(f), Some(_)) = (&reset, &reset_layout) {
        events.push((f.id, SOCKET_RING));
    }
    let rings = Rings::open(&events)?;
    Ok(((rings, state_layout, destroy_layout, reset_layout), tracefs))
}
