//! A collection as Prometheus metrics: the text exposition format (0.0.4), or OpenMetrics
//! 1.0 when the scraper asks for it. Names follow Prometheus's rules (a `sockscope_`
//! prefix, base units, `_total` counters); every label is bounded: ports (the listeners past
//! `max_listeners` summed as `other`), the top N processes and destinations, rule names.

use sockscope_core::diagnose::Sysctls;
use sockscope_live::frame::Frame;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// How many series the bounded families may have.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_listeners: usize,
    pub top_processes: usize,
    pub top_destinations: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_listeners: 200, top_processes: 20, top_destinations: 20 }
    }
}

/// Which groups of families are exported (the configuration file's `[collectors]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Families {
    pub sockets: bool,
    pub listeners: bool,
    pub kernel: bool,
    pub fds: bool,
    pub ephemeral: bool,
    pub findings: bool,
}

impl Default for Families {
    fn default() -> Families {
        Families { sockets: true, listeners: true, kernel: true, fds: true, ephemeral: true, findings: true }
    }
}

/// What the collection's families are made with besides the frame.
pub struct Shape<'a> {
    pub limits: Limits,
    pub families: Families,
    /// Ports that always have their own listener series.
    pub interest: &'a [u16],
}

/// What a scrape reads besides the frame: the kernel's counters and tunables.
pub struct Host<'a> {
    pub counters: &'a HashMap<String, u64>,
    pub sockstat: &'a HashMap<String, u64>,
    pub sys: &'a Sysctls,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

/// Writes families in either format.
pub struct Writer {
    out: String,
    openmetrics: bool,
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

impl Writer {
    pub fn new(openmetrics: bool) -> Writer {
        Writer { out: String::with_capacity(64 * 1024), openmetrics }
    }

    /// A family with its samples: (labels, value). A counter's name ends in `_total`; in
    /// OpenMetrics its family (HELP/TYPE) is named without it.
    fn family(&mut self, name: &str, kind: Kind, help: &str, samples: &[(Vec<(&str, String)>, f64)]) {
        let family = if kind == Kind::Counter && self.openmetrics { name.trim_end_matches("_total") } else { name };
        let _ = writeln!(self.out, "# HELP {family} {help}");
        let _ = writeln!(self.out, "# TYPE {family} {}", if kind == Kind::Counter { "counter" } else { "gauge" });
        for (labels, value) in samples {
            self.out.push_str(name);
            if !labels.is_empty() {
                self.out.push('{');
                for (i, (k, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    let _ = write!(self.out, "{k}=\"{}\"", label_value(v));
                }
                self.out.push('}');
            }
            let _ = writeln!(self.out, " {}", number(*value));
        }
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, Kind::Gauge, help, &[(Vec::new(), value)]);
    }

    fn counter(&mut self, name: &str, help: &str, value: Option<u64>) {
        if let Some(v) = value {
            self.family(name, Kind::Counter, help, &[(Vec::new(), v as f64)]);
        }
    }

