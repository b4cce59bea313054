//! What the tracer reports: calls, signals, and the processes' comings and goings.

use crate::fds::FdInfo;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Call(Box<Call>),
    /// A signal about to be delivered to the tracee (`--- SIGPIPE {…} ---`).
    Signal {
        pid: i32,
        tid: i32,
        time: f64,
        signal: String,
        info: String,
    },
    Exited {
        pid: i32,
        tid: i32,
        time: f64,
        code: i32,
    },
    Killed {
        pid: i32,
        tid: i32,
        time: f64,
        signal: String,
        core_dumped: bool,
    },
    /// A thread attached with `-p`.
    Attached {
        pid: i32,
        time: f64,
    },
    /// A thread let go (`-p`, on a stop signal or a closed output).
    Detached {
        pid: i32,
        time: f64,
    },
}

impl Event {
    /// The thread the event is about (strace's `[pid N]`).
    pub fn tid(&self) -> i32 {
        match self {
            Event::Call(c) => c.tid,
            Event::Signal { tid, .. } | Event::Exited { tid, .. } | Event::Killed { tid, .. } => *tid,
            Event::Attached { pid, .. } | Event::Detached { pid, .. } => *pid,
        }
    }

    /// When it happened (seconds since the epoch; a call's start).
    pub fn time(&self) -> f64 {
        match self {
            Event::Call(c) => c.time,
            Event::Signal { time, .. }
            | Event::Exited { time, .. }
            | Event::Killed { time, .. }
            | Event::Attached { time, .. }
            | Event::Detached { time, .. } => *time,
        }
    }
}

/// One system call, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// The process (thread group).
    pub pid: i32,
    /// The thread that made the call.
    pub tid: i32,
    /// When it started, in seconds since the epoch.
    pub time: f64,
    pub syscall: &'static str,
    #[serde(skip)]
    pub nr: u64,
    /// The arguments as strace writes them, one string each (fds annotated).
    pub args: Vec<String>,
    /// The return value; null for a call that never returned (`exit_group`).
    pub ret: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// What the first argument's fd was when the call started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd: Option<FdInfo>,
    /// What the returned fd is (socket, accept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ret_fd: Option<FdInfo>,
    /// Seconds from its start to its end, as the tracer saw them.
    pub duration: f64,
    /// `3`, `-1 ECONNREFUSED (Connection refused)`, `3<TCP:[…]>`, `?`.
    #[serde(skip)]
    pub result: String,
}

impl Call {
    /// strace's line, without prefix or timing: `connect(3, {…}, 16) = 0`, the result
    /// aligned at column 40 (after `prefix_width` columns of prefix) as strace aligns it.
    pub fn line(&self, prefix_width: usize) -> String {
        let mut line = format!("{}({}) ", self.syscall, self.args.join(", "));
        let width = prefix_width + line.chars().count();
        if width < 40 {
            line.extend(std::iter::repeat_n(' ', 40 - width));
        }
        line.push_str("= ");
        line.push_str(&self.result);
        line
    }

    /// The connection of the call's fd (the first argument's, else the returned one).
    pub fn connection(&self) -> Option<&crate::fds::Connection> {
        self.fd.as_ref().and_then(FdInfo::socket).or_else(|| self.ret_fd.as_ref().and_then(FdInfo::socket))
    }
}
