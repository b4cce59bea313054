//! The tracer: follows the tracees from stop to stop, turns the calls of the chosen set into
//! events, and leaves the tracees as it found them when it stops (detached if attached,
//! signalled as strace does if it started them).

use crate::args::{self, Ctx};
use crate::event::{Call, Event};
use crate::fds::{FdInfo, FdTable};
use crate::sys::{self, SyscallStop};
use crate::syscalls;
use crate::{Options, TraceError};
use nix::sys::ptrace::{self, Options as PtraceOptions};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::time::{Instant, SystemTime};

/// A call stopped at its start, waiting for its end.
struct Pending {
    nr: u64,
    name: &'static str,
    args: [u64; 6],
    /// With seccomp: whether a syscall-entry stop after the seccomp stop has passed (the
    /// kernel reports one when resumed with PTRACE_SYSCALL).
    entered: bool,
    started: Instant,
    time: SystemTime,
    fd0: Option<FdInfo>,
    /// The first argument's fd has a cached connection, to be confirmed (its inode read)
    /// once the tracee runs again: that check need not hold the tracee up.
    fd0_cached: bool,
    len_in: Option<i32>,
    /// recvmmsg: each message's msg_namelen at entry.
    names_in: Vec<u32>,
}

#[derive(Default)]
struct Tracee {
    /// The process (thread group) of this thread.
    tgid: i32,
    pending: Option<Pending>,
}

/// How the tracer got its tracees, which decides how it lets them go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Started by sockscope (seized before its exec), with the seccomp filter if `seccomp`.
    Started { seccomp: bool },
    /// Attached with PTRACE_SEIZE (`-p`): never killed, detached at the end.
    Attached,
}

pub struct Tracer<'a, R: FnMut(&Event) -> bool> {
    opts: &'a Options,
    mode: Mode,
    report: R,
    /// False once the output failed (a closed pipe): the tracer then lets go of the tracees.
    output_ok: bool,
    tracees: HashMap<Pid, Tracee>,
    fds: FdTable,
    root: Option<Pid>,
    /// The started command has exec'd: before that, the root is a copy of sockscope
    /// waiting to become it, whose end (a failed exec) is not the command's.
    root_execd: bool,
    status: i32,
}

impl<'a, R: FnMut(&Event) -> bool> Tracer<'a, R> {
    pub fn new(opts: &'a Options, mode: Mode, report: R) -> Self {
        Tracer {
            opts,
            mode,
            report,
            output_ok: true,
            tracees: HashMap::new(),
            fds: FdTable::default(),
            root: None,
            root_execd: false,
            status: 0,
        }
    }

    /// The ptrace options for every tracee.
    pub fn ptrace_options(&self) -> PtraceOptions {
        let mut options = PtraceOptions::PTRACE_O_TRACESYSGOOD | PtraceOptions::PTRACE_O_TRACEEXEC;
        if self.seccomp() {
            // A command with the filter dies with the tracer: without it, each call the
            // filter names would fail (ENOSYS). Without the filter (no -f), a command whose
            // tracer is killed runs on untraced, as under strace; an attached one always.
            options |= PtraceOptions::PTRACE_O_TRACESECCOMP | PtraceOptions::PTRACE_O_EXITKILL;
        }
        if self.opts.follow {
            options |= PtraceOptions::PTRACE_O_TRACEFORK
                | PtraceOptions::PTRACE_O_TRACEVFORK
                | PtraceOptions::PTRACE_O_TRACECLONE;
        }
        options
    }

    /// The started command, stopped at its exec: its exit status becomes the trace's.
    pub fn set_root(&mut self, pid: Pid) {
        self.root = Some(pid);
        self.add(pid);
    }

    /// A tracee the tracer already holds (attached, or the started command).
    pub fn add(&mut self, pid: Pid) {
        let tgid = tgid_of(pid);
        self.tracees.insert(pid, Tracee { tgid, pending: None });
    }

    /// A thread just seized (`-p`).
    pub fn attached(&mut self, pid: Pid) {
        self.add(pid);
        let time = epoch_seconds(SystemTime::now());
        self.emit(&Event::Attached { pid: pid.as_raw(), time });
    }

