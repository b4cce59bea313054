//! time-wait: many TIME-WAIT sockets — normal, but a sign of short connections — and their
//! count against net.ipv4.tcp_max_tw_buckets.

use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity, endpoint_text};
use crate::model::{Netid, SockState};
use std::collections::HashMap;

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "time-wait";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "TIME-WAIT sockets against tcp_max_tw_buckets";

limits! {
    /// TIME-WAIT sockets worth a note.
    time_wait_info: u64 = 1000,
    /// TIME-WAIT sockets / net.ipv4.tcp_max_tw_buckets.
    time_wait_buckets_warn: f64 = 0.50,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let tw: Vec<&crate::Socket> =
        o.first.sockets.iter().filter(|s| s.netid == Netid::Tcp && s.state == SockState::TimeWait).collect();
    let n = tw.len() as u64;
    let buckets = o.sys.tcp_max_tw_buckets;
    let ratio = if buckets > 0 { n as f64 / buckets as f64 } else { 0.0 };
    if n < t.time_wait_info && ratio < t.time_wait_buckets_warn {
        return Vec::new();
    }
    let mut per_remote: HashMap<String, u64> = HashMap::new();
    for s in &tw {
        *per_remote.entry(endpoint_text(&s.peer)).or_default() += 1;
    }
    let mut remotes: Vec<(String, u64)> = per_remote.into_iter().collect();
    remotes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (top, top_n) = remotes.first().cloned().unwrap_or_default();
    let mut f = Finding::new(
        ID,
        if ratio >= t.time_wait_buckets_warn { Severity::Warn } else { Severity::Info },
        format!("{n} sockets in TIME-WAIT ({:.0}% of net.ipv4.tcp_max_tw_buckets {buckets}); most with {top} ({top_n})", ratio * 100.0),
        "TIME-WAIT is normal: whichever side closes first keeps the connection's 4-tuple for 60 s so late packets cannot corrupt a new connection. Many of them mean many short-lived connections; past tcp_max_tw_buckets the kernel destroys them early.",
        "Reuse connections (HTTP keep-alive, connection pools) instead of opening one per request; for outgoing connections net.ipv4.tcp_tw_reuse=1 lets new connections take TIME-WAIT ports safely; servers should set SO_REUSEADDR so restarts are not blocked. See: sockscope -tn state time-wait --summary-by remote".to_string(),
    )
    .int("time_wait", n)
    .int("tcp_max_tw_buckets", buckets)
    .ratio("usage", ratio);
    for (remote, c) in remotes.iter().take(5) {
        f = f.int(&format!("to {remote}"), *c);
    }
    f.sockets = tw.iter().take(10).map(|s| o.socket_ref(s)).collect();
    vec![f]
}
