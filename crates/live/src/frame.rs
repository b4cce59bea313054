//! One refresh of the live view, computed on the collector thread from a snapshot and what
//! the previous refreshes left: per-socket byte counters (by cookie) for rates, first-seen
//! times for ages, the sockets that closed since, per-process history for sparklines, and the
//! doctor's findings. The UI thread only sorts and draws what is here.

use sockscope_core::diagnose::observe::{fd_usage, sysctls};
use sockscope_core::diagnose::{Finding, Observation, ProcessFds, SecondLook, Sysctls, Thresholds, diagnose};
use sockscope_core::hosts::Host;
use sockscope_core::model::SockState;
use sockscope_core::{Netid, Snapshot, Socket};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many refreshes a sparkline remembers (a minute at the default interval).
pub const HISTORY: usize = 60;

/// A connection row, 24 bytes (there is one per socket): an index into the snapshot's
/// sockets (the text is made only for the rows drawn), or into `Frame::closed` for a socket
/// that closed since the last refresh, shown once more.
#[derive(Clone, Copy, Debug)]
pub struct ConnRow {
    index: u32,
    /// A socket that closed since the last refresh.
    pub closed: bool,
    /// First seen at this refresh.
    pub fresh: bool,
    /// Already there at the first look: its age is at least `age`, not `age` (the kernel
    /// does not say when a socket was made).
    pub age_at_least: bool,
    pub rate_in: f32,
    pub rate_out: f32,
    age_ms: u32,
    /// tcp_info's rtt and total_retrans (`u32::MAX`: none), kept here so the snapshot can
    /// drop each TCP socket's details once the frame is made.
    rtt_us: u32,
    retrans: u32,
}

impl ConnRow {
    /// The live socket, or None for a closed row.
    pub fn socket<'a>(&self, frame: &'a Frame) -> Option<&'a Socket> {
        (!self.closed).then(|| &frame.snapshot.sockets[self.index as usize])
    }

    /// The live socket's index in the snapshot.
    pub fn index(&self) -> Option<usize> {
        (!self.closed).then_some(self.index as usize)
    }

    /// What a closed row was.
    pub fn closed_text<'a>(&self, frame: &'a Frame) -> Option<&'a ClosedText> {
        if self.closed { frame.closed.get(self.index as usize) } else { None }
    }

    /// Since it was first seen (a lower bound when `age_at_least`).
    pub fn age(&self) -> Duration {
        Duration::from_millis(u64::from(self.age_ms))
    }

    pub fn rtt_us(&self) -> Option<u32> {
        (self.rtt_us != u32::MAX).then_some(self.rtt_us)
    }

    pub fn retransmits(&self) -> Option<u32> {
        (self.retrans != u32::MAX).then_some(self.retrans)
    }
}

#[derive(Clone, Debug)]
pub struct ClosedText {
    pub netid: Netid,
    pub local: String,
    pub peer: String,
    pub owner: Option<(u32, String)>,
}

/// Sockets by state, in the columns the views show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub established: u32,
    pub listening: u32,
    pub close_wait: u32,
    /// TIME-WAIT sockets on a port this process listens on: the closes it made as a server.
    pub time_wait: u32,
    pub other: u32,
}

impl StateCounts {
    fn add(&mut self, state: SockState) {
        match state {
            SockState::Established => self.established += 1,
            SockState::Listen => self.listening += 1,
            SockState::CloseWait => self.close_wait += 1,
            SockState::TimeWait => self.time_wait += 1,
            _ => self.other += 1,
        }
    }

    pub fn total(&self) -> u32 {
        self.established + self.listening + self.close_wait + self.time_wait + self.other
    }
}

#[derive(Clone, Debug)]
pub struct ProcRow {
    pub pid: u32,
    pub command: String,
    pub uid: u32,
    /// The user's name, or the uid when it has none.
    pub user: String,
    pub states: StateCounts,
    pub fds: Option<u64>,
    pub fd_soft_limit: Option<u64>,
    pub rate_in: f64,
    pub rate_out: f64,
    pub new_per_s: f64,
}

impl ProcRow {
    /// Open fds as a share of the soft limit.
    pub fn fd_usage(&self) -> Option<f64> {
        match (self.fds, self.fd_soft_limit) {
            (Some(n), Some(l)) if l > 0 => Some(n as f64 / l as f64),
            _ => None,
        }
    }
}

