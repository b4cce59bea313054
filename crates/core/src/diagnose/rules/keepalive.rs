//! keepalive: established connections idle for long with no keepalive timer — if the peer
//! vanished, nothing will ever notice.

use super::{attach, by_holder, who};
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Netid, SockState, TimerKind};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "keepalive";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "idle connections without TCP keepalive";

limits! {
    /// Seconds without data in either direction that make a connection idle.
    keepalive_idle_secs: u64 = 1800,
    /// The idle timeout of a NAT or firewall on the path (AWS's NAT gateway: 350 s): with
    /// keepalive on, a first probe later than this comes after the entry is gone.
    keepalive_nat_idle_secs: u64 = 350,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let idle_ms = t.keepalive_idle_secs.saturating_mul(1000);
    let idle = o.first.sockets.iter().filter(|s| {
        if s.netid != Netid::Tcp
            || s.state != SockState::Established
            || s.timer.is_some_and(|t| t.kind == TimerKind::Keepalive)
        {
            return false;
        }
        let Some(i) = s.vitals() else { return false };
        let (Some(snd), Some(rcv)) = (i.last_data_sent_ms(), i.last_data_recv_ms()) else { return false };
        u64::from(snd) >= idle_ms && u64::from(rcv) >= idle_ms
    });
    let mut out: Vec<Finding> = by_holder(o, idle)
        .into_iter()
        .map(|(holder, socks)| {
            let f = Finding::new(
                ID,
                Severity::Warn,
                format!("{} has {} connection{} idle for over {} s without TCP keepalive", who(&holder), socks.len(), if socks.len() == 1 { "" } else { "s" }, t.keepalive_idle_secs),
                "Without keepalive an idle connection whose peer crashed or whose NAT/firewall entry expired stays ESTABLISHED forever, holding an fd, until the application next writes.",
                "Enable SO_KEEPALIVE with shorter TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT (the default first probe is after 2 hours), or use an application-level heartbeat or idle timeout.".to_string(),
            )
            .int("connections", socks.len() as u64)
            .int("idle_threshold_s", t.keepalive_idle_secs);
            attach(o, f, &holder, &socks)
        })
        .collect();
    out.extend(late_probes(o, t));
    out
}

/// Connections with keepalive on (read from their process) that sat idle past the NAT's
/// timeout while their first probe is due later still: the NAT forgets them first.
fn late_probes(o: &Observation, t: &Limits) -> Vec<Finding> {
    let nat_ms = t.keepalive_nat_idle_secs.saturating_mul(1000);
    let late = o.first.sockets.iter().filter(|s| {
        if s.netid != Netid::Tcp || s.state != SockState::Established {
            return false;
        }
        let Some(opts) = o.options.get(s.inode) else { return false };
        let Some(i) = s.vitals() else { return false };
        let idle_ms = u64::from(i.last_data_sent_ms().unwrap_or(0).min(i.last_data_recv_ms().unwrap_or(0)));
        opts.keepalive == Some(true)
            && opts.keepidle.is_some_and(|k| u64::from(k) > t.keepalive_nat_idle_secs)
            && idle_ms >= nat_ms
    });
    by_holder(o, late)
        .into_iter()
        .map(|(holder, socks)| {
            let idle = socks.iter().filter_map(|s| o.options.get(s.inode)?.keepidle).max().unwrap_or(0);
            let f = Finding::new(
                ID,
                Severity::Info,
                format!(
                    "{} has {} connection{} idle past {} s with keepalive on, but its first probe waits {idle} s (TCP_KEEPIDLE)",
                    who(&holder),
                    socks.len(),
                    if socks.len() == 1 { "" } else { "s" },
                    t.keepalive_nat_idle_secs
                ),
                "A NAT or stateful firewall that drops entries idle longer than its timeout forgets the connection before the first keepalive probe; the next write then meets a reset or silence.",
                "Set TCP_KEEPIDLE below the path's idle timeout (and TCP_KEEPINTVL/TCP_KEEPCNT to match), or set keepalive_nat_idle_secs to the timeout your path really has.".to_string(),
            )
            .int("connections", socks.len() as u64)
            .int("keepidle_s", u64::from(idle))
            .int("nat_idle_s", t.keepalive_nat_idle_secs);
            attach(o, f, &holder, &socks)
        })
        .collect()
}
