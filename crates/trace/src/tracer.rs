//! The tracer: starts a command under ptrace, stops it at every system call (entry and exit),
//! and reports the calls of the chosen set, decoded, with the process lifecycle.

use crate::decode;
use crate::syscalls;
use nix::sys::ptrace::{self, Options as PtraceOptions};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::Serialize;
use std::collections::HashMap;
use std::ffi::OsString;
use std::process::Command;

#[derive(Debug, Clone)]
pub struct Options {
    /// Follow forks, vforks and threads (`-f`).
    pub follow: bool,
    /// Syscall numbers to report (`-e trace=`).
    pub set: Vec<u64>,
    /// Bytes of a buffer shown (`-s`).
    pub string_limit: usize,
    /// Stop the command only at the calls of `set` (a seccomp filter installed before exec,
    /// as strace's --seccomp-bpf), not at every call.
    pub seccomp: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { follow: false, set: syscalls::NET.iter().map(|(n, _)| *n).collect(), string_limit: 32, seccomp: true }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{0}: permission denied")]
    NotExecutable(String),
    #[error("cannot start {what}: {error}")]
    Spawn { what: String, error: std::io::Error },
    #[error(
        "ptrace failed: {0} (tracing needs the same user as the tracee, or CAP_SYS_PTRACE; see kernel.yama.ptrace_scope)"
    )]
    Ptrace(nix::errno::Errno),
    #[error("tracing is supported on x86_64 only, not on {0}")]
    Architecture(&'static str),
    #[error("cannot build the seccomp filter: {0}")]
    Filter(String),
}

/// What the tracer saw: a call, or a process ending.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Call(Call),
    Exited { pid: i32, code: i32 },
    Killed { pid: i32, signal: String },
}

/// One system call, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub pid: i32,
    pub syscall: &'static str,
    /// The arguments as strace writes them.
    pub args: String,
    pub ret: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// `= …` as strace writes it.
    #[serde(skip)]
    pub result: String,
}

impl Call {
    /// strace's line, without the `[pid N]` prefix.
    pub fn line(&self) -> String {
        format!("{}({}) = {}", self.syscall, self.args, self.result)
    }
}

/// A call stopped at its entry, waiting for its exit.
struct Pending {
    nr: u64,
    args: [u64; 6],
    /// With seccomp: whether its syscall-entry stop (which follows the seccomp stop on
    /// Linux 4.8+) has passed.
    entered: bool,
}

/// The filter that stops the command at the calls of `set` only.
fn seccomp_filter(set: &[u64]) -> Result<seccompiler::BpfProgram, TraceError> {
    use seccompiler::{SeccompAction, SeccompFilter, TargetArch};
    let rules = set.iter().filter_map(|nr| i64::try_from(*nr).ok()).map(|nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), TargetArch::x86_64)
        .map_err(|e| TraceError::Filter(e.to_string()))?;
    filter.try_into().map_err(|e: seccompiler::BackendError| TraceError::Filter(e.to_string()))
}