/// The per-process series a sparkline can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Series {
    Sockets,
    Fds,
    BytesIn,
    BytesOut,
    NewConnections,
}

#[derive(Clone, Debug)]
pub struct ListenRow {
    /// Into `Frame::snapshot.sockets`.
    pub index: usize,
    pub port: u16,
    /// Connections to this port by state (not the listener itself).
    pub states: StateCounts,
    pub accepts_per_s: f64,
    /// The accept queue is full and the host's ListenOverflows rose since the last refresh.
    pub overflowing: bool,
}

impl ListenRow {
    pub fn queue(&self, snap: &Snapshot) -> (u32, Option<u32>) {
        let s = &snap.sockets[self.index];
        (s.recv_q, s.send_q)
    }
}

#[derive(Clone, Debug)]
pub struct FindingRow {
    pub finding: Finding,
    /// When this finding (rule and what it is about) was first seen.
    pub since: Instant,
}

/// Everything one refresh shows.
pub struct Frame {
    pub snapshot: Arc<Snapshot>,
    pub taken: Duration,
    pub at: Instant,
    /// Seconds since the last refresh, which the rates are over; None on the first.
    pub since_last_s: Option<f64>,
    /// Destroy records lost since the start (closed connections' last bytes; see finals).
    pub destroy_records_lost: u64,
    pub processes: Vec<ProcRow>,
    pub listeners: Vec<ListenRow>,
    /// The snapshot's sockets in order, then the closed ones.
    pub connections: Vec<ConnRow>,
    /// The sockets that closed since the last refresh.
    pub closed: Vec<ClosedText>,
    /// Newest first.
    pub findings: Vec<FindingRow>,
    /// ListenOverflows since the last refresh (the caller's namespace, or summed).
    pub overflows: u64,
    /// Every readable process's open fds and limits (not only those holding sockets).
    pub fd_usage: Vec<ProcessFds>,
    /// The tunables the rules compared with, read once this refresh (`serve` exports them).
    pub sys: Sysctls,
    /// Each process's history, oldest first, per series.
    pub history: HashMap<u32, HashMap<Series, Vec<u64>>>,
    /// The host the frame was read from (a capture's look, when replaying one): where a
    /// drill-down reads a process's fds, and what a kill acts on.
    pub host: Arc<dyn Host>,
    /// Which of the source's looks it is (0 for a live host).
    pub look: usize,
}

impl Frame {
    /// The process holding a socket (the first, when several do), from the snapshot.
    pub fn owner(&self, s: &Socket) -> Option<(u32, &str)> {
        self.snapshot.owners_of(s).next().map(|o| (o.process.pid, &*o.process.command))
    }
}

/// What one socket looked like at the last refresh, 32 bytes (its text, when it closes,
/// comes from the last snapshot, which is kept). Kept sorted by cookie.
#[derive(Clone, Copy, Debug)]
struct Seen {
    cookie: u64,
    /// bytes_acked and bytes_received, `NONE` when the kernel did not say.
    acked: u64,
    received: u64,
    /// When it was first seen: milliseconds since the tracker started.
    first_ms: u32,
    /// Its index in the last snapshot.
    at: u32,
}

const NONE: u64 = u64::MAX;

fn find(seen: &[Seen], cookie: u64) -> Option<&Seen> {
    seen.binary_search_by_key(&cookie, |s| s.cookie).ok().map(|i| &seen[i])
}

/// The memory between refreshes.
pub struct Tracker {
    thresholds: Thresholds,
    seen: Vec<Seen>,
    started: Instant,
    users: sockscope_core::names::Users,
    /// The last refresh's snapshot (the UI holds it too until the next frame): the text of
    /// the sockets that close. Not kept without closed rows.
    previous: Option<Arc<Snapshot>>,
    closed_rows: bool,
    last: Option<Instant>,
    counters: HashMap<String, u64>,
    second: SecondLook,
    history: HashMap<u32, HashMap<Series, VecDeque<u64>>>,
    findings: HashMap<String, Instant>,
    /// Freed sockets' last counters (the destroy records), by cookie: a socket seen at the
    /// last refresh that closed since is counted to its close. Kept only for sockets still
    /// open at the last refresh (their record may come before they are missed).
    finals: HashMap<u64, crate::finals::Final>,
    /// Socket files no socket is bound to (the doctor's stale-unix-sockets), and when they
    /// were last looked for: a walk of /run, /var/run and /tmp, so not at every refresh.
    stale: Option<(Instant, Vec<std::path::PathBuf>)>,
}

