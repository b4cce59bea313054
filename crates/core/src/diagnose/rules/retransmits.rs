//! retransmits: connections that retransmit a lot (tcp_info), and the host's retransmission
//! rate over the window.

use super::attach;
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity, endpoint_text};
use crate::model::Netid;

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "retransmits";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "connections and a host retransmitting";

limits! {
    /// Retransmitted segments over a connection's life that flag it.
    retrans_per_connection: u64 = 5,
    /// Host retransmitted / sent segments over the window.
    retrans_rate_warn: f64 = 0.01,
    retrans_rate_crit: f64 = 0.05,
    /// Segments sent in the window below which the rate is not judged.
    retrans_min_segments: u64 = 1000,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in o.first.sockets.iter().filter(|s| s.netid == Netid::Tcp) {
        let Some(info) = s.vitals() else { continue };
        let total = u64::from(info.total_retrans().unwrap_or(0));
        if total < t.retrans_per_connection {
            continue;
        }
        let f = Finding::new(
            ID,
            Severity::Warn,
            format!("connection {} -> {} retransmitted {total} segments", endpoint_text(&s.local), endpoint_text(&s.peer)),
            "Segments were lost or their ACKs were: a congested or lossy path, a peer that is overwhelmed, or a firewall dropping packets.",
            format!("Look at the path (mtr, packet captures) and at the peer; detail: sockscope -ti dst {}", endpoint_text(&s.peer)),
        )
        .int("total_retrans", total)
        .int("retrans_now", u64::from(info.retrans().unwrap_or(0)))
        .int("rto_us", u64::from(info.rto_us().unwrap_or(0)));
        let holder = o.holders(s).into_iter().next();
        out.push(attach(o, f, &holder, &[s]));
    }
    let sent = o.delta("Tcp.OutSegs");
    let retrans = o.delta("Tcp.RetransSegs");
    if sent >= t.retrans_min_segments {
        let rate = retrans as f64 / sent as f64;
        if let Some(severity) = Severity::of_ratio(rate, t.retrans_rate_warn, t.retrans_rate_crit) {
            out.push(
                Finding::new(
                    ID,
                    severity,
                    format!("the host retransmitted {retrans} of {sent} TCP segments in the window ({:.1}%)", rate * 100.0),
                    "More than a percent or so of segments lost points at congestion, a bad link or a dropping middlebox.",
                    "Find the connections: sockscope -ti (look at retrans:), and check interfaces (ip -s link).".to_string(),
                )
                .int("retrans_segs", retrans)
                .int("out_segs", sent)
                .ratio("rate", rate),
            );
        }
    }
    out
}
