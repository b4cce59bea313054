//! The columns of each view: headings, cell text and sort keys. Both the full-screen view
//! and the plain-text output (`--once`, a pipe) draw rows from here, so they always agree.

use crate::frame::{ConnRow, Frame, ListenRow, ProcRow};
use sockscope_core::text::escape;
use std::cmp::Ordering;

/// The least a column without a fixed width gets.
pub const FILL_MIN: u16 = 14;

/// The four views, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Processes,
    Listeners,
    Connections,
    Findings,
}

impl View {
    pub const ALL: [View; 4] = [View::Processes, View::Listeners, View::Connections, View::Findings];

    pub fn title(self) -> &'static str {
        match self {
            View::Processes => "Processes",
            View::Listeners => "Listeners",
            View::Connections => "Connections",
            View::Findings => "Findings",
        }
    }

    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }

    pub fn previous(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }

    /// The column headings, their widths (0: shares what is left, at least `FILL_MIN`), and
    /// the order they are given up in when the screen is narrow (higher goes first).
    pub fn columns(self) -> &'static [(&'static str, u16, u8)] {
        match self {
            View::Processes => &[
                ("PID", 7, 0),
                ("COMMAND", 0, 0),
                ("USER", 8, 3),
                ("SOCK", 5, 1),
                ("ESTAB", 6, 1),
                ("LISTEN", 6, 2),
                ("CLOSE-WAIT", 10, 1),
                ("TIME-WAIT", 9, 3),
                ("FDS/LIMIT", 11, 2),
                ("FD%", 8, 4),
                ("IN/s", 7, 2),
                ("OUT/s", 7, 2),
                ("NEW/s", 6, 4),
            ],
            View::Listeners => &[
                ("LOCAL", 0, 0),
                ("OWNER", 16, 1),
                ("QUEUE", 11, 0),
                ("Q%", 9, 1),
                ("ESTAB", 6, 1),
                ("CLOSE-WAIT", 10, 2),
                ("TIME-WAIT", 9, 3),
                ("ACCEPT/s", 8, 2),
            ],
            View::Connections => &[
                ("STATE", 10, 0),
                ("LOCAL", 0, 0),
                ("PEER", 0, 0),
                ("RECV-Q", 7, 2),
                ("SEND-Q", 7, 2),
                ("RTT", 7, 3),
                ("RETR", 5, 4),
                ("IN/s", 7, 1),
                ("OUT/s", 7, 1),
                ("AGE", 5, 3),
                ("PROCESS", 16, 1),
            ],
            View::Findings => &[("SEVERITY", 8, 0), ("RULE", 20, 1), ("SINCE", 6, 2), ("SUMMARY", 0, 0)],
        }
    }

    /// The columns (indexes) that fit in `width` cells, in their order: the ones given up
    /// first are dropped until the rest fit.
    pub fn visible(self, width: u16) -> Vec<usize> {
        let cols = self.columns();
        let need = |keep: &[usize]| -> u32 {
            keep.iter().map(|&i| u32::from(if cols[i].1 == 0 { FILL_MIN } else { cols[i].1 }) + 1).sum()
        };
        let mut keep: Vec<usize> = (0..cols.len()).collect();
        while need(&keep) > u32::from(width) {
            let Some(worst) = keep.iter().copied().filter(|&i| cols[i].2 > 0).max_by_key(|&i| (cols[i].2, i)) else {
                break;
            };
            keep.retain(|&i| i != worst);
        }
        keep
    }

    /// The columns `s` cycles through, by heading.
    pub fn sortable(self) -> &'static [&'static str] {
        match self {
            View::Processes => &[
                "SOCK",
                "PID",
                "COMMAND",
                "USER",
                "ESTAB",
                "LISTEN",
                "CLOSE-WAIT",
                "TIME-WAIT",
                "FDS/LIMIT",
                "FD%",
                "IN/s",
                "OUT/s",
                "NEW/s",
            ],
            View::Listeners => &["Q%", "LOCAL", "QUEUE", "ESTAB", "CLOSE-WAIT", "TIME-WAIT", "ACCEPT/s"],
            View::Connections => {
                &["IN/s", "OUT/s", "STATE", "LOCAL", "PEER", "RECV-Q", "SEND-Q", "RTT", "RETR", "AGE", "PROCESS"]
            }
            View::Findings => &["SINCE"],
        }
    }
}

