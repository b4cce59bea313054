//! The cost of one wait as idle fds grow: select() and poll() scan every fd on every call,
//! epoll_wait() returns only the ready ones. One fd is always ready; the rest are idle.

use crate::{LabError, io, limits};
use rustix::event::{EventfdFlags, PollFd, PollFlags, epoll};
use serde::Serialize;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

pub const CLAIM: &str = "select() and poll() cost O(n) per call in the number of fds watched; epoll_wait() costs O(ready fds), so it scales to many idle connections";

#[derive(Debug, Serialize)]
pub struct Row {
    pub fds: usize,
    /// Mean nanoseconds per call; select only where every fd is below FD_SETSIZE (1024).
    pub select_ns: Option<f64>,
    pub poll_ns: f64,
    pub epoll_ns: f64,
}

#[derive(Debug, Serialize)]
pub struct Result {
    pub rows: Vec<Row>,
    /// poll / epoll at the largest size.
    pub poll_over_epoll_at_max: f64,
    pub claim: &'static str,
}

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

pub fn run(sizes: &[usize], per_size: Duration) -> std::result::Result<Result, LabError> {
    let max = sizes.iter().copied().max().unwrap_or(0);
    if max == 0 || max > 100_000 {
        return Err(LabError::Limit("fd counts must be 1..=100000".into()));
    }
    limits::ensure_fds(max as u64 + 8, "poll-vs-epoll")?;
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(max);
    let ready = rustix::event::eventfd(1, EventfdFlags::CLOEXEC).map_err(|e| io("eventfd")(e.into()))?;
    let mut rows = Vec::new();
    for &n in sizes {
        while fds.len() + 1 < n {
            fds.push(rustix::event::eventfd(0, EventfdFlags::CLOEXEC).map_err(|e| io("eventfd")(e.into()))?);
        }
        let watched: Vec<&OwnedFd> = fds.iter().take(n.saturating_sub(1)).chain(std::iter::once(&ready)).collect();
        let mut pfds: Vec<PollFd<'_>> = watched.iter().map(|f| PollFd::new(*f, PollFlags::IN)).collect();
        let zero = rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 };
        let poll_ns = time_per_call(per_size, || {
            let _ = rustix::event::poll(&mut pfds, Some(&zero));
        });
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| io("epoll_create")(e.into()))?;
        for (i, f) in watched.iter().enumerate() {
            epoll::add(&ep, f.as_fd(), epoll::EventData::new_u64(i as u64), epoll::EventFlags::IN)
                .map_err(|e| io("epoll_ctl")(e.into()))?;
        }
        let mut events = Vec::with_capacity(16);
        let epoll_ns = time_per_call(per_size, || {
            events.clear();
            let _ = epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), Some(&zero));
        });
        let select_ns = if watched.iter().all(|f| f.as_raw_fd() < 1024) {
            let borrowed: Vec<std::os::fd::BorrowedFd<'_>> = watched.iter().map(|f| f.as_fd()).collect();
            Some(time_per_call(per_size, || {
                let mut set = nix::sys::select::FdSet::new();
                for f in &borrowed {
                    set.insert(*f);
                }
                let mut tv = nix::sys::time::TimeVal::new(0, 0);
                let _ = nix::sys::select::select(None, &mut set, None, None, &mut tv);
            }))
        } else {
            None
        };
        rows.push(Row { fds: n, select_ns, poll_ns, epoll_ns });
    }
    let last = rows.last().map_or(1.0, |r| r.poll_ns / r.epoll_ns.max(1e-9));
    Ok(Result { rows, poll_over_epoll_at_max: last, claim: CLAIM })
}
