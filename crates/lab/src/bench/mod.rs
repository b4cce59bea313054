//! Measurements of the seed's claims, each bounded in time, each reporting its figures beside
//! the claim it tests.

pub mod blocking_vs_epoll;
pub mod nagle;
pub mod poll_vs_epoll;
pub mod unix_vs_tcp;

use std::time::Duration;

/// The median of some durations (they are sorted in place).
pub fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