    fn seccomp(&self) -> bool {
        matches!(self.mode, Mode::Started { seccomp: true })
    }

    /// Lets `pid` run to its next stop of interest: with seccomp, the next call of the set
    /// (unless a call is under way, whose end must be seen); otherwise the next call.
    fn resume(&self, pid: Pid, sig: Option<Signal>) {
        let in_call = self.tracees.get(&pid).is_some_and(|t| t.pending.is_some());
        let _ = if self.seccomp() && !in_call { ptrace::cont(pid, sig) } else { ptrace::syscall(pid, sig) };
    }

    fn emit(&mut self, event: &Event) {
        if self.output_ok && !(self.report)(event) {
            self.output_ok = false;
        }
    }

    /// Runs until every tracee is gone, or a stop signal or a failed output ends the trace.
    /// Returns the started command's exit status (0 when attached).
    pub fn run(mut self) -> Result<i32, TraceError> {
        let mut forwarded = false;
        loop {
            let stop = sys::stop_signal().or((!self.output_ok).then_some(Signal::SIGPIPE));
            if let Some(sig) = stop {
                match self.mode {
                    Mode::Attached => return self.detach_all(),
                    // A started command gets the signal, as from strace, and the tracer
                    // follows it to its end (with the filter, it would fail its traced
                    // calls without its tracer). A failed output just goes quiet.
                    Mode::Started { .. } if sig != Signal::SIGPIPE && !forwarded => {
                        forwarded = true;
                        let tgids: std::collections::BTreeSet<i32> = self.tracees.values().map(|t| t.tgid).collect();
                        for tgid in tgids {
                            let _ = nix::sys::signal::kill(Pid::from_raw(tgid), sig);
                        }
                    }
                    Mode::Started { .. } => {}
                }
            }
            let ws = match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(ws) => ws,
                Err(nix::errno::Errno::ECHILD) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(TraceError::Ptrace(e)),
            };
            self.handle(ws);
            if self.tracees.is_empty() && self.mode == Mode::Attached {
                break;
            }
        }
        Ok(self.status)
    }

    fn handle(&mut self, ws: WaitStatus) {
        match ws {
            WaitStatus::PtraceSyscall(pid) => self.syscall_stop(pid),
            WaitStatus::PtraceEvent(pid, _, event) if event == nix::libc::PTRACE_EVENT_SECCOMP => {
                self.syscall_stop(pid);
            }
            WaitStatus::PtraceEvent(pid, sig, event) if event == nix::libc::PTRACE_EVENT_STOP => {
                self.known(pid);
                // A seized tracee's group stop (it got SIGSTOP or the like): leave it
                // stopped, as it would be untraced. Otherwise our interrupt or a new
                // child's first stop.
                if matches!(sig, Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU) {
                    let _ = sys::listen(pid);
                } else {
                    self.resume(pid, None);
                }
            }
            WaitStatus::PtraceEvent(pid, _, event) if event == nix::libc::PTRACE_EVENT_EXEC => {
                // A thread other than the leader that execs takes the leader's pid.
                let former = ptrace::getevent(pid).ok().and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw);
                if let Some(former) = former.filter(|f| *f != pid)
                    && let Some(t) = self.tracees.remove(&former)
                {
                    self.tracees.insert(pid, t);
                }
                let tgid = self.known(pid);
                self.root_execd |= Some(pid) == self.root;
                self.fds.forget_process(tgid, false);
                self.resume(pid, None);
            }
            WaitStatus::PtraceEvent(pid, _, _) => {
                self.known(pid);
                self.resume(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                let new = !self.tracees.contains_key(&pid);
                self.known(pid);
                let info = sys::signal_info(pid);
                if new && sig == Signal::SIGSTOP {
                    // A followed child's first stop is a SIGSTOP of ptrace's own: swallowed.
                    self.resume(pid, None);
                } else if matches!(info, Err(nix::errno::Errno::EINVAL)) {
                    // A group stop (no siginfo): the signal was delivered already. A tracee
                    // not seized cannot be left stopped and still traced; it goes on, as
                    // under strace.
                    self.resume(pid, None);
                } else {
                    // The tracee's signal: shown, then delivered.
                    self.signal(pid, sig, info.ok());
                    self.resume(pid, Some(sig));
                }
            }
            WaitStatus::Exited(pid, code) => {
                self.ended(pid, false, |pid, tid, time| Event::Exited { pid, tid, time, code });
                if Some(pid) == self.root {
                    self.status = code;
                }
            }
            WaitStatus::Signaled(pid, sig, core) => {
                let signal = sig.as_str().to_string();
                // Killed before its exec, the command was killed: said, as strace says it.
                self.ended(pid, true, |pid, tid, time| Event::Killed { pid, tid, time, signal, core_dumped: core });
                if Some(pid) == self.root {
                    self.status = 128 + sig as i32;
                }
            }
            _ => {}
        }
    }

    /// The tracee's entry, made on first sight (a followed child may stop before its
    /// parent's fork event arrives). Returns its process id.
    fn known(&mut self, pid: Pid) -> i32 {
        self.tracees.entry(pid).or_insert_with(|| Tracee { tgid: tgid_of(pid), pending: None }).tgid
    }

    /// `before_exec_too`: said even for the started command's copy before its exec (whose
    /// exit is a failed exec, said as an error instead).
    fn ended(&mut self, pid: Pid, before_exec_too: bool, event: impl FnOnce(i32, i32, f64) -> Event) {
        let tgid = self.known(pid);
        // A call that never returned (exit_group, a call interrupted by a fatal signal).
        if let Some(p) = self.tracees.get_mut(&pid).and_then(|t| t.pending.take()) {
            let call = self.call(pid, tgid, p, None, false);
            self.emit(&Event::Call(Box::new(call)));
        }
        self.tracees.remove(&pid);
        let now = epoch_seconds(SystemTime::now());
        if before_exec_too || Some(pid) != self.root || self.root_execd {
            self.emit(&event(tgid, pid.as_raw(), now));
        }
        if !self.tracees.values().any(|t| t.tgid == tgid) {
            self.fds.forget_process(tgid, true);
        }
    }

    fn signal(&mut self, pid: Pid, sig: Signal, info: Option<sys::SigInfo>) {
        let tgid = self.known(pid);
        let info = info.map(|si| crate::decode::siginfo(&si)).unwrap_or_default();
        let time = epoch_seconds(SystemTime::now());
        self.emit(&Event::Signal { pid: tgid, tid: pid.as_raw(), time, signal: sig.as_str().to_string(), info });
    }

    fn syscall_stop(&mut self, pid: Pid) {
        let tgid = self.known(pid);
        let info = sys::syscall_info(pid).unwrap_or(SyscallStop::None);
        let has_pending = self.tracees.get(&pid).is_some_and(|t| t.pending.is_some());
        match info {
            SyscallStop::Seccomp { nr, args } => {
                let p = self.start(tgid, nr, args, false);
                let _ = ptrace::syscall(pid, None);
                let p = p.map(|p| self.confirm_fd0(tgid, p));
                self.set_pending(pid, p);
            }
            SyscallStop::Entry { .. } if self.seccomp() && has_pending => {
                if let Some(p) = self.tracees.get_mut(&pid).and_then(|t| t.pending.as_mut()) {
                    p.entered = true;
                }
                let _ = ptrace::syscall(pid, None);
            }
            SyscallStop::Entry { nr, args } => {
                let p = if self.opts.set.contains(&nr) { self.start(tgid, nr, args, true) } else { None };
                let _ = ptrace::syscall(pid, None);
                let p = p.map(|p| self.confirm_fd0(tgid, p));
                self.set_pending(pid, p);
            }
            SyscallStop::Exit { ret } => {
                let p = self.tracees.get_mut(&pid).and_then(|t| t.pending.take());
                match p {
                    Some(p) => {
                        let call = self.call(pid, tgid, p, Some(ret), true);
                        self.emit(&Event::Call(Box::new(call)));
                    }
                    None => self.resume(pid, None),
                }
            }
            SyscallStop::None => self.resume(pid, None),
        }
    }

    fn set_pending(&mut self, pid: Pid, p: Option<Pending>) {
        if let Some(t) = self.tracees.get_mut(&pid) {
            t.pending = p;
        }
    }

    /// A call of the set at its start; None when `--sockets-only` hides it (a `%desc` call
    /// on an fd that is not a socket).
    fn start(&mut self, tgid: i32, nr: u64, args: [u64; 6], entered: bool) -> Option<Pending> {
        let name = syscalls::name(nr).unwrap_or("syscall");
        let fd = i64::from(args[0] as i32);
        let wants_fd0 = args::fd_first(name) && (self.opts.annotate || self.opts.sockets_only);
        // A socket seen before is confirmed after the tracee is resumed (confirm_fd0); any
        // other fd is looked at now, before the call can change it. A close is always looked
        // at now: once it has run, the number may already be another thread's new socket.
        let fd0_cached = wants_fd0 && name != "close" && self.fds.is_cached(tgid, fd);
        let fd0 = if wants_fd0 && !fd0_cached { self.fds.info(tgid, fd) } else { None };
        if self.opts.sockets_only
            && syscalls::takes_fd_first(nr)
            && !fd0_cached
            && fd0.as_ref().is_none_or(|i| i.socket().is_none())
        {
            return None;
        }
        // recvmsg's in/out length is msg_namelen, 8 bytes into its msghdr.
        let len_at =
            if name == "recvmsg" { Some(args[1].wrapping_add(8)) } else { args::len_arg(name).map(|i| args[i]) };
        let len_in = len_at.and_then(|at| {
            crate::decode::read_mem(Pid::from_raw(tgid), at, 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes)
        });
        let names_in = if name == "recvmmsg" { self.names_in(tgid, args[1], args[2]) } else { Vec::new() };
        let fd0 = fd0.filter(|_| self.opts.annotate);
        Some(Pending {
            nr,
            name,
            args,
            entered,
            started: Instant::now(),
            time: SystemTime::now(),
            fd0,
            fd0_cached: fd0_cached && self.opts.annotate,
            len_in,
            names_in,
        })
    }

    /// The msg_namelen of each of recvmmsg's first messages (as many as are shown), read
    /// before the call fills them in.
    fn names_in(&self, tgid: i32, vector: u64, count: u64) -> Vec<u32> {
        let shown = u64::from(count as u32).min(self.opts.string_limit as u64);
        (0..shown)
            .map_while(|i| {
                let at = vector.wrapping_add(i * 64 + 8);
                crate::decode::read_mem(Pid::from_raw(tgid), at, 4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_ne_bytes)
            })
            .collect()
    }

    /// The cached connection of the call's fd, confirmed while the tracee runs: the inode
    /// check (a readlink) finds an fd that was closed and reused by calls not traced. The
    /// cache holds the state from before the call, since it is updated only at calls' ends.
    fn confirm_fd0(&mut self, tgid: i32, mut p: Pending) -> Pending {
        if p.fd0_cached {
            p.fd0 = self.fds.info(tgid, i64::from(p.args[0] as i32));
            p.fd0_cached = false;
        }
        p
    }

    /// The call, decoded, at its end (`ret` None: it never returned). With `resume`, the
    /// tracee is let go once its memory has been read, and the rest (the returned fd's
    /// connection, the formatting) is done while it runs.
    fn call(&mut self, pid: Pid, tgid: i32, p: Pending, ret: Option<i64>, resume: bool) -> Call {
        let duration = p.started.elapsed().as_secs_f64();
        let a = p.args;
        let name = p.name;
        let annotate = self.opts.annotate;
        let fds = &mut self.fds;
        let mut fd_text = |fd: i64| match fds.info(tgid, fd).filter(|_| annotate) {
            Some(info) => info.annotate(fd),
            None => fd.to_string(),
        };
        let mut ctx = Ctx {
            pid,
            string_limit: self.opts.string_limit,
            fd_text: &mut fd_text,
            fd0: p.fd0.as_ref().map(|i| i.annotate(i64::from(a[0] as i32))),
            len_in: p.len_in,
            names_in: p.names_in,
        };
        let args = args::describe(name, a, ret, &mut ctx);
        // Read before resuming: the sockaddr of a connect still in progress.
        let in_progress = ret == Some(-i64::from(nix::libc::EINPROGRESS));
        let connected_to = if name == "connect" && (ret == Some(0) || in_progress) {
            crate::decode::inet_sockaddr(pid, a[1], a[2])
        } else {
            None
        };
        if resume {
            self.resume(pid, None);
        }
        let ok = ret.is_some_and(|r| r >= 0);
        let ret_fd = match (name, ret) {
            ("socket", Some(r)) if ok && annotate => self.fds.created(tgid, r, a[0], a[1], a[2]),
            ("accept" | "accept4", Some(r)) if ok && annotate => self.fds.accepted(tgid, i64::from(a[0] as i32), r),
            _ => None,
        };
        // Calls after which the fd's addresses may differ: look again next time.
        if let Some(remote) = connected_to {
            self.fds.connected(tgid, i64::from(a[0] as i32), remote);
            if in_progress && let Some(conn) = p.fd0.as_ref().and_then(FdInfo::socket) {
                self.fds.connecting(tgid, i64::from(a[0] as i32), conn.inode, remote);
            }
        }
        let fd = i64::from(a[0] as i32);
        match name {
            "bind" | "listen" | "close" if ok || in_progress => self.fds.changed(tgid, fd),
            // A datagram socket is bound (autobind) before its connect or send can fail.
            "connect" => self.fds.changed(tgid, fd),
            "sendto" | "sendmsg" | "sendmmsg" => self.fds.sent(tgid, fd),
            _ => {}
        }
        let (result, errno) = match ret {
            Some(r) => crate::decode::result(r),
            None => ("?".to_string(), None),
        };
        let result = match &ret_fd {
            Some(info) => info.annotate(ret.unwrap_or(0)),
            None => result,
        };
        Call {
            pid: tgid,
            tid: pid.as_raw(),
            time: epoch_seconds(p.time),
            syscall: name,
            nr: p.nr,
            args,
            ret,
            errno,
            fd: p.fd0,
            ret_fd,
            duration,
            result,
        }
    }

    /// Lets go of every tracee (`-p` on a stop signal or a failed output): each is
    /// interrupted, then detached at its stop with the signal it was about to get, so it
    /// runs on as if never traced.
    pub fn detach_all(mut self) -> Result<i32, TraceError> {
        for pid in self.tracees.keys() {
            let _ = ptrace::interrupt(*pid);
        }
        while !self.tracees.is_empty() {
            let ws = match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(ws) => ws,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            };
            let Some(pid) = ws.pid() else { continue };
            let pending_signal = match ws {
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                    self.tracees.remove(&pid);
                    continue;
                }
                WaitStatus::Stopped(_, sig) if self.tracees.contains_key(&pid) => Some(sig),
                _ => None,
            };
            if !self.tracees.contains_key(&pid) {
                // A child forked just now: it stops once, then is let go too.
                let _ = ptrace::detach(pid, None);
                continue;
            }
            match ptrace::detach(pid, pending_signal) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {
                    self.tracees.remove(&pid);
                    let time = epoch_seconds(SystemTime::now());
                    self.emit(&Event::Detached { pid: pid.as_raw(), time });
                }
                Err(_) => {
                    self.tracees.remove(&pid);
                }
            }
        }
        Ok(0)
    }
}

/// The process a thread belongs to (its Tgid), or the thread itself if /proc has no answer.
pub fn tgid_of(pid: Pid) -> i32 {
    let status = u32::try_from(pid.as_raw()).map(|p| sockscope_core::process::Processes::default().status(p));
    status
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Tgid:").and_then(|v| v.trim().parse().ok())))
        .unwrap_or(pid.as_raw())
}

pub fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
