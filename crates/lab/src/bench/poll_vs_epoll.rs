//! The cost of one wait as idle fds grow: select() and poll() scan every fd on every call,
//! epoll_wait() returns only the ready ones. One fd is always ready; the rest are idle.

use super::Settings;
use super::report::{Axis, Figure, Ratio, Report, Series, rounds};
use super::stats::{Bound, Claim};
use crate::{LabError, io, limits};
use rustix::event::{EventfdFlags, PollFd, PollFlags, epoll};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

pub const CLAIM: &str = "select() and poll() cost O(n) per call in the number of fds watched; epoll_wait() costs O(ready fds), so it scales to many idle connections";

fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget && calls < 10_000_000 {
        for _ in 0..16 {
            f();
        }
        calls += 16;
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

/// The mechanisms in series order.
const SERIES: [&str; 3] = ["select", "poll", "epoll"];

pub fn run(sizes: &[usize], per_size: Duration, s: Settings) -> std::result::Result<Report, LabError> {
    let max = sizes.iter().copied().max().unwrap_or(0);
    if sizes.contains(&0) || max == 0 || max > 100_000 {
        return Err(LabError::Limit("fd counts must be 1..=100000".into()));
    }
    super::report::check_runs(s.runs)?;
    limits::ensure_fds(max as u64 + 8, "poll-vs-epoll")?;
    let conditions = super::conditions::Conditions::now(s.pin);
    // No client or server here: the waits run on the client's CPU.
    super::conditions::pin_side(s.pin, true);
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(max);
    let ready = rustix::event::eventfd(1, EventfdFlags::CLOEXEC).map_err(|e| io("eventfd")(e.into()))?;
    let mut figure = Figure::new("cost per wait", "ns", Axis { label: "fds watched", unit: "fds", log: true })
        .with_ratio(Ratio {
            numerator: "poll",
            denominator: "epoll",
            claim: Some(Claim { bound: Bound::AtLeast, value: 10.0 }),
            says: "at the most fds watched, poll costs ≥ 10× epoll per wait (O(n) against O(ready))",
            judged_at_largest_only: true,
            as_percent: false,
        });
    for &n in sizes {
        while fds.len() + 1 < n {
            fds.push(rustix::event::eventfd(0, EventfdFlags::CLOEXEC).map_err(|e| io("eventfd")(e.into()))?);
        }
        let watched: Vec<&OwnedFd> = fds.iter().take(n.saturating_sub(1)).chain(std::iter::once(&ready)).collect();
        let mut pfds: Vec<PollFd<'_>> = watched.iter().map(|f| PollFd::new(*f, PollFlags::IN)).collect();
        let zero = rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 };
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| io("epoll_create")(e.into()))?;
        for (i, f) in watched.iter().enumerate() {
            epoll::add(&ep, f.as_fd(), epoll::EventData::new_u64(i as u64), epoll::EventFlags::IN)
                .map_err(|e| io("epoll_ctl")(e.into()))?;
        }
        let mut events = Vec::with_capacity(16);
        // select() only where every fd is below FD_SETSIZE (1024).
        let with_select = watched.iter().all(|f| f.as_raw_fd() < 1024);
        let borrowed: Vec<std::os::fd::BorrowedFd<'_>> = watched.iter().map(|f| f.as_fd()).collect();
        let first = if with_select { 0 } else { 1 };
        let samples = rounds(s.runs, SERIES.len() - first, |i| {
            Ok(match SERIES[i + first] {
                "select" => time_per_call(per_size, || {
                    let mut set = nix::sys::select::FdSet::new();
                    for f in &borrowed {
                        set.insert(*f);
                    }
                    let mut tv = nix::sys::time::TimeVal::new(0, 0);
                    let _ = nix::sys::select::select(None, &mut set, None, None, &mut tv);
                }),
                "poll" => time_per_call(per_size, || {
                    let _ = rustix::event::poll(&mut pfds, Some(&zero));
                }),
                _ => time_per_call(per_size, || {
                    events.clear();
                    let _ = epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), Some(&zero));
                }),
            })
        })?;
        figure
            .push(n as f64, SERIES[first..].iter().zip(samples).map(|(name, v)| Series::new(name, v, None)).collect());
    }
    Ok(Report { benchmark: "poll-vs-epoll", claim: CLAIM, runs: s.runs, conditions, figures: vec![figure.judge()] })
}
