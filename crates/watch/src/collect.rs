//! The collector thread: it keeps one `Collector` (its netlink sockets, buffers and owner
//! cache live between refreshes), takes a snapshot each interval, turns it into a `Frame`
//! and sends it over a channel. The UI thread never waits on it: it draws the last frame
//! it has and reads keys while the next one is being made.

use crate::frame::{Frame, Tracker};
use sockscope_core::capture::Frame as CaptureFrame;
use sockscope_core::diagnose::Thresholds;
use sockscope_core::diagnose::observe::counters_in;
use sockscope_core::filter::{Expr, Pred};
use sockscope_core::model::StateSet;
use sockscope_core::{Collector, SnapshotOptions};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

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
}

/// The running collector: frames come out of `updates`, controls go into `control`.
pub struct Feed {
    pub updates: Receiver<Update>,
    pub control: Sender<Control>,
}

/// Starts the collector thread. It ends when `Feed` is dropped.
pub fn start(opts: SnapshotOptions, interval: Duration, thresholds: Thresholds) -> std::io::Result<Feed> {
    let collector = Collector::new(opts.clone());
    let tracker = Tracker::new(&opts.proc_root, thresholds);
    spawn("collector", Live { opts, collector, tracker }, interval)
}

/// Starts a thread replaying a capture's `looks`, one each `interval` (pause, interval and
/// filter work as live), then keeping the last.
pub fn start_replay(
    opts: SnapshotOptions,
    looks: Vec<Arc<CaptureFrame>>,
    interval: Duration,
    thresholds: Thresholds,
) -> std::io::Result<Feed> {
    spawn("replay", Replayed { replay: Replay::new(&opts, looks, thresholds), next: 0 }, interval)
}

/// Where frames come from: the host, or a capture.
trait Looks: Send + 'static {
    /// The next frame, or none (a replay past its last look).
    fn next(&mut self) -> Option<Update>;
    /// A new filter and states, from the next frame on.
    fn refilter(&mut self, expr: Option<Expr>, states: StateSet);
}

struct Live {
    opts: SnapshotOptions,
    collector: Collector,
    tracker: Tracker,
}

impl Looks for Live {
    fn next(&mut self) -> Option<Update> {
        let started = Instant::now();
        Some(match self.collector.collect() {
            Ok(snap) => {
                let taken = started.elapsed();
                let counters = counters_in(&self.opts.proc_root, &snap.namespaces);
                Update::Frame(Arc::new(self.tracker.update(snap, taken, Instant::now(), counters)))
            }
            Err(e) => Update::Error(e.to_string()),
        })
    }

    fn refilter(&mut self, expr: Option<Expr>, states: StateSet) {
        let by_namespace =
            expr.as_ref().is_some_and(|e| e.preds().iter().any(|p| matches!(p, Pred::Netns(_) | Pred::Container(_))));
        if by_namespace && self.opts.namespaces.is_empty() {
            self.opts.namespaces = sockscope_core::netns::discover(&self.opts.proc_root);
        }
        self.opts.filter = expr;
        self.opts.selection.states = states;
        self.collector = Collector::new(self.opts.clone());
    }
}

struct Replayed {
    replay: Replay,
    next: usize,
}

impl Looks for Replayed {
    fn next(&mut self) -> Option<Update> {
        (self.next < self.replay.looks.len()).then(|| {
            self.next += 1;
            match self.replay.frame(self.next - 1) {
                Ok(f) => Update::Frame(f),
                Err(e) => Update::Error(e.to_string()),
            }
        })
    }

    fn refilter(&mut self, expr: Option<Expr>, states: StateSet) {
        self.replay.opts.filter = expr;
        self.replay.opts.selection.states = states;
        // The look on screen again, with the new filter.
        self.next = self.next.saturating_sub(1);
    }
}

/// Runs `looks` on a thread of its own: a frame each `interval`, and between them what the
/// UI asks. It ends when the UI's end of the channels is dropped.
fn spawn(name: &str, mut looks: impl Looks, mut interval: Duration) -> std::io::Result<Feed> {
    let (to_ui, updates) = channel();
    let (control, from_ui) = channel::<Control>();
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let mut paused = false;
        loop {
            let started = Instant::now();
            if !paused
                && let Some(update) = looks.next()
                && to_ui.send(update).is_err()
            {
                return;
            }
            // Until the next refresh, follow what the UI asks.
            loop {
                let wait = (started + interval).saturating_duration_since(Instant::now());
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

/// Turns a capture's looks into frames, as the live collector turns snapshots: each look is
/// read with the view's selection and filter, and the tracker's clock follows the looks'
/// times, so rates and ages are the recording's.
pub struct Replay {
    opts: SnapshotOptions,
    looks: Vec<Arc<CaptureFrame>>,
    tracker: Tracker,
    start: Instant,
}

impl Replay {
    pub fn new(opts: &SnapshotOptions, looks: Vec<Arc<CaptureFrame>>, thresholds: Thresholds) -> Replay {
        Replay { opts: opts.clone(), looks, tracker: Tracker::new(&opts.proc_root, thresholds), start: Instant::now() }
    }

    /// The frame of look `n` (0-based); looks are to be taken in order.
    pub fn frame(&mut self, n: usize) -> Result<Arc<Frame>, sockscope_core::SnapshotError> {
        let look = &self.looks[n];
        let mut opts = self.opts.clone();
        opts.capture = Some(Arc::clone(look));
        let snap = Collector::once(opts).take()?;
        let since_first = look.taken_at_ns.saturating_sub(self.looks[0].taken_at_ns);
        let at = self.start + Duration::from_nanos(since_first);
        self.tracker.replaying(Arc::clone(look));
        Ok(Arc::new(self.tracker.update(Arc::new(snap), Duration::ZERO, at, look.counters())))
    }
}
