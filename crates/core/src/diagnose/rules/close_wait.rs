//! close-wait-leak: sockets whose peer closed and whose process never did.

use super::{attach, by_holder, who};
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{SockState, Socket};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "close-wait-leak";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "CLOSE-WAIT sockets a process never closes";

limits! {
    /// CLOSE-WAIT sockets in one process that make a warning even when none persisted.
    close_wait_warn: u64 = 5,
    /// Persisting CLOSE-WAIT sockets (same cookie across the window) in one process that make
    /// it critical. Not 1: a connection pool keeps a pooled connection its server closed in
    /// CLOSE-WAIT until its next use or its idle timeout (tens of seconds), a few at a time;
    /// a leak keeps every one, and grows past that (docs/doctor.md says why 10).
    close_wait_crit_persisting: u64 = 10,
}

/// Whether the first look puts this socket in question: the second look says whether a
/// CLOSE-WAIT socket persisted.
pub(crate) fn asks_later(s: &Socket) -> bool {
    s.state == SockState::CloseWait
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let cw = o.first.sockets.iter().filter(|s| asks_later(s));
    by_holder(o, cw)
        .into_iter()
        .map(|(holder, socks)| {
            let n = socks.len() as u64;
            let persisted = socks.iter().filter(|s| o.later(s).is_some_and(|l| l.state == SockState::CloseWait)).count() as u64;
            let severity = if persisted >= t.close_wait_crit_persisting {
                Severity::Crit
            } else if n >= t.close_wait_warn {
                Severity::Warn
            } else {
                Severity::Info
            };
            let pid = holder.as_ref().map_or(String::new(), |p| format!(" --pid {}", p.pid));
            let f = Finding::new(
                ID,
                severity,
                format!("{} holds {n} socket{} in CLOSE-WAIT; {persisted} still there after {:.1} s", who(&holder), if n == 1 { "" } else { "s" }, o.window.as_secs_f64()),
                "The peer closed these connections and the application read EOF (read() returned 0) but never called close(): each keeps an fd and kernel memory until the process closes it or exits.",
                format!("Call close() when read() returns 0 and on every error path (a missing close/defer in the connection handler). List them: sockscope -tnp state close-wait{pid}"),
            )
            .int("close_wait", n)
            .int("persisted", persisted)
            .ratio("window_s", o.window.as_secs_f64());
            attach(o, f, &holder, &socks)
        })
        .collect()
}