/// Starts `argv` under ptrace and reports every call of `opts.set` (and each process's end)
/// to `report`. Returns the command's exit status: its code, or 128 + the signal that killed
/// it (as a shell).
pub fn trace_command(argv: &[OsString], opts: &Options, mut report: impl FnMut(&Event)) -> Result<i32, TraceError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(TraceError::Architecture(std::env::consts::ARCH));
    }
    let Some((program, rest)) = argv.split_first() else {
        return Err(TraceError::NotFound(String::new()));
    };
    let shown = program.to_string_lossy().into_owned();
    let mut cmd = Command::new(program);
    cmd.args(rest);
    let filter = if opts.seccomp { Some(seccomp_filter(&opts.set)?) } else { None };
    let child = crate::spawn::spawn_traced(&mut cmd, filter).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => TraceError::NotFound(shown.clone()),
        std::io::ErrorKind::PermissionDenied => TraceError::NotExecutable(shown.clone()),
        _ => TraceError::Spawn { what: shown.clone(), error },
    })?;
    let root = Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    // The first stop: SIGTRAP once exec succeeded.
    waitpid(root, None).map_err(TraceError::Ptrace)?;
    let mut options = PtraceOptions::PTRACE_O_TRACESYSGOOD | PtraceOptions::PTRACE_O_TRACEEXEC;
    if opts.seccomp {
        options |= PtraceOptions::PTRACE_O_TRACESECCOMP;
    }
    // The command dies with the tracer: it was started for tracing.
    options |= PtraceOptions::PTRACE_O_EXITKILL;
    if opts.follow {
        options |=
            PtraceOptions::PTRACE_O_TRACEFORK | PtraceOptions::PTRACE_O_TRACEVFORK | PtraceOptions::PTRACE_O_TRACECLONE;
    }
    ptrace::setoptions(root, options).map_err(TraceError::Ptrace)?;
    // With seccomp the command runs until a call of the set; without, to every call.
    let resume = |pid: Pid, sig: Option<Signal>| {
        if opts.seccomp { ptrace::cont(pid, sig) } else { ptrace::syscall(pid, sig) }
    };
    resume(root, None).map_err(TraceError::Ptrace)?;

    let wanted = |nr: u64| opts.set.contains(&nr);
    let mut pending: HashMap<Pid, Option<Pending>> = HashMap::new();
    let mut in_syscall: HashMap<Pid, bool> = HashMap::new();
    let mut live = 1usize;
    let mut status = 0;
    loop {
        let ws = match waitpid(None, Some(WaitPidFlag::__WALL)) {
            Ok(ws) => ws,
            Err(nix::errno::Errno::ECHILD) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(TraceError::Ptrace(e)),
        };
        match ws {
            WaitStatus::PtraceSyscall(pid) if opts.seccomp => {
                // Only after a seccomp stop: its entry stop, then its exit stop.
                let regs = ptrace::getregs(pid).ok();
                match (pending.remove(&pid).flatten(), regs) {
                    (Some(mut p), Some(r)) if !p.entered && r.rax as i64 == -(nix::libc::ENOSYS as i64) => {
                        p.entered = true;
                        pending.insert(pid, Some(p));
                        let _ = ptrace::syscall(pid, None);
                    }
                    (Some(p), Some(r)) => {
                        report(&Event::Call(describe(pid, &p, r.rax as i64, opts)));
                        let _ = resume(pid, None);
                    }
                    _ => {
                        let _ = resume(pid, None);
                    }
                }
            }
            WaitStatus::PtraceSyscall(pid) => {
                let entering = !in_syscall.get(&pid).copied().unwrap_or(false);
                in_syscall.insert(pid, entering);
                if let Ok(regs) = ptrace::getregs(pid) {
                    if entering {
                        let nr = regs.orig_rax;
                        let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
                        pending.insert(pid, wanted(nr).then_some(Pending { nr, args, entered: true }));
                    } else if let Some(Some(p)) = pending.remove(&pid) {
                        let ret = regs.rax as i64;
                        report(&Event::Call(describe(pid, &p, ret, opts)));
                    }
                }
                let _ = ptrace::syscall(pid, None);
            }
            WaitStatus::PtraceEvent(pid, _, event) if event == nix::libc::PTRACE_EVENT_SECCOMP => {
                // A call of the set, at its start: keep its arguments, follow it to its exit.
                if let Ok(r) = ptrace::getregs(pid) {
                    let args = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
                    pending.insert(pid, Some(Pending { nr: r.orig_rax, args, entered: false }));
                }
                let _ = ptrace::syscall(pid, None);
            }
            WaitStatus::PtraceEvent(pid, _, event) => {
                if event == nix::libc::PTRACE_EVENT_FORK
                    || event == nix::libc::PTRACE_EVENT_VFORK
                    || event == nix::libc::PTRACE_EVENT_CLONE
                {
                    live += 1;
                }
                let _ = resume(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                // A new child's first stop is its SIGSTOP: swallow it. Any other signal is
                // the tracee's: deliver it.
                let first = !in_syscall.contains_key(&pid) && pid != root && sig == Signal::SIGSTOP;
                in_syscall.entry(pid).or_insert(false);
                let _ = resume(pid, if first { None } else { Some(sig) });
            }
            WaitStatus::Exited(pid, code) => {
                report(&Event::Exited { pid: pid.as_raw(), code });
                if pid == root {
                    status = code;
                }
                in_syscall.remove(&pid);
                live = live.saturating_sub(1);
                if live == 0 {
                    break;
                }
            }
            WaitStatus::Signaled(pid, sig, _) => {
                report(&Event::Killed { pid: pid.as_raw(), signal: sig.as_str().to_string() });
                if pid == root {
                    status = 128 + sig as i32;
                }
                in_syscall.remove(&pid);
                live = live.saturating_sub(1);
                if live == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    Ok(status)
}

/// The call's arguments, read from the registers saved at entry and from the tracee's memory
/// now (at exit, so output arguments are filled in).
fn describe(pid: Pid, p: &Pending, ret: i64, opts: &Options) -> Call {
    let a = p.args;
    let fd = |v: u64| (v as i32).to_string();
    let int = |addr: u64| {
        decode::read_mem(pid, addr, 4).filter(|b| b.len() == 4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let ok = ret >= 0;
    let name = syscalls::net_name(p.nr).unwrap_or("syscall");
    let args = match name {
        "socket" => format!("{}, {}, {}", decode::family(a[0]), decode::sock_type(a[1]), decode::protocol(a[0], a[2])),
        "socketpair" => {
            let fds = decode::read_mem(pid, a[3], 8)
                .filter(|b| b.len() == 8 && ok)
                .map(|b| {
                    format!(
                        "[{}, {}]",
                        i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                        i32::from_ne_bytes([b[4], b[5], b[6], b[7]])
                    )
                })
                .unwrap_or_else(|| format!("{:#x}", a[3]));
            format!("{}, {}, {}, {fds}", decode::family(a[0]), decode::sock_type(a[1]), a[2])
        }
        "connect" | "bind" => format!("{}, {}, {}", fd(a[0]), decode::sockaddr(pid, a[1], a[2]), a[2]),
        "listen" => format!("{}, {}", fd(a[0]), a[1] as i32),
        "accept" | "accept4" | "getsockname" | "getpeername" => {
            let len = int(a[2]);
            let addr = match len {
                Some(l) if ok && a[1] != 0 => decode::sockaddr(pid, a[1], u64::try_from(l).unwrap_or(0)),
                _ if a[1] == 0 => "NULL".to_string(),
                _ => format!("{:#x}", a[1]),
            };
            let len = len.map_or_else(|| "NULL".to_string(), |l| format!("[{l}]"));
            let mut s = format!("{}, {addr}, {len}", fd(a[0]));
            if name == "accept4" {
                s.push_str(&format!(", {}", accept_flags(a[3])));
            }
            s
        }
        "shutdown" => format!("{}, {}", fd(a[0]), decode::shutdown_how(a[1])),
        "setsockopt" | "getsockopt" => {
            let value = match (name, int(if name == "getsockopt" { a[4] } else { 0 })) {
                ("setsockopt", _) if a[4] == 4 => {
                    int(a[3]).map_or_else(|| format!("{:#x}", a[3]), |v| format!("[{v}]"))
                }
                ("getsockopt", Some(4)) if ok => int(a[3]).map_or_else(|| format!("{:#x}", a[3]), |v| format!("[{v}]")),
                _ => format!("{:#x}", a[3]),
            };
            let len = if name == "getsockopt" {
                int(a[4]).map_or_else(|| format!("{:#x}", a[4]), |l| format!("[{l}]"))
            } else {
                a[4].to_string()
            };
            format!(
                "{}, {}, {}, {value}, {len}",
                fd(a[0]),
                decode::sockopt_level(a[1]),
                decode::sockopt_name(a[1], a[2])
            )
        }
        "sendto" | "recvfrom" => {
            let shown_len = if name == "recvfrom" { u64::try_from(ret.max(0)).unwrap_or(0) } else { a[2] };
            let buf = decode::read_mem(pid, a[1], usize::try_from(shown_len).unwrap_or(0).min(opts.string_limit + 1))
                .map_or_else(|| format!("{:#x}", a[1]), |b| decode::quoted(&b, opts.string_limit));
            let addr = if name == "sendto" {
                decode::sockaddr(pid, a[4], a[5])
            } else if a[4] == 0 {
                "NULL".to_string()
            } else {
                let len = int(a[5]).unwrap_or(0);
                decode::sockaddr(pid, a[4], u64::try_from(len).unwrap_or(0))
            };
            format!("{}, {buf}, {}, {}, {addr}, {}", fd(a[0]), a[2], msg_flags(a[3]), a[5])
        }
        _ => format!("{}, {:#x}, {:#x}", fd(a[0]), a[1], a[2]),
    };
    let (result, errno) = decode::result(ret);
    Call { pid: pid.as_raw(), syscall: name, args, ret, errno, result }
}

fn accept_flags(f: u64) -> String {
    let mut names = Vec::new();
    if f & 0o2_000_000 != 0 {
        names.push("SOCK_CLOEXEC");
    }
    if f & 0o4000 != 0 {
        names.push("SOCK_NONBLOCK");
    }
    if names.is_empty() { "0".to_string() } else { names.join("|") }
}

fn msg_flags(f: u64) -> String {
    const NAMES: [(u64, &str); 6] = [
        (0x1, "MSG_OOB"),
        (0x2, "MSG_PEEK"),
        (0x40, "MSG_DONTWAIT"),
        (0x100, "MSG_WAITALL"),
        (0x4000, "MSG_NOSIGNAL"),
        (0x8000, "MSG_MORE"),
    ];
    let names: Vec<&str> = NAMES.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n).collect();
    if names.is_empty() { "0".to_string() } else { names.join("|") }
}