/// Bytes as ss and top write them: 0, 512, 1.5K, 12M.
pub fn human(n: f64) -> String {
    if n < 1.0 {
        return "0".into();
    }
    let units = ["", "K", "M", "G", "T"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0}")
    } else if v < 10.0 {
        format!("{v:.1}{}", units[u])
    } else {
        format!("{v:.0}{}", units[u])
    }
}

/// A duration as top writes ages: 45s, 12m, 3h, 2d.
/// A connection's AGE: `>` before it when the socket was already there at the first look
/// (so it is at least that old; the kernel does not say when a socket was made).
fn age_of(c: &ConnRow) -> String {
    if c.age_at_least { format!(">{}", age(c.age())) } else { age(c.age()) }
}

pub fn age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=99 => format!("{s}s"),
        100..=5999 => format!("{}m", s / 60),
        6000..=359_999 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `-` for a rate not known yet (the first look).
fn rate(r: f64) -> String {
    if r.is_nan() { "-".into() } else { human(r) }
}

fn per_s(r: f64) -> String {
    if r.is_nan() {
        "-".into()
    } else if r == 0.0 {
        "0".into()
    } else if r < 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}

pub fn process_cells(p: &ProcRow) -> Vec<String> {
    let fds = match (p.fds, p.fd_soft_limit) {
        (Some(n), Some(l)) => format!("{n}/{l}"),
        (Some(n), None) => n.to_string(),
        _ => "-".into(),
    };
    vec![
        p.pid.to_string(),
        escape(&p.command).into_owned(),
        escape(&p.user).into_owned(),
        p.states.total().to_string(),
        p.states.established.to_string(),
        p.states.listening.to_string(),
        p.states.close_wait.to_string(),
        p.states.time_wait.to_string(),
        fds,
        p.fd_usage().map_or("-".into(), share),
        rate(p.rate_in),
        rate(p.rate_out),
        per_s(p.new_per_s),
    ]
}

pub fn listener_cells(frame: &Frame, l: &ListenRow) -> Vec<String> {
    let s = &frame.snapshot.sockets[l.index];
    let (queue, backlog) = l.queue(&frame.snapshot);
    let owner = frame.owner(s).map_or("-".into(), |(pid, c)| format!("{}[{pid}]", escape(c)));
    vec![
        escape(&s.end_text(&s.local)).into_owned(),
        owner,
        backlog.map_or(queue.to_string(), |b| format!("{queue}/{b}")),
        queue_share(queue, backlog).map_or("-".into(), share),
        l.states.established.to_string(),
        l.states.close_wait.to_string(),
        l.states.time_wait.to_string(),
        per_s(l.accepts_per_s),
    ]
}

/// A share as a four-cell bar and a percentage, one word (awk counts it as one field):
/// `██░░50%`.
pub fn share(x: f64) -> String {
    let filled = ((x.clamp(0.0, 1.0) * 4.0).round()) as usize;
    let bar: String = "█".repeat(filled) + &"░".repeat(4 - filled);
    format!("{bar}{:.0}%", x * 100.0)
}

pub fn queue_share(queue: u32, backlog: Option<u32>) -> Option<f64> {
    backlog.filter(|b| *b > 0).map(|b| f64::from(queue) / f64::from(b))
}

