//! Starting the command to trace: the one place with unsafe code in this crate.

#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Starts `cmd` stopped for tracing: the child asks to be traced (PTRACE_TRACEME) between
/// fork and exec, so it stops with SIGTRAP once exec succeeds and the tracer sees every call
/// of the new program from its first. With a `filter`, the child then installs it (seccomp;
/// it also sets no_new_privs, which seccomp requires of an unprivileged process), so only the
/// calls it names stop the command.
pub fn spawn_traced(cmd: &mut Command, filter: Option<seccompiler::BpfProgram>) -> std::io::Result<Child> {
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe work is allowed. It makes system calls only: ptrace(PTRACE_TRACEME),
    // then prctl(PR_SET_NO_NEW_PRIVS) and seccomp(SET_MODE_FILTER) on a program compiled
    // before the fork (apply_filter reads it, allocates nothing, takes no lock).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::ptrace::traceme().map_err(std::io::Error::from)?;
            if let Some(program) = &filter {
                seccompiler::apply_filter(program).map_err(|_| std::io::Error::last_os_error())?;
            }
            Ok(())
        });
    }
    cmd.spawn()
}
