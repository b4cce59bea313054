//! sockscope-events: every TCP connection's life as it happens, from what every modern kernel
//! offers without a BPF toolchain.
//!
//! Two kernel sources:
//! - the tracepoints `sock:inet_sock_set_state` (each state change), `tcp:tcp_destroy_sock`
//!   (the socket's cookie as it is destroyed) and `tcp:tcp_receive_reset`, read with
//!   perf_event_open (root or CAP_PERFMON);
//! - the sock_diag destroy groups (the socket's last tcp_info when it is freed: bytes, rtt,
//!   retransmits), which any user may join, and which only carry this network namespace's
//!   sockets.
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

pub struct Monitor {
    source: Source,
    rings: Option<(Rings, StateLayout, SocketLayout, Option<SocketLayout>)>,
    freed: Option<FreedListener>,
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
    /// cannot be opened; transitions need the tracepoints. `netns`: the network namespace to
    /// follow instead of this process's (the tracepoints see every namespace; the destroy
    /// records and the socket table are read in it).
    pub fn open(opts: Options, netns: Option<Netns>) -> Result<Monitor, EventsError> {
        let opened = open_tracepoints();
        let (source, rings, tracefs) = match opened {
            Ok((rings, tracefs)) => (Source::Tracepoints, Some(rings), Some(tracefs)),
            Err(e) if opts.life => (Source::DestroyRecordsOnly { why: e.to_string() }, None, None),
            Err(e) => return Err(e),
        };
        // Lives take their counters from the destroy records; state changes need them too,
        // as the proof that a socket whose owner could not be asked is this namespace's.
        let udp = opts.life && opts.udp;
        let freed = match &netns {
            Some(ns) => Some(sockscope_core::netns::run_in(ns, move || FreedListener::open(udp))??),
            None => Some(FreedListener::open(udp)?),
        };
        let tracker = Tracker::new(opts, rings.is_none(), netns.as_ref());
        Ok(Monitor { source, rings, freed, pending: Vec::new(), behind: false, tracker, _tracefs: tracefs })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Waits up to `timeout` for kernel records, then hands every event they make to `out`.
    pub fn poll(&mut self, timeout: Duration, out: &mut Vec<Event>) -> Result<(), EventsError> {
        self.wait(timeout);
        let taken_up_to = self.take_rings(out);
        let freed_drained_from = self.take_destroy_records(out)?;
        self.tracker.tick(taken_up_to, freed_drained_from, out);
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
        if let Some(freed) = &mut self.freed {
            let tracker = &mut self.tracker;
            freed.drain(|f| tracker.freed(from, f, out))?;
            tracker.totals.destroy_overflows = freed.overflows;
        }
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
        if let Some(freed) = &self.freed {
            fds.extend(freed.fds().map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)));
        }
        let ts = rustix::time::Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        // EINTR (a signal to stop) ends the wait early, which is what it should do.
        let _ = rustix::event::poll(&mut fds, Some(&ts));
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