pub fn connection_cells(frame: &Frame, c: &ConnRow) -> Vec<String> {
    if let Some(s) = c.socket(frame) {
        let owner = frame.owner(s).map_or("-".into(), |(pid, cmd)| format!("{}[{pid}]", escape(cmd)));
        return vec![
            s.state.ss_name().to_string(),
            escape(&s.end_text(&s.local)).into_owned(),
            escape(&s.end_text(&s.peer)).into_owned(),
            s.recv_q.to_string(),
            s.send_q.map_or("-".into(), |q| q.to_string()),
            c.rtt_us().map_or("-".into(), |r| format!("{:.1}", f64::from(r) / 1000.0)),
            c.retransmits().map_or("-".into(), |r| r.to_string()),
            rate(f64::from(c.rate_in)),
            rate(f64::from(c.rate_out)),
            age_of(c),
            owner,
        ];
    }
    let Some(t) = c.closed_text(frame) else { return Vec::new() };
    vec![
        "CLOSED".into(),
        escape(&t.local).into_owned(),
        escape(&t.peer).into_owned(),
        "-".into(),
        "-".into(),
        "-".into(),
        "-".into(),
        "0".into(),
        "0".into(),
        age_of(c),
        t.owner.as_ref().map_or("-".into(), |(pid, cmd)| format!("{}[{pid}]", escape(cmd))),
    ]
}

/// Orders two rows of a view by a column (largest first for numbers, A–Z for text).
pub fn compare(view: View, column: &str, frame: &Frame, a: usize, b: usize) -> Ordering {
    // A total order (NaN, a rate not known yet, among them): sorting panics without one.
    let f = |x: f64, y: f64| y.total_cmp(&x);
    match view {
        View::Processes => {
            let (p, q) = (&frame.processes[a], &frame.processes[b]);
            match column {
                "PID" => p.pid.cmp(&q.pid),
                "COMMAND" => p.command.cmp(&q.command),
                "USER" => p.user.cmp(&q.user),
                "ESTAB" => q.states.established.cmp(&p.states.established),
                "LISTEN" => q.states.listening.cmp(&p.states.listening),
                "CLOSE-WAIT" => q.states.close_wait.cmp(&p.states.close_wait),
                "TIME-WAIT" => q.states.time_wait.cmp(&p.states.time_wait),
                "FDS/LIMIT" => q.fds.cmp(&p.fds),
                "FD%" => f(p.fd_usage().unwrap_or(0.0), q.fd_usage().unwrap_or(0.0)),
                "IN/s" => f(p.rate_in, q.rate_in),
                "OUT/s" => f(p.rate_out, q.rate_out),
                "NEW/s" => f(p.new_per_s, q.new_per_s),
                _ => q.states.total().cmp(&p.states.total()),
            }
            .then(p.pid.cmp(&q.pid))
        }
        View::Listeners => {
            let (l, m) = (&frame.listeners[a], &frame.listeners[b]);
            let (lq, lb) = l.queue(&frame.snapshot);
            let (mq, mb) = m.queue(&frame.snapshot);
            match column {
                "LOCAL" => l.port.cmp(&m.port),
                "QUEUE" => mq.cmp(&lq),
                "ESTAB" => m.states.established.cmp(&l.states.established),
                "CLOSE-WAIT" => m.states.close_wait.cmp(&l.states.close_wait),
                "TIME-WAIT" => m.states.time_wait.cmp(&l.states.time_wait),
                "ACCEPT/s" => f(l.accepts_per_s, m.accepts_per_s),
                _ => f(queue_share(lq, lb).unwrap_or(0.0), queue_share(mq, mb).unwrap_or(0.0)),
            }
            .then(l.port.cmp(&m.port))
        }
        View::Connections => {
            let (c, d) = (&frame.connections[a], &frame.connections[b]);
            let sock = |r: &ConnRow| r.socket(frame);
            let text = |r: &ConnRow, local: bool| match (sock(r), r.closed_text(frame)) {
                (Some(s), _) => s.end_text(if local { &s.local } else { &s.peer }),
                (None, Some(t)) => {
                    if local {
                        t.local.clone()
                    } else {
                        t.peer.clone()
                    }
                }
                _ => String::new(),
            };
            let f32s = |x: f32, y: f32| f(f64::from(x), f64::from(y));
            match column {
                "OUT/s" => f32s(c.rate_out, d.rate_out),
                "STATE" => sock(c).map(|s| s.state.ss_name()).cmp(&sock(d).map(|s| s.state.ss_name())),
                "LOCAL" => text(c, true).cmp(&text(d, true)),
                "PEER" => text(c, false).cmp(&text(d, false)),
                "RECV-Q" => sock(d).map(|s| s.recv_q).cmp(&sock(c).map(|s| s.recv_q)),
                "SEND-Q" => sock(d).and_then(|s| s.send_q).cmp(&sock(c).and_then(|s| s.send_q)),
                "RTT" => d.rtt_us().cmp(&c.rtt_us()),
                "RETR" => d.retransmits().cmp(&c.retransmits()),
                "AGE" => d.age().cmp(&c.age()),
                "PROCESS" => sock(c).and_then(|s| frame.owner(s)).cmp(&sock(d).and_then(|s| frame.owner(s))),
                _ => f32s(c.rate_in, d.rate_in),
            }
            .then(c.closed.cmp(&d.closed))
            .then(c.index().cmp(&d.index()))
        }
        View::Findings => {
            let (x, y) = (&frame.findings[a], &frame.findings[b]);
            y.since.cmp(&x.since).then(y.finding.severity.cmp(&x.finding.severity))
        }
    }
}

