//! A trace's lines as strace writes them — `[pid N] 12:00:01.000123 connect(3<TCP:[…]>, …)
//! = 0 <0.000041>`, `--- SIGPIPE {…} ---`, `+++ exited with 0 +++` — or JSON lines, and
//! the `-c` table.

use serde::Serialize;
use sockscope_trace::Event;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};

/// How lines are prefixed and what is left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// 0 none, 1 `-t`, 2 `-tt`, 3+ `-ttt`.
    pub timestamps: u8,
    /// `-r`: the time since the previous line.
    pub relative: bool,
    /// `-T`: the time spent in each call.
    pub durations: bool,
    /// 1: no attach/detach notes; 2: no process-end lines either.
    pub quiet: u8,
    pub jsonl: bool,
}

/// Writes events one by one, remembering what strace's layout depends on: how many threads
/// are being traced (with more than one, each line names its thread) and the previous
/// line's time (for `-r`).
pub struct Printer {
    style: Style,
    /// The threads seen and not yet ended.
    tids: HashSet<i32>,
    /// Every line is prefixed (several processes attached with -p).
    always_prefix: bool,
    previous: Option<f64>,
}

impl Printer {
    /// `several`: more than one process from the start (`-p A,B`), so every line is
    /// prefixed from the first.
    pub fn new(style: Style, several: bool) -> Printer {
        Printer { style, tids: HashSet::new(), always_prefix: several, previous: None }
    }

    pub fn write(&mut self, out: &mut dyn Write, event: &Event) -> io::Result<()> {
        self.tids.insert(event.tid());
        let prefixed = self.always_prefix || self.tids.len() > 1;
        if matches!(event, Event::Exited { .. } | Event::Killed { .. } | Event::Detached { .. }) {
            self.tids.remove(&event.tid());
        }
        if self.style.jsonl {
            serde_json::to_writer(&mut *out, event).map_err(io::Error::from)?;
            return out.write_all(b"\n");
        }
        let mut prefix = String::new();
        if prefixed {
            prefix.push_str(&format!("[pid {:>5}] ", event.tid()));
        }
        let time = event.time();
        if self.style.relative {
            let since = self.previous.map_or(0.0, |p| (time - p).max(0.0));
            prefix.push_str(&format!("{since:>13.6} "));
        }
        if self.style.timestamps > 0 {
            prefix.push_str(&super::time_of_day(time, self.style.timestamps));
            prefix.push(' ');
        }
        let text = match event {
            Event::Call(c) if self.style.durations => format!("{} <{:.6}>", c.line(prefix.chars().count()), c.duration),
            Event::Call(c) => c.line(prefix.chars().count()),
            Event::Signal { signal, info, .. } => format!("--- {signal} {info} ---"),
            Event::Exited { code, .. } if self.style.quiet < 2 => format!("+++ exited with {code} +++"),
            Event::Killed { signal, core_dumped, .. } if self.style.quiet < 2 => {
                format!("+++ killed by {signal}{} +++", if *core_dumped { " (core dumped)" } else { "" })
            }
            Event::Attached { pid, .. } if self.style.quiet == 0 => {
                return writeln!(out, "sockscope: process {pid} attached");
            }
            Event::Detached { pid, .. } if self.style.quiet == 0 => {
                return writeln!(out, "sockscope: process {pid} detached");
            }
            _ => return Ok(()),
        };
        self.previous = Some(time);
        // Arguments are escaped when decoded; the guard on the way out catches the rest.
        writeln!(out, "{prefix}{text}")
    }
}

/// One row of the `-c` table.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Row {
    pub syscall: String,
    pub calls: u64,
    pub errors: u64,
    /// Wall-clock seconds from entry to exit, summed.
    pub seconds: f64,
}

/// The `-c` counts, per syscall.
#[derive(Default)]
pub struct Summary {
    rows: BTreeMap<&'static str, Row>,
}

impl Summary {
    pub fn add(&mut self, event: &Event) {
        if let Event::Call(c) = event {
            let row =
                self.rows.entry(c.syscall).or_insert_with(|| Row { syscall: c.syscall.to_string(), ..Row::default() });
            row.calls += 1;
            row.errors += u64::from(c.errno.is_some());
            row.seconds += c.duration;
        }
    }

    /// Busiest first, as strace sorts.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self.rows.values().cloned().collect();
        rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(b.calls.cmp(&a.calls)));
        rows
    }

    /// strace -c's table (its `-w` flavour: wall-clock time in each call).
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows = self.rows();
        let total: f64 = rows.iter().map(|r| r.seconds).sum();
        let rule = "------ ----------- ----------- --------- --------- ----------------";
        writeln!(out, "% time     seconds  usecs/call     calls    errors syscall")?;
        writeln!(out, "{rule}")?;
        let line = |out: &mut dyn Write, share: f64, seconds: f64, calls: u64, errors: u64, name: &str| {
            let per_call = if calls == 0 { 0 } else { (seconds * 1e6 / calls as f64).round() as u64 };
            let errors = if errors == 0 { String::new() } else { errors.to_string() };
            writeln!(out, "{share:>6.2} {seconds:>11.6} {per_call:>11} {calls:>9} {errors:>9} {name}")
        };
        for r in &rows {
            let share = if total > 0.0 { r.seconds * 100.0 / total } else { 0.0 };
            line(out, share, r.seconds, r.calls, r.errors, &r.syscall)?;
        }
        writeln!(out, "{rule}")?;
        let (calls, errors) = rows.iter().fold((0, 0), |(c, e), r| (c + r.calls, e + r.errors));
        line(out, 100.0, total, calls, errors, "total")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_as_strace() {
        assert_eq!(crate::render::time_of_day(1_700_000_000.000_123, 3), "1700000000.000123");
        let tt = crate::render::time_of_day(1_700_000_000.5, 2);
        assert!(tt.ends_with(".500000") && tt.len() == 15, "{tt}");
        assert_eq!(crate::render::time_of_day(1_700_000_000.5, 1).len(), 8);
    }
}
