//! `sockscope serve`: socket health for Prometheus. Scrapes are answered from a collection
//! cached for a minimum interval, so many scrapers (or a fast scrape interval) never
//! multiply the cost: at most one collection runs at a time and at most one per interval.
//! A scrape that waits on a collection longer than its timeout answers with the last one
//! and says so (`sockscope_scrape_stale 1`).
//!
//! `http` is the server (bounded workers, limits, timeouts), `metrics` the exposition.
#![forbid(unsafe_code)]

pub mod config;
pub mod http;
pub mod lifetimes;
pub mod metrics;

use http::{Request, Response};
use metrics::{Host, Limits, SelfStats, Writer};
use sockscope_core::SnapshotOptions;
use sockscope_core::diagnose::Thresholds;
use sockscope_core::hosts::Host as Source;
use sockscope_live::frame::{Frame, Tracker};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct Options {
    /// The host exported (the running one).
    pub host: Arc<dyn Source>,
    pub collect: SnapshotOptions,
    /// Collections are reused for at least this long.
    pub min_interval: Duration,
    pub limits: Limits,
    pub families: metrics::Families,
    /// Ports that always have their own listener series.
    pub interest: Vec<u16>,
    pub thresholds: Thresholds,
    /// `--events`: accepted and closed connections and their lives, as they happen.
    pub lifetimes: Option<Arc<Mutex<lifetimes::Lifetimes>>>,
}

/// One collection, rendered, with when and how long.
struct Collected {
    at: Instant,
    unix: f64,
    took: Duration,
    sockets: usize,
    /// The collection's families, in the text format and in OpenMetrics (without `# EOF`).
    text: String,
    openmetrics: String,
}

struct State {
    last: Option<Arc<Collected>>,
    /// A scrape wants a newer collection than `last`.
    wanted: bool,
    errors: u64,
    collections: u64,
    /// The exporter is being dropped: the collector thread ends.
    closing: bool,
}

/// What the scrapes and the collector thread share: the state behind one lock, a condition
/// the collector waits on for work and one scrapes wait on for its result.
struct Shared {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

/// The exporter. Collections run on one thread of their own, so however many HTTP workers
/// ask, one collection runs at a time, and all its memory comes and goes in one thread's
/// allocator arena (collections on rotating worker threads grew one arena each: 262 MiB at
/// 100k sockets).
pub struct Exporter {
    opts: Arc<Options>,
    shared: Arc<Shared>,
}

/// How long a scrape may wait for a collection when the scraper does not say: Prometheus's
/// default scrape timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Exporter {
    pub fn new(opts: Options) -> std::io::Result<Exporter> {
        let opts = Arc::new(opts);
        let state = State { last: None, wanted: false, errors: 0, collections: 0, closing: false };
        let shared = Arc::new(Shared { state: Mutex::new(state), work: Condvar::new(), done: Condvar::new() });
        let (o, sh) = (Arc::clone(&opts), Arc::clone(&shared));
        std::thread::Builder::new().name("collector".into()).spawn(move || collector(&o, &sh))?;
        Ok(Exporter { opts, shared })
    }

    /// Answers one HTTP request.
    pub fn handle(&self, req: &Request) -> Response {
        if req.method != "GET" && req.method != "HEAD" {
            let mut r = Response::text(405, "only GET and HEAD\n");
            r.allow = Some("GET, HEAD");
            return r;
        }
        match req.path.as_str() {
            "/metrics" => self.metrics(req),
            "/healthz" => Response::text(200, "ok\n"),
            "/" => Response {
                status: 200,
                content_type: "text/html; charset=utf-8",
                body: INDEX.as_bytes().to_vec(),
                allow: None,
            },
            _ => Response::text(404, "not found: try /metrics\n"),
        }
    }

    fn metrics(&self, req: &Request) -> Response {
        let started = Instant::now();
        let openmetrics = req.header("accept").is_some_and(|a| a.contains("application/openmetrics-text"));
        // The scraper's timeout, less a margin to write the answer.
        let timeout = req
            .header("x-prometheus-scrape-timeout-seconds")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(DEFAULT_TIMEOUT, |t| Duration::from_secs_f64((t * 0.9).min(3600.0)));
        let (collected, stale, (errors, collections)) = self.collected(started + timeout);
        let Some(c) = collected else {
            return Response::text(503, "no collection yet: the first one has not finished or failed\n");
        };
        let mut w = Writer::new(openmetrics);
        let stats = SelfStats {
            scrape_seconds: started.elapsed().as_secs_f64(),
            collection_seconds: c.took.as_secs_f64(),
            collection_errors: errors,
            collections,
            sockets_seen: c.sockets,
            last_collection_unix: c.unix,
            stale,
        };
        metrics::self_metrics(&mut w, &stats);
        if let Some(l) = &self.opts.lifetimes
            && let Ok(l) = l.lock()
        {
            metrics::lifetimes(&mut w, &l, self.opts.limits.max_listeners, &self.opts.interest);
        }
        let mut body = if openmetrics { c.openmetrics.clone() } else { c.text.clone() };
        body.push_str(&w.finish());
        Response {
            status: 200,
            content_type: if openmetrics {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            } else {
                "text/plain; version=0.0.4; charset=utf-8"
            },
            body: body.into_bytes(),
            allow: None,
        }
    }