/// How often `watch` and `serve` look for stale socket files.
const STALE_EVERY: Duration = Duration::from_secs(30);

impl Tracker {
    pub fn new(thresholds: Thresholds) -> Tracker {
        Tracker {
            thresholds,
            seen: Vec::new(),
            started: Instant::now(),
            users: sockscope_core::names::Users::new(),
            previous: None,
            closed_rows: true,
            last: None,
            counters: HashMap::new(),
            second: SecondLook::default(),
            history: HashMap::new(),
            findings: HashMap::new(),
            finals: HashMap::new(),
            stale: None,
        }
    }

    /// Where the collector puts the freed sockets' counters it reads before each update.
    pub fn finals(&mut self) -> &mut HashMap<u64, crate::finals::Final> {
        &mut self.finals
    }

    /// Frames without the sockets that closed since the last (the exporter's): the last
    /// snapshot is then not kept, which halves the peak memory.
    pub fn without_closed_rows(mut self) -> Tracker {
        self.closed_rows = false;
        self
    }

    /// The next frame from a new snapshot of `host` (look `look` of its source) taken at
    /// `now`, with the kernel's counters read just after it.
    pub fn update(
        &mut self,
        host: &Arc<dyn Host>,
        look: usize,
        snapshot: Arc<Snapshot>,
        taken: Duration,
        now: Instant,
        counters: HashMap<String, u64>,
    ) -> Frame {
        let elapsed = self.last.map(|l| now.saturating_duration_since(l).as_secs_f64()).filter(|s| *s > 0.0);
        // Rates over the interval; on the first look none is known: NaN, which the views
        // print as `-` and JSON as null (never a 0 that says nothing moved).
        let per_s = |n: f64| elapsed.map_or(f64::NAN, |e| n / e);
        let snap = &*snapshot;

        // Connections: rates from byte counters by cookie, ages from first sight.
        if self.last.is_none() {
            self.started = now;
        }
        let now_ms = age_ms(now.saturating_duration_since(self.started));
        let mut next_seen: Vec<Seen> = Vec::with_capacity(snap.sockets.len());
        let mut connections = Vec::with_capacity(snap.sockets.len());
        // Bytes of connections no longer held by the process that held them at the last look
        // (closed, or a TIME-WAIT socket, which has no owner): (pid, in/s, out/s).
        let mut let_go: Vec<(u32, f32, f32)> = Vec::new();
        for (index, s) in snap.sockets.iter().enumerate() {
            let vitals = s.vitals();
            let cookie = s.cookie.map(|c| c.get());
            // A TIME-WAIT socket keeps its cookie but has no tcp_info: the counters it was
            // freed with, from its destroy record, are its last.
            let last = cookie.filter(|_| vitals.is_none()).and_then(|c| self.finals.remove(&c));
            let acked = vitals.and_then(|v| v.bytes_acked()).or(last.and_then(|f| f.acked)).unwrap_or(NONE);
            let received = vitals.and_then(|v| v.bytes_received()).or(last.and_then(|f| f.received)).unwrap_or(NONE);
            let before = cookie.and_then(|c| find(&self.seen, c));
            let fresh = self.last.is_some() && before.is_none() && s.state != SockState::Listen;
            let delta =
                |now: u64, then: u64| if now == NONE || then == NONE { 0.0 } else { now.saturating_sub(then) as f64 };
            let (rate_in, rate_out) = match before {
                Some(b) => (per_s(delta(received, b.received)), per_s(delta(acked, b.acked))),
                None => (per_s(0.0), per_s(0.0)),
            };
            let first_ms = before.map_or(now_ms, |b| b.first_ms);
            if rate_in + rate_out > 0.0
                && snap.owners_of(s).next().is_none()
                && let (Some(b), Some(previous)) = (before, &self.previous)
                && let Some(o) = previous.sockets.get(b.at as usize).and_then(|p| previous.owners_of(p).next())
            {
                let_go.push((o.process.pid, rate_in as f32, rate_out as f32));
            }
            let at = u32::try_from(index).unwrap_or(u32::MAX);
            if let Some(cookie) = cookie {
                next_seen.push(Seen { cookie, acked, received, first_ms, at });
            }
            connections.push(ConnRow {
                index: at,
                closed: false,
                fresh,
                rate_in: rate_in as f32,
                rate_out: rate_out as f32,
                age_ms: now_ms.saturating_sub(first_ms),
                age_at_least: first_ms == 0,
                rtt_us: vitals.and_then(|v| v.rtt_us()).unwrap_or(u32::MAX),
                retrans: vitals.and_then(|v| v.total_retrans()).unwrap_or(u32::MAX),
            });
        }
        next_seen.sort_unstable_by_key(|s| s.cookie);
        next_seen.dedup_by_key(|s| s.cookie);
        // Closed since the last refresh: shown once more, as the last snapshot had them.
        let mut closed = Vec::new();
        if let Some(previous) = &self.previous {
            for seen in &self.seen {
                if find(&next_seen, seen.cookie).is_some() {
                    continue;
                }
                let Some(s) = previous.sockets.get(seen.at as usize) else { continue };
                // Its bytes from the last look to its close, when its destroy record came.
                let last = self.finals.remove(&seen.cookie);
                let moved = |now: Option<u64>, then: u64| match now {
                    Some(now) if then != NONE => per_s(now.saturating_sub(then) as f64),
                    _ => f64::NAN,
                };
                // Without its record (lost, or its namespace not joined) they are not known.
                let (rate_in, rate_out) = last
                    .map_or((f64::NAN, f64::NAN), |f| (moved(f.received, seen.received), moved(f.acked, seen.acked)));
                if let Some(o) = previous.owners_of(s).next().filter(|_| rate_in.is_finite() && rate_out.is_finite()) {
                    let_go.push((o.process.pid, rate_in as f32, rate_out as f32));
                }
                connections.push(ConnRow {
                    index: u32::try_from(closed.len()).unwrap_or(u32::MAX),
                    closed: true,
                    fresh: false,
                    rate_in: rate_in as f32,
                    rate_out: rate_out as f32,
                    age_ms: now_ms.saturating_sub(seen.first_ms),
                    age_at_least: seen.first_ms == 0,
                    rtt_us: u32::MAX,
                    retrans: u32::MAX,
                });
                closed.push(ClosedText {
                    netid: s.netid,
                    local: s.end_text(&s.local),
                    peer: s.end_text(&s.peer),
                    owner: previous.owners_of(s).next().map(|o| (o.process.pid, o.process.command.to_string())),
                });
            }
        }

        // Every process's open fds and limit: the fd rules read them all.
        let usage = fd_usage(&**host, snap);
        // Records of sockets never seen open, or of sockets that closed long ago, are done.
        self.finals.retain(|cookie, _| find(&next_seen, *cookie).is_some());
        let processes = self.processes(snap, &usage, &connections, &let_go, &per_s);
        let overflows = delta_of(&counters, &self.counters, "TcpExt.ListenOverflows");
        let listeners = listeners(snap, &connections, per_s, overflows > 0);
        let sys = sysctls(&**host);
        let stale = self.stale_sockets(&**host, now);
        let findings = self.findings(&snapshot, usage.clone(), &counters, &sys, now, elapsed, stale);
        // What the rows and rules needed of each TCP socket's tcp_info is taken: drop the
        // rest (a boxed struct per connection, a fifth of a frame at 100k sockets).
        let mut snapshot = snapshot;
        if let Some(snap) = Arc::get_mut(&mut snapshot) {
            for s in snap.sockets.iter_mut().filter(|s| s.netid == Netid::Tcp) {
                s.details = None;
            }
        }

        self.seen = next_seen;
        self.previous = self.closed_rows.then(|| Arc::clone(&snapshot));
        self.last = Some(now);
        self.counters = counters;
        self.second = SecondLook::of(&snapshot.sockets);
        let history = self
            .history
            .iter()
            .map(|(pid, series)| (*pid, series.iter().map(|(k, v)| (*k, v.iter().copied().collect())).collect()))
            .collect();
        Frame {
            snapshot,
            taken,
            at: now,
            since_last_s: elapsed,
            destroy_records_lost: 0,
            processes,
            listeners,
            connections,
            closed,
            findings,
            overflows,
            fd_usage: usage,
            sys,
            history,
            host: Arc::clone(host),
            look,
        }
    }

