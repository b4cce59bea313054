//! orphans-and-memory: sockets closed by their process but still sending, against
//! tcp_max_orphans; TCP memory against the tcp_mem thresholds.

use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Netid, SockState};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "orphans-and-memory";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "orphaned sockets and TCP memory against their limits";

limits! {
    /// Orphaned sockets / net.ipv4.tcp_max_orphans.
    orphans_warn: f64 = 0.50,
    /// Orphaned sockets that warn when tcp_max_orphans cannot be read (it is a global sysctl,
    /// invisible from a network namespace other than the host's).
    orphans_count_warn: u64 = 1000,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let mut out = Vec::new();
    let orphans: Vec<&crate::Socket> = o
        .first
        .sockets
        .iter()
        .filter(|s| {
            // An orphan is a full socket (it has tcp_info; TIME-WAIT mini-sockets in FIN-WAIT-2
            // do not) that no process holds any more. Its inode may survive the close.
            s.netid == Netid::Tcp
                && matches!(
                    s.state,
                    SockState::FinWait1 | SockState::FinWait2 | SockState::Closing | SockState::LastAck
                )
                && s.has_tcp_info()
                && o.first.owners_of(s).next().is_none()
        })
        .collect();
    let max = o.sys.tcp_max_orphans;
    let n = orphans.len() as u64;
    let ratio = if max > 0 { n as f64 / max as f64 } else { 0.0 };
    let over = if max > 0 { ratio >= t.orphans_warn } else { n >= t.orphans_count_warn };
    if n > 0 && over {
        let of_max = if max > 0 {
            format!("{:.0}% of net.ipv4.tcp_max_orphans {max}", ratio * 100.0)
        } else {
            "tcp_max_orphans is not visible from this network namespace".to_string()
        };
        {
            let mut f = Finding::new(
                ID,
                Severity::Warn,
                format!("{n} orphaned TCP sockets ({of_max})"),
                "An orphan is a socket its process has closed while the kernel still sends its data and FIN; past tcp_max_orphans the kernel resets connections (\"too many orphaned sockets\").",
                "Find peers that do not read (sockscope -tn state fin-wait-1 --summary-by remote); lower net.ipv4.tcp_orphan_retries or net.ipv4.tcp_fin_timeout; raise tcp_max_orphans if memory allows.".to_string(),
            )
            .int("orphans", n)
            .int("tcp_max_orphans", max)
            .ratio("usage", ratio);
            f.sockets = orphans.iter().take(10).map(|s| o.socket_ref(s)).collect();
            out.push(f);
        }
    }
    let [_, pressure, high] = o.sys.tcp_mem;
    let used = o.sys.tcp_mem_pages;
    if pressure > 0 && used >= pressure {
        let severity = if high > 0 && used >= high { Severity::Crit } else { Severity::Warn };
        out.push(
            Finding::new(
                ID,
                severity,
                format!("TCP uses {used} pages of memory: {} net.ipv4.tcp_mem's {} threshold", if severity == Severity::Crit { "at or above" } else { "above" }, if severity == Severity::Crit { "maximum" } else { "pressure" }),
                "Above the pressure threshold the kernel shrinks socket buffers; at the maximum it refuses to allocate socket memory and drops data.",
                "Find sockets with large queues (sockscope -tnm, sockscope --summary-by process); raise net.ipv4.tcp_mem if the host has memory to spare.".to_string(),
            )
            .int("pages", used)
            .int("pressure_pages", pressure)
            .int("max_pages", high),
        );
    }
    out
}