    /// A collection no older than the minimum interval: the cached one, or a new one the
    /// collector thread makes (waited for until `deadline`). Returns it, whether it is older
    /// than wanted, and the error and collection counts.
    fn collected(&self, deadline: Instant) -> (Option<Arc<Collected>>, bool, (u64, u64)) {
        let Ok(mut st) = self.shared.state.lock() else { return (None, true, (0, 0)) };
        let asked = st.collections;
        loop {
            let fresh = st.last.as_ref().is_some_and(|c| c.at.elapsed() < self.opts.min_interval);
            // Fresh, or a collection finished since this scrape asked (even a failed one:
            // the error count says so).
            if fresh || st.collections > asked {
                return (st.last.clone(), false, (st.errors, st.collections));
            }
            st.wanted = true;
            self.shared.work.notify_one();
            let now = Instant::now();
            if now >= deadline {
                return (st.last.clone(), true, (st.errors, st.collections));
            }
            match self.shared.done.wait_timeout(st, deadline - now) {
                Ok((guard, _)) => st = guard,
                Err(_) => return (None, true, (0, 0)),
            }
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.state.lock() {
            st.closing = true;
            self.shared.work.notify_one();
        }
    }
}

/// The collector thread: waits until a scrape wants a collection, makes it (outside the
/// lock), stores it, wakes the scrapes.
fn collector(opts: &Options, shared: &Shared) {
    let mut refresh = opts.host.refresher(opts.collect.clone());
    let mut tracker = Tracker::new(opts.thresholds.clone()).without_closed_rows();
    loop {
        {
            let Ok(mut st) = shared.state.lock() else { return };
            loop {
                if st.closing {
                    return;
                }
                // Scrapes that asked while the last collection ran want no other: it is fresh.
                let fresh = st.last.as_ref().is_some_and(|c| c.at.elapsed() < opts.min_interval);
                if st.wanted && fresh {
                    st.wanted = false;
                    shared.done.notify_all();
                }
                if st.wanted {
                    break;
                }
                st = match shared.work.wait(st) {
                    Ok(g) => g,
                    Err(_) => return,
                };
            }
            st.wanted = false;
        }
        let started = Instant::now();
        let made = refresh.next().ok().map(|snap| {
            let took = started.elapsed();
            let counters = opts.host.counters(&snap.namespaces, &mut Vec::new());
            let frame = tracker.update(&opts.host, 0, snap, took, Instant::now(), counters.clone());
            Arc::new(render(opts, &frame, &counters, took))
        });
        let Ok(mut st) = shared.state.lock() else { return };
        st.collections += 1;
        match made {
            Some(c) => st.last = Some(c),
            None => st.errors += 1,
        }
        shared.done.notify_all();
    }
}

/// A frame as the two formats' collection families (the exporter's own are added per scrape).
fn render(
    opts: &Options,
    frame: &Frame,
    counters: &std::collections::HashMap<String, u64>,
    took: Duration,
) -> Collected {
    let sockstat = sockscope_core::diagnose::observe::sockstat(&*opts.host);
    let host = Host { counters, sockstat: &sockstat, sys: &frame.sys };
    let render = |openmetrics: bool| {
        let mut w = Writer::new(openmetrics);
        let shape = metrics::Shape { limits: opts.limits, families: opts.families, interest: &opts.interest };
        metrics::collection(&mut w, frame, &host, &shape);
        let mut s = w.finish();
        // `# EOF` goes after the exporter's own families, added per scrape.
        if openmetrics && let Some(stripped) = s.strip_suffix("# EOF\n") {
            s = stripped.to_string();
        }
        s
    };
    Collected {
        at: Instant::now(),
        unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
        took,
        sockets: frame.snapshot.sockets.len(),
        text: render(false),
        openmetrics: render(true),
    }
}

const INDEX: &str = "<!doctype html><html><head><title>sockscope</title></head><body>\
<h1>sockscope serve</h1><p><a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a></p>\
<p>Every metric, its labels and the node_exporter metric it replaces: docs/serve.md.</p></body></html>\n";
