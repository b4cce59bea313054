//! A process that lowers its own soft RLIMIT_NOFILE and opens sockets until socket() fails
//! with EMFILE ("Too many open files"), then holds them.

use crate::LabError;
use crate::worker::{Spec, Worker};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Options {
    /// The soft limit the worker sets for itself.
    pub limit: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { limit: 256 }
    }
}

#[derive(Debug, Serialize)]
pub struct Truth {
    pub pid: u32,
    pub soft_limit: u64,
    /// Sockets it managed to open before the error.
    pub opened: u64,
    /// How the next socket() failed: EMFILE (Too many open files).
    pub error: String,
}

pub struct FdExhaustion {
    pub truth: Truth,
    _worker: Worker,
}

impl FdExhaustion {
    pub fn start(o: &Options, worker_exe: &Path) -> Result<FdExhaustion, LabError> {
        let hard = crate::limits::nofile_hard();
        if o.limit < 16 || o.limit > hard {
            return Err(LabError::Limit(format!("--limit must be 16..={hard} (the hard RLIMIT_NOFILE)")));
        }
        let w = Worker::spawn(worker_exe, &Spec::FdExhaustion { soft_limit: o.limit }, Duration::from_secs(10))?;
        let truth = Truth {
            pid: w.ready.pid,
            soft_limit: w.ready.soft_limit.unwrap_or(o.limit),
            opened: w.ready.sockets,
            error: w.ready.error.clone().unwrap_or_default(),
        };
        Ok(FdExhaustion { truth, _worker: w })
    }
}
