//! syn-flood: many half-open (SYN-RECV) connections, and SYN cookies being sent.

use super::attach;
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Netid, SockState};
use std::collections::BTreeMap;

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "syn-flood";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "half-open connections piling up, SYN cookies sent";

limits! {
    /// SYN-RECV sockets on the host.
    syn_recv_warn: u64 = 256,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let syn: Vec<&crate::Socket> = o
        .first
        .sockets
        .iter()
        .filter(|s| s.netid == Netid::Tcp && matches!(s.state, SockState::SynRecv | SockState::NewSynRecv))
        .collect();
    let cookies = o.delta("TcpExt.SyncookiesSent");
    let n = syn.len() as u64;
    if n < t.syn_recv_warn && cookies == 0 {
        return Vec::new();
    }
    let mut per_port: BTreeMap<u16, u64> = BTreeMap::new();
    for s in &syn {
        *per_port.entry(s.local.port().unwrap_or(0)).or_default() += 1;
    }
    let (top_port, top) = per_port.iter().max_by_key(|(_, c)| **c).map_or((0, 0), |(p, c)| (*p, *c));
    let mut f = Finding::new(
        ID,
        if cookies > 0 { Severity::Crit } else { Severity::Warn },
        format!("{n} half-open connections (SYN-RECV), {top} of them on port {top_port}; SYN cookies sent in the window: {cookies}"),
        "Clients sent SYNs but never completed the handshake: a SYN flood, or clients that cannot reach us back. When the SYN queue fills, the kernel answers with SYN cookies.",
        format!("Keep net.ipv4.tcp_syncookies=1; raise net.ipv4.tcp_max_syn_backlog; filter the sources (sockscope -tn state syn-recv sport = :{top_port} --summary-by remote)."),
    )
    .int("syn_recv", n)
    .int("syncookies_sent_in_window", cookies);
    for (port, c) in per_port.iter().take(5) {
        f = f.int(&format!("syn_recv_port_{port}"), *c);
    }
    vec![attach(o, f, &None, &syn)]
}
