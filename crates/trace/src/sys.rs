//! The crate's one module with unsafe code: what neither nix nor rustix offers safely.
//!
//! - starting the command to trace (`pre_exec` runs between fork and exec);
//! - `PTRACE_GET_SYSCALL_INFO` (nix 0.30's `syscall_info` passes a buffer size of 0, so the
//!   kernel copies nothing into it);
//! - signal handlers without `SA_RESTART` (signal-hook restarts `waitpid`, which would keep
//!   the tracer from noticing Ctrl-C while its tracees are quiet).

#![allow(unsafe_code)]

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};

/// Starts `cmd` stopped for tracing: the child asks to be traced (PTRACE_TRACEME) between
/// fork and exec, so it stops with SIGTRAP once exec succeeds and the tracer sees every call
/// of the new program from its first. (PTRACE_SEIZE would need the child to stop itself
/// before exec, and std's spawn waits for the exec.) With a `filter`, the child then
/// installs it (seccomp; it also sets no_new_privs, which seccomp requires of an
/// unprivileged process), so only the calls it names stop the command.
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

/// Why a tracee is stopped at a system call, with what the kernel says of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallStop {
    /// At its start: the number and the six argument registers.
    Entry { nr: u64, args: [u64; 6] },
    /// At its end: the return value (a negative errno on failure).
    Exit { ret: i64 },
    /// Stopped by the seccomp filter (SECCOMP_RET_TRACE), before the call runs.
    Seccomp { nr: u64, args: [u64; 6] },
    /// Not a syscall stop.
    None,
}

/// PTRACE_GET_SYSCALL_INFO (Linux 5.3+): the call at this stop, on any architecture.
pub fn syscall_info(pid: Pid) -> nix::Result<SyscallStop> {
    let mut info = std::mem::MaybeUninit::<nix::libc::ptrace_syscall_info>::zeroed();
    let size = std::mem::size_of::<nix::libc::ptrace_syscall_info>();
    // SAFETY: the kernel writes at most `size` bytes (the `addr` argument) into `info`,
    // which is that large and zeroed, so every byte read afterwards is initialised.
    let res = unsafe {
        nix::libc::ptrace(
            nix::libc::PTRACE_GET_SYSCALL_INFO,
            pid.as_raw(),
            size as *mut nix::libc::c_void,
            info.as_mut_ptr(),
        )
    };
    nix::errno::Errno::result(res)?;
    // SAFETY: zero-initialised above and possibly filled by the kernel; all fields are
    // plain integers, valid for any bit pattern.
    let info = unsafe { info.assume_init() };
    // SAFETY (the three union reads): `op` says which member the kernel filled; each is
    // plain integers, so reading it is defined even if the kernel filled less.
    Ok(match info.op {
        nix::libc::PTRACE_SYSCALL_INFO_ENTRY => {
            let e = unsafe { info.u.entry };
            SyscallStop::Entry { nr: e.nr, args: e.args }
        }
        nix::libc::PTRACE_SYSCALL_INFO_EXIT => {
            let e = unsafe { info.u.exit };
            SyscallStop::Exit { ret: e.sval }
        }
        nix::libc::PTRACE_SYSCALL_INFO_SECCOMP => {
            let s = unsafe { info.u.seccomp };
            SyscallStop::Seccomp { nr: s.nr, args: s.args }
        }
        _ => SyscallStop::None,
    })
}

/// The last of SIGINT, SIGTERM, SIGHUP received (0: none).
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn note_stop_signal(sig: nix::libc::c_int) {
    if sig != nix::libc::SIGALRM {
        STOP_SIGNAL.store(sig, Ordering::SeqCst);
        // A signal landing between the tracer's check and its waitpid would go unseen
        // until the next tracee event; SIGALRM in a second interrupts that waitpid.
        let _ = nix::unistd::alarm::set(1);
    }
}

/// Catches SIGINT, SIGTERM, SIGHUP (and SIGALRM) so that they interrupt the tracer's wait
/// (no SA_RESTART) instead of killing it, which would leave the tracees to the kernel.
pub fn catch_stop_signals() -> nix::Result<()> {
    let action = SigAction::new(SigHandler::Handler(note_stop_signal), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGALRM] {
        // SAFETY: the handler only stores into an atomic and calls alarm(2), both
        // async-signal-safe.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

/// The stop signal received since `catch_stop_signals`, if any.
pub fn stop_signal() -> Option<Signal> {
    Signal::try_from(STOP_SIGNAL.load(Ordering::SeqCst)).ok()
}

/// What the kernel says of a signal about to be delivered to a tracee.
#[derive(Debug, Clone, Copy, Default)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    pub status: i32,
    pub utime: i64,
    pub stime: i64,
    pub addr: u64,
}

/// The signal at a tracee's signal-delivery stop (PTRACE_GETSIGINFO).
pub fn signal_info(pid: Pid) -> nix::Result<SigInfo> {
    let si = nix::sys::ptrace::getsiginfo(pid)?;
    let mut out = SigInfo { signo: si.si_signo, code: si.si_code, ..SigInfo::default() };
    // SAFETY: siginfo_t was filled by the kernel; each accessor reads plain integers of the
    // union member the signal and code say is in use (SI_USER/SI_QUEUE/SI_TKILL and SIGCHLD
    // carry a sender; the fault signals an address).
    unsafe {
        let sender = si.si_code <= 0 || si.si_signo == nix::libc::SIGCHLD;
        if sender {
            out.pid = si.si_pid();
            out.uid = si.si_uid();
        }
        if si.si_signo == nix::libc::SIGCHLD && si.si_code > 0 {
            out.status = si.si_status();
            out.utime = si.si_utime();
            out.stime = si.si_stime();
        }
        let fault = [nix::libc::SIGSEGV, nix::libc::SIGBUS, nix::libc::SIGILL, nix::libc::SIGFPE];
        if fault.contains(&si.si_signo) && si.si_code > 0 {
            out.addr = si.si_addr() as u64;
        }
    }
    Ok(out)
}

/// PTRACE_LISTEN (nix has no wrapper): leaves a seized tracee in its group stop (a SIGSTOP
/// the tracee got, not the tracer's) while still reporting what happens to it.
pub fn listen(pid: Pid) -> nix::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no pointer arguments.
    let res = unsafe {
        nix::libc::ptrace(nix::libc::PTRACE_LISTEN, pid.as_raw(), std::ptr::null_mut::<nix::libc::c_void>(), 0)
    };
    nix::errno::Errno::result(res).map(drop)
}