pub fn finding_cells(frame: &Frame, i: usize) -> Vec<String> {
    let r = &frame.findings[i];
    vec![
        r.finding.severity.name().to_uppercase(),
        r.finding.rule.to_string(),
        age(frame.at.saturating_duration_since(r.since)),
        // The rules escape what they quote from the system (as `doctor` prints it).
        r.finding.summary.clone(),
    ]
}

/// The number of rows a view has in a frame.
pub fn row_count(view: View, frame: &Frame) -> usize {
    match view {
        View::Processes => frame.processes.len(),
        View::Listeners => frame.listeners.len(),
        View::Connections => frame.connections.len(),
        View::Findings => frame.findings.len(),
    }
}

/// The cells of row `i` of a view.
pub fn cells(view: View, frame: &Frame, i: usize) -> Vec<String> {
    match view {
        View::Processes => process_cells(&frame.processes[i]),
        View::Listeners => listener_cells(frame, &frame.listeners[i]),
        View::Connections => connection_cells(frame, &frame.connections[i]),
        View::Findings => finding_cells(frame, i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_a_bar_and_a_percentage() {
        assert_eq!([share(0.0), share(0.5), share(1.25)], ["░░░░0%", "██░░50%", "████125%"]);
    }

    #[test]
    fn sizes_and_ages_read_as_top_writes_them() {
        assert_eq!(
            [human(0.2), human(512.0), human(1536.0), human(12.0 * 1024.0 * 1024.0)],
            ["0", "512", "1.5K", "12M"]
        );
        assert_eq!([age(std::time::Duration::from_secs(45)), age(std::time::Duration::from_secs(720))], ["45s", "12m"]);
    }

    #[test]
    fn narrow_screens_keep_the_columns_that_matter() {
        let at_80 = View::Processes.visible(80);
        let headings: Vec<&str> = at_80.iter().map(|&i| View::Processes.columns()[i].0).collect();
        assert!(headings.starts_with(&["PID", "COMMAND", "SOCK", "ESTAB"]) && headings.contains(&"CLOSE-WAIT"));
        assert!(View::Processes.visible(120).iter().any(|&i| View::Processes.columns()[i].0 == "USER"));
        assert!(!headings.contains(&"NEW/s"), "{headings:?}");
        for v in View::ALL {
            assert_eq!(v.visible(300).len(), v.columns().len(), "all of them on a wide screen");
            let width = |i: usize| if v.columns()[i].1 == 0 { FILL_MIN } else { v.columns()[i].1 };
            let need: u16 = v.visible(80).iter().map(|&i| width(i) + 1).sum();
            assert!(need <= 80 || v.visible(80).iter().all(|&i| v.columns()[i].2 == 0), "{v:?}");
        }
    }

    #[test]
    fn every_sortable_column_is_a_column() {
        for v in View::ALL {
            for s in v.sortable() {
                assert!(v.columns().iter().any(|(h, _, _)| h == s), "{v:?} {s}");
            }
        }
    }
}
