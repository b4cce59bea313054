//! nagle-stall: connections that write small pieces without TCP_NODELAY and whose round
//! trips are stretched far past the path's own: Nagle's algorithm holding a small write until
//! the previous one is ACKed, and the peer delaying that ACK (~40 ms). The evidence is the
//! connection's own tcp_info and options, read from its process; the rule stays quiet where
//! any of it is missing.

use super::{attach, by_holder, who};
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Netid, SockState};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "nagle-stall";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "small writes without TCP_NODELAY stalled by delayed ACKs";

limits! {
    /// Data segments sent before a connection is judged.
    nagle_min_segments: u64 = 20,
    /// Mean bytes per data segment at most which writes count as small.
    nagle_small_write_bytes: u64 = 512,
    /// Smoothed round trip (ms) at least which, on a path at least ten times faster, counts
    /// as stalled.
    nagle_stall_rtt_ms: u64 = 20,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let stalled = o.first.sockets.iter().filter(|s| {
        if s.netid != Netid::Tcp || s.state != SockState::Established {
            return false;
        }
        let (Some(opts), Some(f)) = (o.options.get(s.inode), o.options.flows.get(&s.inode)) else { return false };
        opts.nodelay == Some(false)
            && u64::from(f.data_segs_out) >= t.nagle_min_segments.max(1)
            && f.bytes_sent / u64::from(f.data_segs_out.max(1)) <= t.nagle_small_write_bytes
            && u64::from(f.rtt_us) >= t.nagle_stall_rtt_ms.saturating_mul(1000)
            && f.min_rtt_us > 0
            && u64::from(f.min_rtt_us) * 10 <= u64::from(f.rtt_us)
    });
    by_holder(o, stalled)
        .into_iter()
        .map(|(holder, socks)| {
            let flows: Vec<_> = socks.iter().filter_map(|s| o.options.flows.get(&s.inode)).collect();
            let worst = flows.iter().max_by_key(|f| f.rtt_us).copied().copied().unwrap_or_default();
            let n = socks.len();
            let f = Finding::new(
                ID,
                Severity::Warn,
                format!(
                    "{} has {n} connection{} sending small writes without TCP_NODELAY whose round trip is {:.1} ms on a path that answers in {:.2} ms: delayed ACKs are stalling Nagle's algorithm",
                    who(&holder),
                    if n == 1 { "" } else { "s" },
                    f64::from(worst.rtt_us) / 1000.0,
                    f64::from(worst.min_rtt_us) / 1000.0
                ),
                "With Nagle's algorithm on (no TCP_NODELAY), a small write waits until the previous small write is acknowledged; the peer delays its ACK (up to ~40 ms) hoping to piggyback it on a reply, and a request written in pieces (write-write-read) waits for that timer every time.",
                "Set TCP_NODELAY on the socket, or write each request in one call (writev, a buffer); `sockscope lab nagle` shows the stall and both cures.".to_string(),
            )
            .int("connections", n as u64)
            .int("srtt_us", u64::from(worst.rtt_us))
            .int("min_rtt_us", u64::from(worst.min_rtt_us))
            .int("data_segments", u64::from(worst.data_segs_out))
            .int("bytes_per_segment", worst.bytes_sent / u64::from(worst.data_segs_out.max(1)));
            attach(o, f, &holder, &socks)
        })
        .collect()
}
