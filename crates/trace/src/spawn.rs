//! Starting the command to trace: the one place with unsafe code in this crate.

#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Starts `cmd` stopped for tracing: the child asks to be traced (PTRACE_TRACEME) between
/// fork and exec, so it stops with SIGTRAP once exec succeeds and the tracer sees every call
/// of the new program from its first.
pub fn spawn_traced(cmd: &mut Command) -> std::io::Result<Child> {
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe work is allowed: it makes one system call (ptrace(PTRACE_TRACEME)) and
    // touches no lock, allocator or shared state.
    unsafe {
        cmd.pre_exec(|| nix::sys::ptrace::traceme().map_err(std::io::Error::from));
    }
    cmd.spawn()
}
