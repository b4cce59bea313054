//! Readers of /proc: the /proc/net/* socket tables (fallback for sock_diag) and the
//! /proc/*/fd scan that finds which processes hold which sockets.

pub mod fdscan;
pub mod net;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: cannot parse {what}")]
    Parse { path: PathBuf, line: usize, what: &'static str },
}
