//! reuseaddr: a listener that did not set SO_REUSEADDR, with TIME-WAIT sockets on its port —
//! restarted now, its server would fail with EADDRINUSE. The options come from the process
//! itself (`sockopts`); where they could not be read, the rule stays quiet.

use super::{attach, who};
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Endpoint, Netid, SockState};
use std::collections::HashMap;

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "no-reuseaddr";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "listeners without SO_REUSEADDR whose restart TIME-WAIT would block";

limits! {
    /// TIME-WAIT sockets on a listener's port that make its restart fail.
    reuseaddr_time_wait: u64 = 1,
}

fn port(e: &Endpoint) -> Option<u16> {
    match e {
        Endpoint::Inet { port, .. } => Some(*port),
        _ => None,
    }
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    // TIME-WAIT sockets by (namespace, local port).
    let mut time_wait: HashMap<(Option<u64>, u16), u64> = HashMap::new();
    for s in o.first.sockets.iter().filter(|s| s.netid == Netid::Tcp && s.state == SockState::TimeWait) {
        if let Some(p) = port(&s.local) {
            *time_wait.entry((s.netns.map(|n| n.get()), p)).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for l in o.first.sockets.iter().filter(|s| s.netid == Netid::Tcp && s.state == SockState::Listen) {
        let Some(p) = port(&l.local) else { continue };
        // Only what the process is known to have left unset.
        if o.options.get(l.inode).and_then(|opts| opts.reuseaddr) != Some(false) {
            continue;
        }
        let n = time_wait.get(&(l.netns.map(|n| n.get()), p)).copied().unwrap_or(0);
        if n < t.reuseaddr_time_wait.max(1) {
            continue;
        }
        let holder = o.holders(l).into_iter().next();
        let f = Finding::new(
            ID,
            Severity::Warn,
            format!(
                "{} listens on port {p} without SO_REUSEADDR, and {n} TIME-WAIT socket{} sit{} on that port: restarted now, it would fail with EADDRINUSE",
                who(&holder),
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            ),
            "A connection the server closed first leaves a TIME-WAIT socket on the server's port for 60 s. bind() refuses a port with TIME-WAIT sockets on it unless the new socket sets SO_REUSEADDR, so a restart in that minute fails with \"Address already in use\".",
            "Set SO_REUSEADDR on the listening socket before bind() (every server should; it is safe for TCP listeners). `sockscope who :PORT` shows the listener's options.".to_string(),
        )
        .int("port", u64::from(p))
        .int("time_wait", n);
        out.push(attach(o, f, &holder, &[l]));
    }
    out
}
