//! `-p`: attaching to running processes (every thread of each) with PTRACE_SEIZE, and saying
//! exactly why when the kernel refuses.

use crate::tracer::{Mode, Tracer, tgid_of};
use crate::{Event, Options, TraceError, sys};
use nix::sys::ptrace;
use nix::unistd::Pid;
use sockscope_core::process::Processes;
use std::collections::BTreeSet;

/// Attaches to every thread of `pids`, reports their calls of `opts.set` until they all end
/// or a stop signal (SIGINT, SIGTERM, SIGHUP) or a failed output, then detaches from each:
/// the processes go on as if never traced. Returns 0.
pub fn trace_attached(pids: &[i32], opts: &Options, report: impl FnMut(&Event) -> bool) -> Result<i32, TraceError> {
    crate::check_architecture()?;
    for &pid in pids {
        check(pid)?;
    }
    sys::catch_stop_signals().map_err(TraceError::Signals)?;
    let mut tracer = Tracer::new(opts, Mode::Attached, report);
    let options = tracer.ptrace_options();
    let mut attached = BTreeSet::new();
    for &pid in pids {
        // Threads may start while attaching: look again until none is new (as strace).
        loop {
            let new: Vec<i32> = threads(pid).into_iter().filter(|t| !attached.contains(t)).collect();
            if new.is_empty() {
                break;
            }
            for tid in new {
                let t = Pid::from_raw(tid);
                match ptrace::seize(t, options) {
                    Ok(()) => {
                        attached.insert(tid);
                        let _ = ptrace::interrupt(t);
                        tracer.attached(t);
                    }
                    // The thread ended meanwhile; the process may still be there.
                    Err(nix::errno::Errno::ESRCH) if tid != pid => {}
                    Err(e) => {
                        // Let go of those already held before saying why.
                        let _ = tracer.detach_all();
                        return Err(denied(pid, e));
                    }
                }
            }
        }
    }
    tracer.run()
}

/// The threads of process `pid` (itself if its task list cannot be read).
fn threads(pid: i32) -> Vec<i32> {
    let listed = u32::try_from(pid).ok().and_then(|p| Processes::default().threads(p).ok()).unwrap_or_default();
    let mut out: Vec<i32> = listed.into_iter().filter_map(|t| i32::try_from(t).ok()).collect();
    if out.is_empty() {
        out.push(pid);
    }
    out.sort_unstable();
    out
}

/// Refuses what cannot be traced before touching anything.
fn check(pid: i32) -> Result<(), TraceError> {
    // The command name in it may be any bytes: only what follows it is read.
    let stat = u32::try_from(pid)
        .ok()
        .and_then(|p| Processes::default().stat(p).ok())
        .ok_or(TraceError::NoSuchProcess(pid))?;
    let stat = String::from_utf8_lossy(&stat);
    let after_name: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // The state is the 3rd field, the 1st after the command name's closing parenthesis.
    if matches!(after_name.first(), Some(&("Z" | "X"))) {
        return Err(TraceError::Zombie(pid));
    }
    // flags is the 9th field, the 7th after it.
    let flags: u64 = after_name.get(6).and_then(|f| f.parse().ok()).unwrap_or(0);
    const PF_KTHREAD: u64 = 0x0020_0000;
    if flags & PF_KTHREAD != 0 {
        return Err(TraceError::KernelThread(pid));
    }
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    if pid == me || tgid_of(Pid::from_raw(pid)) == me {
        return Err(TraceError::Itself(pid));
    }
    Ok(())
}

/// Why the kernel refused to attach: no such process, or which rule denied it.
fn denied(pid: i32, e: nix::errno::Errno) -> TraceError {
    if e == nix::errno::Errno::ESRCH {
        return TraceError::NoSuchProcess(pid);
    }
    if e != nix::errno::Errno::EPERM {
        return TraceError::Ptrace(e);
    }
    let processes = Processes::default();
    let status = u32::try_from(pid).map(|p| processes.status(p)).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    let tracer: i32 = field("TracerPid:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let why = if tracer != 0 {
        let comm = u32::try_from(tracer).ok().and_then(|t| processes.comm_bytes(t)).unwrap_or_default();
        format!(
            "it is already traced by process {tracer} ({}); a process has one tracer at a time",
            crate::decode::escaped(&String::from_utf8_lossy(&comm))
        )
    } else {
        let owner: Option<u32> = field("Uid:").and_then(|v| v.parse().ok());
        let me = rustix::process::geteuid().as_raw();
        let scope = processes.sysctl("kernel/yama/ptrace_scope").and_then(|s| s.trim().parse::<u8>().ok());
        match scope {
            Some(3) => "kernel.yama.ptrace_scope is 3: no process may be traced until reboot".to_string(),
            Some(2) => "kernel.yama.ptrace_scope is 2: only a process with CAP_SYS_PTRACE may attach (run as root)".to_string(),
            _ if owner.is_some_and(|o| o != me) && me != 0 => {
                format!("it belongs to another user (uid {}); attaching needs root or CAP_SYS_PTRACE", owner.unwrap_or(0))
            }
            Some(1) => "kernel.yama.ptrace_scope is 1: only a parent may attach to its own descendants without CAP_SYS_PTRACE (run as root, or sysctl kernel.yama.ptrace_scope=0)".to_string(),
            _ => "permission denied (without CAP_SYS_PTRACE, or a security policy such as a container's seccomp profile or an LSM forbids ptrace)".to_string(),
        }
    };
    TraceError::Denied { pid, why }
}
