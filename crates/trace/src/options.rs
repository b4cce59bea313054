//! What a trace is asked to do, and why one cannot start.

use crate::syscalls;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Options {
    /// Follow forks, vforks and threads (`-f`).
    pub follow: bool,
    /// Syscall numbers to report (`-e trace=`).
    pub set: BTreeSet<u64>,
    /// Bytes of a buffer shown (`-s`).
    pub string_limit: usize,
    /// Stop a started command only at the calls of `set` (a seccomp filter installed before
    /// exec, as strace's --seccomp-bpf), not at every call. Only with `follow`: a child the
    /// tracer does not follow would inherit the filter with no tracer, and fail.
    pub seccomp: bool,
    /// Show each fd as what it is (`3<TCP:[…]>`), as strace -yy.
    pub annotate: bool,
    /// Show `%desc` calls (read, write, close, …) only on sockets.
    pub sockets_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            follow: false,
            set: syscalls::default_set(),
            string_limit: 32,
            seccomp: true,
            annotate: true,
            sockets_only: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{0}: permission denied")]
    NotExecutable(String),
    #[error("{what}: cannot execute: {error}")]
    CannotExecute { what: String, error: std::io::Error },
    #[error("cannot start {what}: {error}")]
    Spawn { what: String, error: std::io::Error },
    #[error("ptrace failed: {0}")]
    Ptrace(nix::errno::Errno),
    #[error("no process {0}")]
    NoSuchProcess(i32),
    #[error(
        "process {0} is a zombie: it has exited and waits for its parent to collect its status; it makes no system calls to trace"
    )]
    Zombie(i32),
    #[error("process {0} is a kernel thread: it makes no system calls to trace")]
    KernelThread(i32),
    #[error("process {0} is sockscope itself")]
    Itself(i32),
    #[error("cannot attach to process {pid}: {why}")]
    Denied { pid: i32, why: String },
    #[error("tracing is supported on x86_64 and aarch64, not on {0}")]
    Architecture(&'static str),
    #[error("cannot build the seccomp filter: {0}")]
    Filter(String),
    #[error("cannot catch SIGINT/SIGTERM/SIGHUP to detach on them: {0}")]
    Signals(nix::errno::Errno),
}