    fn processes(
        &mut self,
        snap: &Snapshot,
        usage: &[ProcessFds],
        connections: &[ConnRow],
        let_go: &[(u32, f32, f32)],
        per_s: &impl Fn(f64) -> f64,
    ) -> Vec<ProcRow> {
        // A TIME-WAIT socket has no owner: it is counted for the process listening on its
        // local port (a server's own closes); a client's cannot be told.
        let mut listening_pid: HashMap<u16, u32> = HashMap::new();
        let mut rows: BTreeMap<u32, ProcRow> = BTreeMap::new();
        let mut new: HashMap<u32, u32> = HashMap::new();
        let mut seen = HashSet::new();
        for (s, c) in snap.sockets.iter().zip(connections) {
            seen.clear();
            for o in snap.owners_of(s) {
                if !seen.insert(o.process.pid) {
                    continue;
                }
                if s.state == SockState::Listen
                    && let Some(p) = s.local.port()
                {
                    listening_pid.entry(p).or_insert(o.process.pid);
                }
                let row = rows.entry(o.process.pid).or_insert_with(|| ProcRow {
                    pid: o.process.pid,
                    command: o.process.command.to_string(),
                    uid: o.process.uid,
                    user: String::new(),
                    states: StateCounts::default(),
                    fds: None,
                    fd_soft_limit: None,
                    rate_in: 0.0,
                    rate_out: 0.0,
                    new_per_s: 0.0,
                });
                row.states.add(s.state);
                row.rate_in += f64::from(c.rate_in);
                row.rate_out += f64::from(c.rate_out);
                if c.fresh {
                    *new.entry(o.process.pid).or_default() += 1;
                }
            }
        }
        // Connections let go since the last look (closed, or in TIME-WAIT): their bytes up to
        // the close count for the process that held them, while it still holds sockets.
        for (pid, rate_in, rate_out) in let_go {
            if let Some(row) = rows.get_mut(pid) {
                row.rate_in += f64::from(*rate_in);
                row.rate_out += f64::from(*rate_out);
            }
        }
        for s in snap.sockets.iter().filter(|s| s.state == SockState::TimeWait) {
            if let Some(row) = s.local.port().and_then(|p| listening_pid.get(&p)).and_then(|pid| rows.get_mut(pid)) {
                row.states.add(SockState::TimeWait);
            }
        }
        let usage: HashMap<u32, &ProcessFds> = usage.iter().map(|p| (p.pid, p)).collect();
        for row in rows.values_mut() {
            row.user = self.users.name(row.uid).map_or_else(|| row.uid.to_string(), str::to_owned);
            row.fds = usage.get(&row.pid).map(|p| p.open);
            row.fd_soft_limit = usage.get(&row.pid).and_then(|p| p.soft);
            row.new_per_s = per_s(f64::from(new.get(&row.pid).copied().unwrap_or(0)));
        }
        // History: one sample per refresh, processes that are gone are forgotten.
        self.history.retain(|pid, _| rows.contains_key(pid));
        for row in rows.values() {
            let series = self.history.entry(row.pid).or_default();
            for (k, v) in [
                (Series::Sockets, u64::from(row.states.total())),
                (Series::Fds, row.fds.unwrap_or(0)),
                (Series::BytesIn, row.rate_in as u64),
                (Series::BytesOut, row.rate_out as u64),
                (Series::NewConnections, row.new_per_s.round() as u64),
            ] {
                let h = series.entry(k).or_default();
                if h.len() == HISTORY {
                    h.pop_front();
                }
                h.push_back(v);
            }
        }
        rows.into_values().collect()
    }

