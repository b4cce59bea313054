//! accept-queue: listeners whose accept queue is (nearly) full, and connections dropped
//! because of it.

use super::attach;
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Netid, SockState};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "accept-queue";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "listeners whose accept queue fills or overflows";

limits! {
    /// Accept queue / backlog.
    accept_queue_warn: f64 = 0.80,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let mut out = Vec::new();
    let overflows = o.delta("TcpExt.ListenOverflows");
    let drops = o.delta("TcpExt.ListenDrops");
    for s in o.first.sockets.iter().filter(|s| s.netid == Netid::Tcp && s.state == SockState::Listen) {
        let Some(backlog) = s.send_q.filter(|b| *b > 0) else { continue };
        let ratio = f64::from(s.recv_q) / f64::from(backlog);
        if ratio < t.accept_queue_warn {
            continue;
        }
        let full = s.recv_q > backlog;
        let port = s.local.port().unwrap_or(0);
        let holders = o.holders(s);
        let who = holders.first().map_or("a process sockscope cannot see".to_string(), |p| {
            format!("{} (pid {})", crate::text::Untrusted(&p.command), p.pid)
        });
        let mut fix = format!(
            "Accept faster: more accepting threads or processes (SO_REUSEPORT), no blocking work in the accept loop; raise the backlog in listen() if bursts are expected. Watch it: sockscope -tln sport = :{port}"
        );
        if u64::from(backlog) == o.sys.somaxconn {
            fix.push_str(&format!(" The backlog equals net.core.somaxconn ({}), so the kernel may have capped a larger request: raise net.core.somaxconn too.", o.sys.somaxconn));
        }
        let f = Finding::new(
            ID,
            if full || overflows > 0 { Severity::Crit } else { Severity::Warn },
            format!("listener on port {port} of {who} has {} of {backlog} connections waiting to be accepted{}", s.recv_q, if full { " (full)" } else { "" }),
            "Completed connections wait in the accept queue until the application calls accept(); when it is full the kernel drops new handshakes, and clients see timeouts or \"connection refused\".",
            fix,
        )
        .int("accept_queue", u64::from(s.recv_q))
        .int("backlog", u64::from(backlog))
        .ratio("usage", ratio)
        .int("listen_overflows_in_window", overflows)
        .int("listen_drops_in_window", drops);
        let holder = holders.into_iter().next();
        out.push(attach(o, f, &holder, &[s]));
    }
    if out.is_empty() && (overflows > 0 || drops > 0) {
        out.push(
            Finding::new(
                ID,
                Severity::Warn,
                format!("the kernel dropped connections at a full accept queue during the window: ListenOverflows +{overflows}, ListenDrops +{drops}"),
                "Some listener's accept queue overflowed during the window (it may have drained since).",
                "Find the slow listener: watch sockscope -tln (Recv-Q near Send-Q), and accept faster or raise its backlog.".to_string(),
            )
            .int("listen_overflows_in_window", overflows)
            .int("listen_drops_in_window", drops),
        );
    }
    out
}