    pub fn finish(mut self) -> String {
        if self.openmetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

/// The families a collection makes (the exporter's own come from `self_metrics`).
pub fn collection(w: &mut Writer, frame: &Frame, host: &Host<'_>, shape: &Shape<'_>) {
    let (f, limits) = (shape.families, shape.limits);
    if f.sockets {
        sockets(w, frame);
    }
    if f.listeners {
        listeners(w, frame, limits.max_listeners, shape.interest);
    }
    if f.kernel {
        kernel(w, host);
    }
    if f.fds {
        fds(w, frame, host.sys, limits.top_processes);
    }
    if f.ephemeral {
        ephemeral(w, frame, host.sys.port_range, limits.top_destinations);
    }
    if f.findings {
        findings(w, frame);
    }
}

fn sockets(w: &mut Writer, frame: &Frame) {
    let mut by: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for s in &frame.snapshot.sockets {
        let family = match s.family {
            sockscope_core::Family::Inet => "inet",
            sockscope_core::Family::Inet6 => "inet6",
            _ => "other",
        };
        *by.entry((family, s.netid.ss_name(), s.state.filter_name())).or_default() += 1;
    }
    let samples: Vec<_> = by
        .into_iter()
        .map(|((f, p, st), n)| {
            (vec![("family", f.to_string()), ("protocol", p.to_string()), ("state", st.to_string())], n as f64)
        })
        .collect();
    w.family("sockscope_sockets", Kind::Gauge, "Sockets by family, protocol and state (ss's state names).", &samples);
}

/// One listened port's numbers (several addresses on one port are one listener here).
#[derive(Clone, Copy, Default)]
struct Port {
    queue: u64,
    backlog: u64,
    /// Connections to the port: established, close-wait, time-wait (the same for each of
    /// the port's listeners, so taken once).
    states: [u64; 3],
}

impl Port {
    fn add(&mut self, other: &Port) {
        self.queue += other.queue;
        self.backlog += other.backlog;
        for (a, b) in self.states.iter_mut().zip(other.states) {
            *a += b;
        }
    }
}

fn listeners(w: &mut Writer, frame: &Frame, max: usize, interest: &[u16]) {
    let mut by_port: BTreeMap<u16, Port> = BTreeMap::new();
    for l in &frame.listeners {
        let (q, b) = l.queue(&frame.snapshot);
        let p = by_port.entry(l.port).or_default();
        p.queue += u64::from(q);
        p.backlog += u64::from(b.unwrap_or(0));
        p.states = [l.states.established, l.states.close_wait, l.states.time_wait].map(u64::from);
    }
    // The ports of interest, then the largest queues; past `max` (beyond the ports of
    // interest), summed as port="other".
    let mut ports: Vec<(u16, Port)> = by_port.into_iter().collect();
    ports.sort_by(|a, b| {
        interest.contains(&b.0).cmp(&interest.contains(&a.0)).then(b.1.queue.cmp(&a.1.queue)).then(a.0.cmp(&b.0))
    });
    let max = max.max(ports.iter().filter(|(p, _)| interest.contains(p)).count());
    let mut rows: Vec<(String, Port)> = ports.iter().take(max).map(|(p, v)| (p.to_string(), *v)).collect();
    if ports.len() > max {
        let mut other = Port::default();
        for (_, v) in &ports[max..] {
            other.add(v);
        }
        rows.push(("other".into(), other));
    }
    let queue: Vec<_> = rows.iter().map(|(p, v)| (vec![("port", p.clone())], v.queue as f64)).collect();
    let backlog: Vec<_> = rows.iter().map(|(p, v)| (vec![("port", p.clone())], v.backlog as f64)).collect();
    let mut conns = Vec::new();
    for (p, v) in &rows {
        for (state, n) in ["established", "close-wait", "time-wait"].iter().zip(v.states) {
            conns.push((vec![("port", p.clone()), ("state", (*state).to_string())], n as f64));
        }
    }
    w.family(
        "sockscope_listener_queue",
        Kind::Gauge,
        "Connections waiting in a TCP listener's accept queue, per local port.",
        &queue,
    );
    w.family(
        "sockscope_listener_backlog",
        Kind::Gauge,
        "The accept queue's limit (listen() backlog), per local port.",
        &backlog,
    );
    w.family("sockscope_listener_connections", Kind::Gauge, "TCP connections to a listened port, by state.", &conns);
}

fn kernel(w: &mut Writer, host: &Host<'_>) {
    let c = |k: &str| host.counters.get(k).copied();
    w.counter(
        "sockscope_tcp_listen_overflows_total",
        "Times an accept queue was full (TcpExt ListenOverflows).",
        c("TcpExt.ListenOverflows"),
    );
    w.counter(
        "sockscope_tcp_listen_drops_total",
        "SYNs dropped at a listener (TcpExt ListenDrops).",
        c("TcpExt.ListenDrops"),
    );
    w.counter(
        "sockscope_tcp_syn_retransmits_total",
        "SYN and SYN-ACK retransmissions (TcpExt TCPSynRetrans).",
        c("TcpExt.TCPSynRetrans"),
    );
    w.counter(
        "sockscope_tcp_retransmitted_segments_total",
        "TCP segments retransmitted (Tcp RetransSegs).",
        c("Tcp.RetransSegs"),
    );
    w.counter("sockscope_tcp_resets_sent_total", "TCP resets sent (Tcp OutRsts).", c("Tcp.OutRsts"));
    w.counter(
        "sockscope_tcp_established_resets_total",
        "Connections reset from ESTABLISHED or CLOSE-WAIT (Tcp EstabResets).",
        c("Tcp.EstabResets"),
    );
    let s = |k: &str| host.sockstat.get(k).copied().unwrap_or(0) as f64;
    w.gauge("sockscope_tcp_orphans", "TCP sockets no process holds any more (sockstat TCP orphan).", s("TCP.orphan"));
    w.gauge("sockscope_tcp_time_wait", "TCP sockets in TIME-WAIT (sockstat TCP tw).", s("TCP.tw"));
    w.gauge("sockscope_tcp_memory_pages", "Pages TCP buffers use (sockstat TCP mem).", s("TCP.mem"));
    let [low, pressure, high] = host.sys.tcp_mem;
    let limits = vec![
        (vec![("level", "low".to_string())], low as f64),
        (vec![("level", "pressure".to_string())], pressure as f64),
        (vec![("level", "high".to_string())], high as f64),
    ];
    w.family("sockscope_tcp_memory_limit_pages", Kind::Gauge, "net.ipv4.tcp_mem thresholds, in pages.", &limits);
}

fn fds(w: &mut Writer, frame: &Frame, sys: &Sysctls, top: usize) {
    w.gauge("sockscope_fds_allocated", "File handles allocated on the host (fs.file-nr).", sys.files.0 as f64);
    w.gauge("sockscope_fds_max", "The host's limit on file handles (fs.file-max).", sys.files.1 as f64);
    let mut usage: Vec<_> = frame.fd_usage.iter().collect();
    usage.sort_by(|a, b| b.open.cmp(&a.open).then(a.pid.cmp(&b.pid)));
    let near =
        frame.fd_usage.iter().filter(|p| p.soft.is_some_and(|s| s > 0 && p.open as f64 >= 0.8 * s as f64)).count();
    let labels = |p: &sockscope_core::diagnose::ProcessFds| {
        vec![("pid", p.pid.to_string()), ("comm", sockscope_core::text::escape(&p.command).into_owned())]
    };
    let open: Vec<_> = usage.iter().take(top).map(|p| (labels(p), p.open as f64)).collect();
    let limit: Vec<_> = usage.iter().take(top).filter_map(|p| p.soft.map(|s| (labels(p), s as f64))).collect();
    w.family("sockscope_process_open_fds", Kind::Gauge, "Open fds of the processes holding the most.", &open);
    w.family("sockscope_process_fd_soft_limit", Kind::Gauge, "Their soft RLIMIT_NOFILE.", &limit);
    w.gauge("sockscope_processes_near_fd_limit", "Processes using 80% or more of their soft fd limit.", near as f64);
}

fn ephemeral(w: &mut Writer, frame: &Frame, (lo, hi): (u16, u16), top: usize) {
    // Connections from a local port in the ephemeral range, per destination: what runs out
    // when one destination takes them all (EADDRNOTAVAIL).
    // Keyed by the peer's address and port; only the top N are turned into text.
    let mut by: HashMap<(std::net::IpAddr, u16), u64> = HashMap::new();
    for s in &frame.snapshot.sockets {
        if s.netid != sockscope_core::Netid::Tcp || s.state == sockscope_core::SockState::Listen {
            continue;
        }
        let (Some(local), sockscope_core::Endpoint::Inet { address, port }) = (s.local.port(), &s.peer) else {
            continue;
        };
        if *port != 0 && (lo..=hi).contains(&local) {
            *by.entry((*address, *port)).or_default() += 1;
        }
    }
    let mut dest: Vec<((std::net::IpAddr, u16), u64)> = by.into_iter().collect();
    dest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let samples: Vec<_> = dest
        .into_iter()
        .take(top)
        .map(|((address, port), n)| {
            (vec![("destination", std::net::SocketAddr::new(address, port).to_string())], n as f64)
        })
        .collect();
    w.family(
        "sockscope_ephemeral_ports_in_use",
        Kind::Gauge,
        "Connections from an ephemeral local port, per destination (the destinations using the most).",
        &samples,
    );
    w.gauge(
        "sockscope_ephemeral_port_range_size",
        "Ports in net.ipv4.ip_local_port_range.",
        f64::from(hi.saturating_sub(lo)) + 1.0,
    );
}

fn findings(w: &mut Writer, frame: &Frame) {
    // Every rule at every severity, 0 when quiet, so each can page someone.
    let mut counts: BTreeMap<(&str, String), u64> = BTreeMap::new();
    for r in sockscope_core::diagnose::rules::ALL {
        for sev in ["info", "warn", "crit"] {
            counts.insert((r.id, sev.to_string()), 0);
        }
    }
    for f in &frame.findings {
        // Label values in lower case, as the doctor's JSON writes severities.
        *counts.entry((f.finding.rule, f.finding.severity.name().to_ascii_lowercase())).or_default() += 1;
    }
    let samples: Vec<_> = counts
        .into_iter()
        .map(|((rule, sev), n)| (vec![("rule", rule.to_string()), ("severity", sev)], n as f64))
        .collect();
    w.family(
        "sockscope_finding",
        Kind::Gauge,
        "Findings of each doctor rule at each severity (each is one process, listener or connection).",
        &samples,
    );
}

/// `--events`: per listened port (the ports of interest, then those accepting the most, up to
/// `max`; the rest as port="other"), and per namespace with --netns or --all-netns
/// (netns="other" for the rest), connections accepted and closed, and a histogram of their
/// lives.
pub fn lifetimes(w: &mut Writer, l: &crate::lifetimes::Lifetimes, max: usize, interest: &[u16]) {
    use crate::lifetimes::{BUCKETS, NetnsLabels, PortLives};
    type Key = (Option<NetnsLabels>, u16);
    let mut ports: Vec<(&Key, &PortLives)> = l.ports.iter().collect();
    let wanted = |k: &Key| interest.contains(&k.1);
    ports.sort_by(|a, b| wanted(b.0).cmp(&wanted(a.0)).then(b.1.accepted.cmp(&a.1.accepted)));
    let max = max.max(ports.iter().filter(|(k, _)| wanted(k)).count());
    let mut rows: Vec<((Option<NetnsLabels>, String), PortLives)> =
        ports.iter().take(max).map(|((ns, p), v)| ((ns.clone(), p.to_string()), (*v).clone())).collect();
    if ports.len() > max {
        let mut other = PortLives::default();
        for (_, v) in &ports[max..] {
            other.accepted += v.accepted;
            other.closed += v.closed;
            other.seconds += v.seconds;
            for (a, b) in other.buckets.iter_mut().zip(v.buckets) {
                *a += b;
            }
        }
        let labelled = ports.iter().any(|((ns, _), _)| ns.is_some());
        let netns = labelled.then(|| NetnsLabels { netns: "other".into(), container: None });
        rows.push(((netns, "other".into()), other));
    }
    let labels = |(ns, port): &(Option<NetnsLabels>, String)| {
        let mut l = Vec::with_capacity(3);
        if let Some(ns) = ns {
            l.push(("netns", ns.netns.clone()));
            if let Some(c) = &ns.container {
                l.push(("container", c.clone()));
            }
        }
        l.push(("port", port.clone()));
        l
    };
    let accepted: Vec<_> = rows.iter().map(|(k, v)| (labels(k), v.accepted as f64)).collect();
    let closed: Vec<_> = rows.iter().map(|(k, v)| (labels(k), v.closed as f64)).collect();
    w.family(
        "sockscope_connections_accepted_total",
        Kind::Counter,
        "Connections accepted on a listened port since serve started (SYN-RECV to ESTABLISHED).",
        &accepted,
    );
    w.family(
        "sockscope_connections_closed_total",
        Kind::Counter,
        "Accepted connections that reached CLOSE, per listened port.",
        &closed,
    );
    let name = "sockscope_connection_duration_seconds";
    let _ = writeln!(w.out, "# HELP {name} How long accepted connections lived, from ESTABLISHED to CLOSE.");
    let _ = writeln!(w.out, "# TYPE {name} histogram");
    for (key, v) in &rows {
        let at: Vec<String> = labels(key).iter().map(|(k, v)| format!("{k}=\"{}\"", label_value(v))).collect();
        let at = at.join(",");
        for (le, n) in BUCKETS.iter().map(|b| number(*b)).chain(std::iter::once("+Inf".to_string())).zip(v.buckets) {
            let _ = writeln!(w.out, "{name}_bucket{{{at},le=\"{le}\"}} {n}");
        }
        let _ = writeln!(w.out, "{name}_sum{{{at}}} {}", number(v.seconds));
        let _ = writeln!(w.out, "{name}_count{{{at}}} {}", v.closed);
    }
    w.counter(
        "sockscope_connections_unfollowed_total",
        "Accepted connections not followed to their close (over a million open at once).",
        Some(l.unfollowed),
    );
    w.gauge(
        "sockscope_events_failed",
        "1 when following the kernel's events stopped (see the log).",
        if l.failed.is_some() { 1.0 } else { 0.0 },
    );
}

/// The exporter's own numbers.
pub struct SelfStats {
    pub scrape_seconds: f64,
    pub collection_seconds: f64,
    pub collection_errors: u64,
    pub collections: u64,
    pub sockets_seen: usize,
    pub last_collection_unix: f64,
    /// The scrape answered with an older collection (the newer one did not come in time).
    pub stale: bool,
}

pub fn self_metrics(w: &mut Writer, s: &SelfStats) {
    w.gauge("sockscope_scrape_duration_seconds", "How long this scrape took.", s.scrape_seconds);
    w.gauge(
        "sockscope_collection_duration_seconds",
        "How long the collection answering it took.",
        s.collection_seconds,
    );
    w.counter("sockscope_collection_errors_total", "Collections that failed.", Some(s.collection_errors));
    w.counter(
        "sockscope_collections_total",
        "Collections made (at most one per --min-interval, however many scrape).",
        Some(s.collections),
    );
    w.gauge("sockscope_sockets_seen", "Sockets the collection read.", s.sockets_seen as f64);
    w.gauge(
        "sockscope_last_collection_timestamp_seconds",
        "When the collection was taken (Unix time).",
        s.last_collection_unix,
    );
    w.gauge(
        "sockscope_scrape_stale",
        "1 when this answer is an older collection: the new one took longer than the scrape timeout.",
        if s.stale { 1.0 } else { 0.0 },
    );
    w.family(
        "sockscope_build_info",
        Kind::Gauge,
        "The exporter's version.",
        &[(vec![("version", env!("CARGO_PKG_VERSION").to_string())], 1.0)],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_counters_named_per_format() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut text = Writer::new(false);
        text.counter("sockscope_x_total", "X.", Some(3));
        let t = text.finish();
        assert!(t.contains("# TYPE sockscope_x_total counter\nsockscope_x_total 3\n") && !t.contains("# EOF"), "{t}");
        let mut om = Writer::new(true);
        om.counter("sockscope_x_total", "X.", Some(3));
        let o = om.finish();
        assert!(o.contains("# TYPE sockscope_x counter\nsockscope_x_total 3\n") && o.ends_with("# EOF\n"), "{o}");
        assert_eq!([number(3.0), number(0.25)], ["3", "0.25"]);
    }
}