    /// The socket files no socket is bound to, as the doctor finds them (its directories),
    /// looked for again every STALE_EVERY. The frame's own snapshot may leave Unix sockets
    /// out (a filter, -t): the bound paths come from a dump of the Unix table of its own.
    fn stale_sockets(&mut self, host: &dyn Host, now: Instant) -> Vec<std::path::PathBuf> {
        if let Some((at, found)) = &self.stale
            && now.saturating_duration_since(*at) < STALE_EVERY
        {
            return found.clone();
        }
        let unix = [Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket];
        let mut opts = sockscope_core::SnapshotOptions::new(sockscope_core::Selection::resolve(
            &unix,
            &[],
            sockscope_core::model::StateSet::EVERY,
        ));
        opts.proc_root = host.proc_root().to_path_buf();
        let dirs = sockscope_core::diagnose::observe::ObserveOptions::default().stale_dirs;
        let found = match host.snapshot(&opts) {
            Ok(snap) => host.stale_sockets(&dirs, &snap, &mut Vec::new()),
            // Not known this time: no finding rather than every socket file called stale.
            Err(_) => Vec::new(),
        };
        self.stale = Some((now, found.clone()));
        found
    }

    /// The doctor's rules over this refresh: the snapshot as the first look, the previous
    /// refresh's sockets as the second (what persisted across one interval), counters over
    /// the interval. Each finding keeps the time it was first seen.
    #[allow(clippy::too_many_arguments)]
    fn findings(
        &mut self,
        snapshot: &Arc<Snapshot>,
        processes: Vec<ProcessFds>,
        counters: &HashMap<String, u64>,
        sys: &Sysctls,
        now: Instant,
        elapsed: Option<f64>,
        stale: Vec<std::path::PathBuf>,
    ) -> Vec<FindingRow> {
        let Some(elapsed) = elapsed else { return Vec::new() };
        let observation = Observation {
            first: Arc::clone(snapshot),
            second: std::mem::take(&mut self.second),
            window: Duration::from_secs_f64(elapsed),
            before: self.counters.clone(),
            after: counters.clone(),
            sys: sys.clone(),
            processes,
            stale_extended: stale,
            home_netns: None,
            // Reading options costs syscalls per socket: not on every refresh.
            options: Default::default(),
        };
        let found = diagnose(&observation, &self.thresholds);
        let mut still = HashMap::new();
        let mut rows: Vec<FindingRow> = found
            .into_iter()
            .map(|finding| {
                let key = finding_key(&finding);
                let since = self.findings.get(&key).copied().unwrap_or(now);
                still.insert(key, since);
                FindingRow { finding, since }
            })
            .collect();
        self.findings = still;
        rows.sort_by(|a, b| b.since.cmp(&a.since).then(b.finding.severity.cmp(&a.finding.severity)));
        rows
    }
}

