//! Readers of /proc: the /proc/net/* socket tables (fallback for sock_diag) and the
//! /proc/*/fd scan that finds which processes hold which sockets.

pub mod counters;
pub mod fdinfo;
pub mod fdscan;
pub mod fdtable;
pub mod net;
pub mod process;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error(
        "{path} is not a procfs mount, so processes and sockets cannot be read from it (mount it with: mount -t proc proc /proc)"
    )]
    NotProcfs { path: PathBuf },
    #[error("{path}:{line}: cannot parse {what}")]
    Parse { path: PathBuf, line: usize, what: &'static str },
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Fails unless `dir` (opened from `path`) is on procfs: an empty directory where /proc
/// should be would otherwise read as "no processes" — a silent gap.
pub(crate) fn ensure_procfs(dir: &impl rustix::fd::AsFd, path: &std::path::Path) -> Result<(), ProcError> {
    let fs = rustix::fs::fstatfs(dir).map_err(|e| ProcError::Read { path: path.to_path_buf(), cause: e.into() })?;
    if fs.f_type as i64 != PROC_SUPER_MAGIC {
        return Err(ProcError::NotProcfs { path: path.to_path_buf() });
    }
    Ok(())
}
