//! sockscope-trace: what a program does with its sockets, as strace's network view shows it.
//!
//! A ptrace tracer (PTRACE_SYSCALL, registers through PTRACE_GETREGS) of a command it starts,
//! following its children with `-f`. x86_64 only for now. Work in progress: the seccomp filter
//! that keeps untraced calls from stopping, `-p`, fd annotations, and the peer process are to
//! come (docs/trace.md says what works).

pub mod decode;
mod spawn;
pub mod syscalls;
mod tracer;

pub use tracer::{Call, Event, Options, TraceError, trace_command};