fn age_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// A finding's identity across refreshes: its rule and what it is about, not its counts.
fn finding_key(f: &Finding) -> String {
    let pids: Vec<String> = f.processes.iter().map(|p| p.pid.to_string()).collect();
    let first = f.sockets.first().map(|s| s.local.as_str()).unwrap_or("");
    format!("{} {} {first}", f.rule, pids.join(","))
}

fn delta_of(now: &HashMap<String, u64>, then: &HashMap<String, u64>, key: &str) -> u64 {
    match (now.get(key), then.get(key)) {
        (Some(a), Some(b)) => a.saturating_sub(*b),
        _ => 0,
    }
}

/// One row per TCP listener, with the connections on its port.
fn listeners(snap: &Snapshot, connections: &[ConnRow], per_s: impl Fn(f64) -> f64, overflowed: bool) -> Vec<ListenRow> {
    let mut by_port: HashMap<u16, StateCounts> = HashMap::new();
    let mut new_by_port: HashMap<u16, u32> = HashMap::new();
    for (s, c) in snap.sockets.iter().zip(connections) {
        if s.netid != Netid::Tcp || s.state == SockState::Listen {
            continue;
        }
        if let Some(p) = s.local.port() {
            by_port.entry(p).or_default().add(s.state);
            if c.fresh {
                *new_by_port.entry(p).or_default() += 1;
            }
        }
    }
    snap.sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.netid == Netid::Tcp && s.state == SockState::Listen)
        .filter_map(|(index, s)| {
            let port = s.local.port()?;
            let full = s.send_q.is_some_and(|backlog| s.recv_q >= backlog && backlog > 0);
            Some(ListenRow {
                index,
                port,
                states: by_port.get(&port).copied().unwrap_or_default(),
                accepts_per_s: per_s(f64::from(new_by_port.get(&port).copied().unwrap_or(0))),
                overflowing: full && overflowed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{held_by, nowhere};
    use sockscope_core::model::TcpVitals;

    fn tcp(state: SockState, local: u16, peer: u16, cookie: u64, bytes: (u64, u64)) -> Socket {
        let mut s = crate::testdata::tcp(state, local, peer, cookie);
        s.vitals = Some(Box::new(TcpVitals::new(None, None, None, None, Some(0)).with_flow(
            Some(100),
            Some(bytes.0),
            Some(bytes.1),
        )));
        s
    }

    fn snapshot(sockets: Vec<Socket>) -> Arc<Snapshot> {
        held_by(10, "app", sockets)
    }

    #[test]
    fn rates_ages_new_and_closed_rows_follow_cookies() {
        let host = nowhere();
        let mut t = Tracker::new(Thresholds::default());
        let t0 = Instant::now();
        let first = snapshot(vec![
            tcp(SockState::Listen, 80, 0, 1, (0, 0)),
            tcp(SockState::Established, 80, 5000, 2, (1000, 500)),
            tcp(SockState::Established, 80, 5001, 3, (0, 0)),
            tcp(SockState::Established, 80, 5003, 6, (0, 0)),
        ]);
        let f = t.update(&host, 0, first, Duration::ZERO, t0, HashMap::new());
        assert!(
            f.connections.iter().all(|c| !c.fresh && c.rate_in.is_nan()),
            "nothing is new, and no rate known, on the first look"
        );
        // Two seconds later: one connection more, one closed by this side (TIME-WAIT keeps
        // its cookie, as the kernel copies it), one gone.
        let second = snapshot(vec![
            tcp(SockState::Listen, 80, 0, 1, (0, 0)),
            tcp(SockState::Established, 80, 5000, 2, (3000, 4500)),
            tcp(SockState::Established, 80, 5002, 4, (0, 0)),
            tcp(SockState::TimeWait, 80, 5001, 3, (0, 0)),
        ]);
        let f = t.update(&host, 0, second, Duration::ZERO, t0 + Duration::from_secs(2), HashMap::new());
        let row = |cookie: u64| {
            f.connections
                .iter()
                .find(|c| c.socket(&f).is_some_and(|s| s.cookie.map(|c| c.get()) == Some(cookie)))
                .unwrap()
        };
        assert_eq!((row(2).rate_out, row(2).rate_in), (1000.0, 2000.0), "bytes per second over 2 s");
        assert_eq!(row(2).age(), Duration::from_secs(2));
        assert!(row(4).fresh && !row(2).fresh && !row(1).fresh && !row(3).fresh);
        let closed: Vec<&ConnRow> = f.connections.iter().filter(|c| c.closed).collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].closed_text(&f).unwrap().peer, "127.0.0.1:5003");
        // The process: its states, its rates, its new connections per second; the TIME-WAIT
        // on its listening port counts as its own.
        let p = &f.processes[0];
        assert_eq!((p.pid, p.states.established, p.states.listening, p.states.time_wait), (10, 2, 1, 1));
        assert_eq!((p.rate_in, p.rate_out), (2000.0, 1000.0));
        assert_eq!(p.new_per_s, 0.5, "one new connection in 2 s");
        // The listener: connections on its port, accepts per second.
        let l = &f.listeners[0];
        assert_eq!((l.port, l.states.established, l.states.time_wait), (80, 2, 1));
        assert_eq!(l.accepts_per_s, 0.5);
        assert_eq!(f.history[&10][&Series::Sockets], vec![4, 4]);
    }

    #[test]
    fn a_full_queue_is_overflowing_only_when_the_counter_rose() {
        let host = nowhere();
        let mut t = Tracker::new(Thresholds::default());
        let mut l = tcp(SockState::Listen, 80, 0, 1, (0, 0));
        l.recv_q = 5;
        l.send_q = Some(5);
        let counters = |n: u64| HashMap::from([("TcpExt.ListenOverflows".to_string(), n)]);
        let t0 = Instant::now();
        t.update(&host, 0, snapshot(vec![l.clone()]), Duration::ZERO, t0, counters(7));
        let f = t.update(&host, 0, snapshot(vec![l.clone()]), Duration::ZERO, t0 + Duration::from_secs(1), counters(7));
        assert!(!f.listeners[0].overflowing);
        let f = t.update(&host, 0, snapshot(vec![l]), Duration::ZERO, t0 + Duration::from_secs(2), counters(9));
        assert!(f.listeners[0].overflowing && f.overflows == 2);
    }
}
