//! The crate's one module with unsafe code: what neither nix nor rustix offers safely.
//!
//! - starting the command to trace (fork, then only async-signal-safe calls until exec);
//! - `PTRACE_GET_SYSCALL_INFO` (nix 0.30's `syscall_info` passes a buffer size of 0, so the
//!   kernel copies nothing into it);
//! - signal handlers without `SA_RESTART` (signal-hook restarts `waitpid`, which would keep
//!   the tracer from noticing Ctrl-C while its tracees are quiet).

#![allow(unsafe_code)]

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::Pid;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// A command forked and held before its exec, waiting for the tracer to seize it.
pub struct Held {
    pub pid: Pid,
    /// Closing it, or writing a byte to it, lets the child go on: to exec when the byte
    /// came, to `_exit(127)` when it did not (the tracer refused it).
    go: OwnedFd,
    /// The errno of a failed exec, written by the child; closed by a successful exec.
    exec_error: OwnedFd,
}

impl Held {
    /// Lets the child (seized by now) install its filter and exec. Returns the pipe on
    /// which a failed exec's errno arrives (`exec_error`).
    pub fn release(self) -> std::io::Result<OwnedFd> {
        rustix::io::write(&self.go, &[1u8])?;
        Ok(self.exec_error)
    }
}

/// The errno a failed exec wrote, once the child has ended; None when it exec'd.
pub fn exec_error(pipe: &OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    match rustix::io::read(pipe, &mut buf) {
        Ok(4) => Some(i32::from_ne_bytes(buf)),
        _ => None,
    }
}

/// Forks the command to trace and holds the child before its exec until the tracer has
/// seized it (`Held::release`): so the command is a seized tracee from its first
/// instruction, whose group stops (SIGSTOP, SIGTSTP) can be left standing, as strace
/// starts commands. (PTRACE_TRACEME cannot give that: a tracee that asked to be traced is
/// not seized, and PTRACE_LISTEN does not work on it.) With a `filter`, the child installs it
/// (seccomp; it also sets no_new_privs, which seccomp requires of an unprivileged process)
/// just before its exec, so only the calls it names stop the command.
///
/// `path` is the program, already found on PATH; `argv` its arguments from the 0th.
pub fn fork_held(path: &CStr, argv: &[CString], filter: Option<&seccompiler::BpfProgram>) -> std::io::Result<Held> {
    let (go_read, go_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (error_read, error_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // Everything the child needs is made before the fork: it must not allocate.
    let mut pointers: Vec<*const nix::libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    // Every signal blocked across the fork: until the child has put the default handlers
    // back, a signal for it (sockscope forwards SIGTERM) would run sockscope's handler in it,
    // whose alarm(2) outlives the exec and kills the command a second later. Blocked, it
    // waits, and then does to the child what it would do to the command.
    let mut before = nix::sys::signal::SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::all()),
        Some(&mut before),
    )?;
    // SAFETY: between fork and exec the child calls only async-signal-safe functions
    // (close, read, write, signal, sigprocmask, prctl, seccomp, execv, _exit) on memory
    // made before the fork; it never returns into Rust code that could allocate or lock.
    let forked = unsafe { nix::unistd::fork() };
    if !matches!(forked, Ok(nix::unistd::ForkResult::Child)) {
        nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&before), None)?;
    }
    match forked? {
        nix::unistd::ForkResult::Child => {
            // SAFETY: as above; the fds are this child's copies.
            unsafe {
                // The tracer's stop-signal handlers are not for the command: a SIGTERM
                // before the exec must end it, as it would end the command.
                for sig in [nix::libc::SIGINT, nix::libc::SIGTERM, nix::libc::SIGHUP, nix::libc::SIGALRM] {
                    nix::libc::signal(sig, nix::libc::SIG_DFL);
                }
                nix::libc::close(go_write.as_raw_fd());
                nix::libc::close(error_read.as_raw_fd());
                let mut byte = 0u8;
                let got = nix::libc::read(go_read.as_raw_fd(), (&raw mut byte).cast(), 1);
                if got != 1 {
                    nix::libc::_exit(127);
                }
                // The state std's Command gives a child: Rust ignores SIGPIPE, and an
                // ignored signal stays ignored across exec. Then no signal blocked (a signal
                // that came since the fork is delivered now, with the default action).
                nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
                let mut empty = std::mem::MaybeUninit::<nix::libc::sigset_t>::zeroed();
                nix::libc::sigemptyset(empty.as_mut_ptr());
                nix::libc::sigprocmask(nix::libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
                if let Some(program) = filter
                    && seccompiler::apply_filter(program).is_err()
                {
                    let errno = *nix::libc::__errno_location();
                    nix::libc::write(error_write.as_raw_fd(), (&raw const errno).cast(), 4);
                    nix::libc::_exit(127);
                }
                nix::libc::execv(path.as_ptr(), pointers.as_ptr());
                let errno = *nix::libc::__errno_location();
                nix::libc::write(error_write.as_raw_fd(), (&raw const errno).cast(), 4);
                nix::libc::_exit(127)
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(go_read);
            drop(error_write);
            Ok(Held { pid: child, go: go_write, exec_error: error_read })
        }
    }
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

/// The TCP state of a socket (tcp_info's first byte, `tcpi_state`: 2 is SYN_SENT), read
/// without changing it (unlike SO_ERROR, which a read clears). None if not TCP.
pub fn tcp_state(fd: std::os::fd::BorrowedFd<'_>) -> Option<u8> {
    let mut state = 0u8;
    let mut len: nix::libc::socklen_t = 1;
    // SAFETY: the kernel writes at most `len` (1) bytes into `state` and updates `len`.
    let res = unsafe {
        nix::libc::getsockopt(
            fd.as_raw_fd(),
            nix::libc::IPPROTO_TCP,
            nix::libc::TCP_INFO,
            (&raw mut state).cast(),
            &raw mut len,
        )
    };
    (res == 0 && len == 1).then_some(state)
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
