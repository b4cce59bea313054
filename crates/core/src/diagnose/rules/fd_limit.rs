//! fd-limit: processes near RLIMIT_NOFILE, processes left on the 1024 default while holding
//! many sockets, and the system file table near fs.file-max.

use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, ProcessRef, Severity};

const FIX: &str = "Raise the limit where the process starts: LimitNOFILE=65536 in its systemd unit, `ulimit -n 65536` in its start script, or nofile in /etc/security/limits.conf; and check for fd leaks";

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "fd-limit";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "processes (and the host) near their fd limit";

limits! {
    /// Open fds / soft RLIMIT_NOFILE.
    fd_warn: f64 = 0.80,
    fd_crit: f64 = 0.95,
    /// Sockets held by a process still on the default soft limit of 1024.
    fd_default_limit_sockets: u64 = 256,
    /// System file handles / fs.file-max.
    files_warn: f64 = 0.80,
    files_crit: f64 = 0.95,
}

pub fn check(o: &Observation, t: &Limits) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &o.processes {
        let pref = ProcessRef { pid: p.pid, command: p.command.clone() };
        if let Some(soft) = p.soft.filter(|s| *s > 0) {
            let ratio = p.open as f64 / soft as f64;
            if let Some(severity) = Severity::of_ratio(ratio, t.fd_warn, t.fd_crit) {
                let mut f = Finding::new(
                    ID,
                    severity,
                    format!("{} (pid {}) has {} of {} fds open ({:.0}% of its soft RLIMIT_NOFILE)", crate::text::Untrusted(&p.command), p.pid, p.open, soft, ratio * 100.0),
                    "Every fd (socket, file, pipe, epoll…) counts against RLIMIT_NOFILE; at the limit socket(), accept() and open() fail with EMFILE, \"Too many open files\".",
                    format!("{FIX}: sockscope fds {} --top.", p.pid),
                )
                .int("open", p.open)
                .int("soft_limit", soft)
                .ratio("usage", ratio);
                if let Some(h) = p.hard {
                    f = f.int("hard_limit", h);
                }
                f.processes.push(pref.clone());
                out.push(f);
                continue;
            }
            if soft == 1024 && p.sockets >= t.fd_default_limit_sockets {
                let mut f = Finding::new(
                    ID,
                    Severity::Warn,
                    format!(
                        "{} (pid {}) holds {} sockets but still runs with the default soft limit of 1024 fds",
                        p.command, p.pid, p.sockets
                    ),
                    "1024 is the historical default: a server that reaches it stops accepting connections with EMFILE.",
                    format!("{FIX}."),
                )
                .int("sockets", p.sockets)
                .int("open", p.open)
                .int("soft_limit", soft);
                f.processes.push(pref);
                out.push(f);
            }
        }
    }
    let (allocated, max) = o.sys.files;
    if max > 0 {
        let ratio = allocated as f64 / max as f64;
        if let Some(severity) = Severity::of_ratio(ratio, t.files_warn, t.files_crit) {
            out.push(
                Finding::new(
                    ID,
                    severity,
                    format!("the system has {allocated} of fs.file-max {max} file handles allocated"),
                    "fs.file-max caps open files on the whole host; at the limit every process's open() and socket() fail with ENFILE.",
                    "Raise it (sysctl -w fs.file-max=N, and in /etc/sysctl.d) and find the processes holding most fds: sockscope fds --top.".to_string(),
                )
                .int("allocated", allocated)
                .int("file_max", max)
                .ratio("usage", ratio),
            );
        }
    }
    out
}
