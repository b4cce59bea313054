//! The collector thread: it keeps one `Collector` (its netlink sockets, buffers and owner
//! cache live between refreshes), takes a snapshot each interval, turns it into a `Frame`
//! and sends it over a channel. The UI thread never waits on it: it draws the last frame
//! it has and reads keys while the next one is being made.

use crate::frame::{Frame, Tracker};
use sockscope_core::SnapshotOptions;
use sockscope_core::diagnose::Thresholds;
use sockscope_core::filter::{Expr, Pred};
use sockscope_core::hosts::{Host, Refresh};
use sockscope_core::model::StateSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant, SystemTime};

/// What the UI asks of the collector.
pub enum Control {
    Interval(Duration),
    Pause(bool),
    /// A new filter (already parsed and resolved) and the states it selects.
    Filter(Option<Expr>, StateSet),
}

/// What the collector sends.
pub enum Update {
    Frame(Arc<Frame>),
    /// A collection failed (it is tried again at the next interval).
    Error(String),
    /// A refresh took `took`, too long for the interval asked: refreshes now come every
    /// `interval` instead (twice the time one takes, so collecting keeps to half the time),
    /// until they are quick again.
    Slowed {
        took: Duration,
        interval: Duration,
    },
}

/// The interval to wait between refreshes: the one asked for, or twice what a refresh
/// takes when that is longer, so the collector works at most half the time (on a host with
/// a million sockets a refresh takes seconds, and back-to-back refreshes would hold a core).
pub fn paced(asked: Duration, took: Duration) -> Duration {
    asked.max(took * 2)
}

/// The running collector: frames come out of `updates`, controls go into `control`.
pub struct Feed {
    pub updates: Receiver<Update>,
    pub control: Sender<Control>,
}

/// Starts the collector thread over `looks` (see `Looks`). It ends when `Feed` is dropped.
pub fn start(looks: Looks, interval: Duration) -> std::io::Result<Feed> {
    spawn("collector", looks, interval)
}

/// Frames from a source's hosts, in order: a live host is read again each refresh (one
/// collector keeps its netlink sockets, buffers and owner cache between looks); a capture's
/// looks are read once each, and the tracker's clock follows the times they were taken,
/// so rates and ages are the recording's.
pub struct Looks {
    opts: SnapshotOptions,
    hosts: Vec<Arc<dyn Host>>,
    /// The refresher of host `refreshing`.
    refresh: Option<Box<dyn Refresh>>,
    refreshing: usize,
    next: usize,
    tracker: Tracker,
    start: Instant,
    first_taken: Option<SystemTime>,
    /// A live host's freed sockets' last counters (None from a capture).
    finals: Option<crate::finals::Finals>,
}

impl Looks {
    /// `hosts`: one live host, or a capture's looks, oldest first (not empty).
    pub fn new(opts: SnapshotOptions, hosts: Vec<Arc<dyn Host>>, thresholds: Thresholds) -> Looks {
        // A namespace whose destroy records cannot be joined (entering it needs
        // CAP_SYS_ADMIN) is one whose table cannot be read either: the table says so.
        let live = hosts.iter().all(|h| h.taken_at().is_none());
        let finals = live.then(|| crate::finals::Finals::open(&opts.namespaces));
        Looks {
            finals,
            opts,
            first_taken: hosts.first().and_then(|h| h.taken_at()),
            hosts,
            refresh: None,
            refreshing: 0,
            next: 0,
            tracker: Tracker::new(thresholds),
            start: Instant::now(),
        }
    }

