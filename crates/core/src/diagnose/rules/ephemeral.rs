//! ephemeral-ports: outgoing connections to one destination from one address, against the
//! size of ip_local_port_range (each needs its own local port).

use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, ProcessRef, Severity, endpoint_text};
use crate::model::{Endpoint, Netid, SockState};
use std::collections::{HashMap, HashSet};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "ephemeral-ports";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "local ports to one destination running out";

limits! {
    /// Connections to one destination from one address / size of ip_local_port_range.
    ephemeral_warn: f64 = 0.70,
    ephemeral_crit: f64 = 0.90,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let (lo, hi) = o.sys.port_range;
    let size = u64::from(hi.saturating_sub(lo)) + 1;
    let listening: HashSet<u16> =
        o.first.sockets.iter().filter(|s| s.state == SockState::Listen).filter_map(|s| s.local.port()).collect();
    // Keyed by the addresses themselves: their texts are made only for the groups flagged
    // (two strings per connection were most of this rule's time at a million).
    let mut groups: HashMap<(std::net::IpAddr, &Endpoint), Vec<&crate::Socket>> = HashMap::new();
    for s in o.first.sockets.iter().filter(|s| s.netid == Netid::Tcp && s.state != SockState::Listen) {
        let (Endpoint::Inet { address: la, port: lp }, Endpoint::Inet { port: pp, .. }) = (&s.local, &s.peer) else {
            continue;
        };
        if *pp == 0 || *lp < lo || *lp > hi || listening.contains(lp) {
            continue;
        }
        groups.entry((*la, &s.peer)).or_default().push(s);
    }
    let severity = |ratio: f64| {
        if ratio >= t.ephemeral_crit {
            Some(Severity::Crit)
        } else if ratio >= t.ephemeral_warn {
            Some(Severity::Warn)
        } else {
            None
        }
    };
    let mut flagged: Vec<(String, String, Severity, Vec<&crate::Socket>)> = groups
        .into_iter()
        .filter_map(|((src, dst), socks)| {
            let severity = severity(socks.len() as f64 / size as f64)?;
            Some((src.to_string(), endpoint_text(dst), severity, socks))
        })
        .collect();
    // In the order of their addresses' texts, not the map's.
    flagged.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut out = Vec::new();
    for (src, dst, severity, socks) in flagged {
        let n = socks.len() as u64;
        let ratio = n as f64 / size as f64;
        let mut f = Finding::new(
            ID,
            severity,
            format!("{n} connections from {src} to {dst} use {:.0}% of the {size} local ports of ip_local_port_range {lo}-{hi}", ratio * 100.0),
            "Every connection to the same destination from the same address needs its own local port; when the range is used up (TIME-WAIT included), connect() fails with EADDRNOTAVAIL, \"Cannot assign requested address\".",
            "Reuse connections (pools, keep-alive); widen net.ipv4.ip_local_port_range; enable net.ipv4.tcp_tw_reuse; spread over more destination addresses or source addresses.".to_string(),
        )
        .int("connections", n)
        .int("port_range_size", size)
        .ratio("usage", ratio);
        // The first five distinct holders, in the order met (sockets held in turn by two
        // processes named each of them over and over when only neighbours were merged).
        let mut holders: Vec<ProcessRef> = Vec::new();
        for h in socks.iter().flat_map(|s| o.holders(s)) {
            if holders.len() == 5 {
                break;
            }
            if !holders.contains(&h) {
                holders.push(h);
            }
        }
        f.processes = holders;
        f.sockets = socks.iter().take(10).map(|s| o.socket_ref(s)).collect();
        out.push(f);
    }
    out
}
