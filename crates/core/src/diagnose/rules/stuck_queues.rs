//! stuck-queues: established connections whose Recv-Q (the application is not reading) or
//! Send-Q (the peer is not reading, or the path is stuck) stays high across the window.

use super::{attach, by_holder, who};
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Netid, SockState, Socket};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "stuck-queues";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "queues that stay full across the window";

limits! {
    /// Bytes in Recv-Q or Send-Q, in both snapshots, that make a queue stuck.
    stuck_queue_bytes: u64 = 4096,
}

/// Whether the first look puts this socket in question: an established connection with a
/// queue at the threshold (the second look then says whether it stayed).
pub(crate) fn asks_later(s: &Socket, t: &Limits) -> bool {
    let min = t.stuck_queue_bytes;
    s.netid == Netid::Tcp
        && s.state == SockState::Established
        && (u64::from(s.recv_q) >= min || u64::from(s.send_q.unwrap_or(0)) >= min)
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let min = t.stuck_queue_bytes;
    let stuck = |recv: bool| {
        o.first.sockets.iter().filter(move |s| {
            if !asks_later(s, t) {
                return false;
            }
            // The first look's queue before the second's: most queues are empty, and the
            // second look is a search per socket.
            let first = if recv { u64::from(s.recv_q) } else { u64::from(s.send_q.unwrap_or(0)) };
            if first < min {
                return false;
            }
            let Some(later) = o.later(s) else { return false };
            u64::from(if recv { later.recv_q } else { later.send_q }) >= min
        })
    };
    let mut out = Vec::new();
    for (recv, what, cause, fix) in [
        (
            true,
            "Recv-Q",
            "Data has arrived and waits in the receive queue: the application is not reading these sockets (blocked, busy, or it forgot them).",
            "Find where the application stops reading (a blocked thread, a full worker pool): sockscope fds PID, and its stack (gdb, py-spy, jstack).",
        ),
        (
            false,
            "Send-Q",
            "Sent data is not being acknowledged: the peer is not reading (its receive window is full) or the path is losing packets.",
            "Look at the peer (is it reading?) and at the path; sockscope -ti shows the peer's window (snd_wnd) and retransmits.",
        ),
    ] {
        for (holder, socks) in by_holder(o, stuck(recv)) {
            let bytes: u64 =
                socks.iter().map(|s| if recv { u64::from(s.recv_q) } else { u64::from(s.send_q.unwrap_or(0)) }).sum();
            let f = Finding::new(
                ID,
                Severity::Warn,
                format!(
                    "{} has {} connection{} whose {what} stayed at {min}+ bytes for {:.1} s ({bytes} bytes now)",
                    who(&holder),
                    socks.len(),
                    if socks.len() == 1 { "" } else { "s" },
                    o.window.as_secs_f64()
                ),
                cause,
                fix.to_string(),
            )
            .int("connections", socks.len() as u64)
            .int("bytes", bytes);
            out.push(attach(o, f, &holder, &socks));
        }
    }
    out
}