    /// The next frame, or none past a capture's last look.
    pub fn next_frame(&mut self) -> Option<Result<Arc<Frame>, sockscope_core::SnapshotError>> {
        let last = self.hosts.len().checked_sub(1)?;
        let index = self.next.min(last);
        let host = Arc::clone(&self.hosts[index]);
        let recorded = host.taken_at();
        if self.next > last && recorded.is_some() {
            return None;
        }
        if self.refresh.is_none() || self.refreshing != index {
            self.refresh = Some(host.refresher(self.opts.clone()));
            self.refreshing = index;
        }
        self.next += 1;
        let started = Instant::now();
        let snap = match self.refresh.as_mut().map(|r| r.next()) {
            Some(Ok(snap)) => snap,
            Some(Err(e)) => return Some(Err(e)),
            None => return None,
        };
        let taken = started.elapsed();
        if let Some(finals) = &mut self.finals {
            finals.drain(self.tracker.finals());
        }
        let now = match (recorded, self.first_taken) {
            (Some(at), Some(first)) => self.start + at.duration_since(first).unwrap_or_default(),
            _ => Instant::now(),
        };
        let counters = host.counters(&snap.namespaces, &mut Vec::new());
        let mut frame = self.tracker.update(&host, index, snap, taken, now, counters);
        frame.destroy_records_lost = self.finals.as_ref().map_or(0, crate::finals::Finals::lost);
        Some(Ok(Arc::new(frame)))
    }

    /// A new filter and states, from the next frame on (a capture's look on screen is read
    /// again with them).
    pub fn refilter(&mut self, expr: Option<Expr>, states: StateSet) {
        let by_namespace =
            expr.as_ref().is_some_and(|e| e.preds().iter().any(|p| matches!(p, Pred::Netns(_) | Pred::Container(_))));
        if by_namespace
            && self.opts.namespaces.is_empty()
            && let Some(host) = self.hosts.last()
            && let Ok(all) = host.namespaces()
        {
            self.opts.namespaces = all;
        }
        self.opts.filter = expr;
        self.opts.selection.states = states;
        self.refresh = None;
        if self.hosts.last().is_some_and(|h| h.taken_at().is_some()) {
            self.next = self.next.saturating_sub(1);
        }
    }
}

/// Runs `looks` on a thread of its own: a frame each `interval`, and between them what the
/// UI asks. It ends when the UI's end of the channels is dropped.
fn spawn(name: &str, mut looks: Looks, mut interval: Duration) -> std::io::Result<Feed> {
    let (to_ui, updates) = channel();
    let (control, from_ui) = channel::<Control>();
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let mut paused = false;
        let mut slowed = false;
        loop {
            let started = Instant::now();
            if !paused
                && let Some(result) = looks.next_frame()
                && to_ui
                    .send(match result {
                        Ok(frame) => Update::Frame(frame),
                        Err(e) => Update::Error(e.to_string()),
                    })
                    .is_err()
            {
                return;
            }
            let took = if paused { Duration::ZERO } else { started.elapsed() };
            // Said when the pace changes, not at every refresh.
            if (paced(interval, took) > interval) != slowed {
                slowed = !slowed;
                let _ = to_ui.send(Update::Slowed { took, interval: paced(interval, took) });
            }
            // Until the next refresh, follow what the UI asks.
            loop {
                let wait = (started + paced(interval, took)).saturating_duration_since(Instant::now());
                match from_ui.recv_timeout(wait) {
                    Ok(Control::Interval(d)) => interval = d,
                    Ok(Control::Pause(p)) => paused = p,
                    Ok(Control::Filter(expr, states)) => {
                        looks.refilter(expr, states);
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    })?;
    Ok(Feed { updates, control })
}

#[cfg(test)]
mod pace_tests {
    use super::paced;
    use std::time::Duration;

    /// Quick refreshes keep the interval asked for; a refresh longer than half of it
    /// stretches the wait to twice its own time.
    #[test]
    fn slow_refreshes_lengthen_the_interval() {
        let s = Duration::from_secs;
        assert_eq!(paced(s(1), Duration::from_millis(300)), s(1));
        assert_eq!(paced(s(1), Duration::from_millis(500)), s(1));
        assert_eq!(paced(s(1), Duration::from_millis(1500)), s(3));
        assert_eq!(paced(s(5), s(2)), s(5));
    }
}
