//! udp-drops: datagrams dropped because a socket's receive buffer was full.

use super::attach;
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::Netid;

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "udp-drops";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "UDP datagrams dropped at full receive buffers";

limits! {}

pub fn check(o: &Observation, _t: &Limits) -> Vec<Finding> {
    let mut out = Vec::new();
    let host = o.delta("Udp.RcvbufErrors") + o.delta("Udp6RcvbufErrors");
    if host > 0 {
        out.push(
            Finding::new(
                ID,
                Severity::Warn,
                format!("{host} UDP datagrams were dropped in the window because receive buffers were full"),
                "A UDP socket whose application does not read fast enough fills its receive buffer; the kernel then drops arriving datagrams (UDP has no flow control).",
                "Read faster (more readers, SO_REUSEPORT), or raise SO_RCVBUF and net.core.rmem_max. Find the socket: sockscope -uam (look at d in skmem).".to_string(),
            )
            .int("rcvbuf_errors_in_window", host),
        );
    }
    for s in o.first.sockets.iter().filter(|s| s.netid == Netid::Udp) {
        let drops = s.details.as_ref().and_then(|d| d.memory.as_ref()).and_then(|m| m.drops).unwrap_or(0);
        if drops == 0 {
            continue;
        }
        let f = Finding::new(
            ID,
            Severity::Warn,
            format!("UDP socket on port {} has dropped {drops} datagrams", s.local.port().unwrap_or(0)),
            "Its receive buffer filled up because the application did not read fast enough.",
            "Read faster or raise SO_RCVBUF (bounded by net.core.rmem_max).".to_string(),
        )
        .int("drops", u64::from(drops))
        .int("recv_q", u64::from(s.recv_q));
        let holder = o.holders(s).into_iter().next();
        out.push(attach(o, f, &holder, &[s]));
    }
    out
}
