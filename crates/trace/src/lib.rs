//! sockscope-trace: what a program does with its sockets, as strace's network view shows it,
//! with every fd shown as the connection it is.
//!
//! A ptrace tracer. A command it starts gets a seccomp filter before exec so that only the
//! traced calls stop it (as `strace --seccomp-bpf`); running processes (`-p`) are attached
//! with PTRACE_SEIZE and stop at every call, since a filter cannot be added to a running
//! process from outside. Calls are read with PTRACE_GET_SYSCALL_INFO.

pub mod args;
mod attach;
mod command;
pub mod decode;
mod event;
pub mod fds;
mod names;
mod options;
mod peers;
mod sys;
pub mod syscalls;
mod tracer;

pub use attach::trace_attached;
pub use event::{Call, Event};
pub use fds::{Connection, FdInfo};
pub use options::{Options, TraceError};
pub use peers::Peer;

use std::collections::BTreeSet;
use std::ffi::OsString;
use tracer::{Mode, Tracer};

/// Whether SIGINT, SIGTERM or SIGHUP has asked the trace to end (a writer blocked on a full
/// pipe should then give up rather than retry: the tracer cannot let go while it waits).
pub fn stop_requested() -> bool {
    sys::stop_signal().is_some()
}

/// Refuses architectures whose syscall table and seccomp arch this crate does not know.
fn check_architecture() -> Result<seccompiler::TargetArch, TraceError> {
    if cfg!(target_arch = "x86_64") {
        Ok(seccompiler::TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Ok(seccompiler::TargetArch::aarch64)
    } else {
        Err(TraceError::Architecture(std::env::consts::ARCH))
    }
}

/// The filter that stops the command at the calls of `set` only.
fn seccomp_filter(set: &BTreeSet<u64>, arch: seccompiler::TargetArch) -> Result<seccompiler::BpfProgram, TraceError> {
    use seccompiler::{SeccompAction, SeccompFilter};
    let rules = set.iter().filter_map(|nr| i64::try_from(*nr).ok()).map(|nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), arch)
        .map_err(|e| TraceError::Filter(e.to_string()))?;
    filter.try_into().map_err(|e: seccompiler::BackendError| TraceError::Filter(e.to_string()))
}

/// Starts `argv` under ptrace and reports every call of `opts.set` (and each process's end)
/// to `report`, which returns false once it can no longer write (the trace then goes on
/// quietly: a started command cannot be let go, see `tracer`). Returns the command's exit
/// status: its code, or 128 + the signal that killed it (as a shell).
pub fn trace_command(argv: &[OsString], opts: &Options, report: impl FnMut(&Event) -> bool) -> Result<i32, TraceError> {
    let arch = check_architecture()?;
    let command = command::Command::find(argv)?;
    let shown = decode::escaped(&argv.first().map(|p| p.to_string_lossy()).unwrap_or_default());
    // The filter only where every process that inherits it is followed (-f), as strace's
    // --seccomp-bpf: a child with the filter and no tracer gets ENOSYS from every call the
    // filter names, so without -f the command is stopped at every call instead.
    let seccomp = opts.seccomp && opts.follow;
    let filter = if seccomp { Some(seccomp_filter(&opts.set, arch)?) } else { None };
    sys::catch_stop_signals().map_err(TraceError::Signals)?;
    let spawn_error = |error| TraceError::Spawn { what: shown.clone(), error };
    let held = sys::fork_held(&command.path, &command.argv, filter.as_ref()).map_err(spawn_error)?;
    let root = held.pid;
    let mut tracer = Tracer::new(opts, Mode::Started { seccomp }, report);
    if let Err(e) = nix::sys::ptrace::seize(root, tracer.ptrace_options()) {
        // Dropping `held` closes its pipe: the child ends without running the command.
        drop(held);
        let _ = nix::sys::wait::waitpid(root, None);
        return Err(TraceError::Ptrace(e));
    }
    tracer.set_root(root);
    let exec_error = held.release().map_err(spawn_error)?;
    let status = tracer.run()?;
    // Found on PATH, yet exec failed (a binary for another machine, too many arguments):
    // the child said why before its _exit(127).
    match sys::exec_error(&exec_error) {
        Some(errno) => Err(TraceError::CannotExecute { what: shown, error: std::io::Error::from_raw_os_error(errno) }),
        None => Ok(status),
    }
}
