//! A population for benchmarks: N sockets — established loopback pairs, listeners, Unix
//! pairs and TIME-WAIT — spread over P worker processes, each within its own fd limit.

use crate::worker::{Ready, Spec, Worker};
use crate::{LabError, limits};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Options {
    pub sockets: u64,
    pub processes: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { sockets: 10_000, processes: 4 }
    }
}

#[derive(Debug, Serialize, Default)]
pub struct Truth {
    pub workers: Vec<Ready>,
    /// Sockets held by the workers (fds), TIME-WAIT not included.
    pub held: u64,
    pub established: u64,
    pub unix: u64,
    pub listeners: u64,
    /// TIME-WAIT sockets made (they expire 60 s later).
    pub time_wait: u64,
}

impl Truth {
    pub fn total(&self) -> u64 {
        self.held + self.time_wait
    }
}

pub struct Farm {
    pub truth: Truth,
    _workers: Vec<Worker>,
    footprint: crate::cleanup::Footprint,
}

/// One worker's share: (established pairs, unix pairs, time-wait, listeners).
pub fn share(per_worker: u64) -> (u32, u32, u32, u32) {
    let tw = per_worker / 20;
    let unix_pairs = per_worker / 40;
    let listeners = 1;
    let est_pairs = per_worker.saturating_sub(tw + unix_pairs * 2 + listeners) / 2;
    (est_pairs as u32, unix_pairs as u32, tw as u32, listeners as u32)
}

impl Farm {
    pub fn start(o: &Options, worker_exe: &Path) -> Result<Farm, LabError> {
        if o.processes == 0 || o.processes > 250 {
            return Err(LabError::Limit("--processes must be 1..=250".into()));
        }
        if o.sockets < u64::from(o.processes) * 10 {
            return Err(LabError::Limit("--sockets must be at least 10 per process".into()));
        }
        let per = o.sockets.div_ceil(u64::from(o.processes));
        let (est, unix, tw, listeners) = share(per);
        let fds_per_worker = u64::from(est) * 2 + u64::from(unix) * 2 + u64::from(listeners) + 64;
        let hard = limits::nofile_hard();
        if fds_per_worker > hard {
            let need = o.sockets.div_ceil(hard.saturating_sub(64).max(1));
            return Err(LabError::Limit(format!(
                "{} sockets over {} processes is {fds_per_worker} fds per process, above RLIMIT_NOFILE's hard limit {hard} (CAP_SYS_RESOURCE is needed to raise it); use --processes {need} or more",
                o.sockets, o.processes
            )));
        }
        limits::ensure_ports(u64::from(est) + u64::from(tw), "each farm worker")?;
        limits::ensure_system_files(fds_per_worker * u64::from(o.processes), "the farm")?;
        // Each worker gets its own loopback address, so each has the whole ephemeral range.
        let timeout = Duration::from_secs(60 + per / 1000);
        let handles: Vec<_> = (0..o.processes)
            .map(|w| {
                let exe = worker_exe.to_path_buf();
                let spec = Spec::Farm {
                    address: Ipv4Addr::new(127, 0, (w / 250) as u8 + 1, (w % 250) as u8 + 2),
                    established_pairs: est,
                    unix_pairs: unix,
                    time_wait: tw,
                    listeners,
                };
                std::thread::spawn(move || Worker::spawn(&exe, &spec, timeout))
            })
            .collect();
        let mut workers = Vec::new();
        let mut first_error = None;
        for h in handles {
            match h.join() {
                Ok(Ok(w)) => workers.push(w),
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(_) => first_error = first_error.or(Some(LabError::Worker("a worker thread panicked".into()))),
            }
        }
        if let Some(e) = first_error {
            // Never half-created: the workers that did start are stopped on drop here.
            drop(workers);
            return Err(e);
        }
        let mut truth = Truth::default();
        let mut footprint = crate::cleanup::Footprint::default();
        for w in &mut workers {
            truth.held += w.ready.sockets;
            truth.time_wait += u64::from(w.ready.time_wait);
            // The connection list is for cleanup, not for the report.
            footprint.extend(std::mem::take(&mut w.ready.connections));
            truth.workers.push(w.ready.clone());
        }
        truth.established = u64::from(est) * 2 * u64::from(o.processes);
        truth.unix = u64::from(unix) * 2 * u64::from(o.processes);
        truth.listeners = u64::from(listeners) * u64::from(o.processes);
        Ok(Farm { truth, _workers: workers, footprint })
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        // Stop the workers (their sockets close), then reap what the kernel keeps closing.
        drop(std::mem::take(&mut self._workers));
        crate::cleanup::reap_closing(&self.footprint);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_add_up() {
        for per in [10u64, 1000, 20_000, 25_001] {
            let (est, unix, tw, l) = super::share(per);
            let total = u64::from(est) * 2 + u64::from(unix) * 2 + u64::from(tw) + u64::from(l);
            assert!(total <= per && per - total <= 2, "{per}: {total}");
        }
    }
}
