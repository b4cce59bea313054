//! A trace's lines: strace's `name(args) = result`, `+++ exited with N +++`, with `[pid N]`
//! when following children; or JSON lines.

use sockscope_trace::Event;
use std::io::{self, Write};

/// The process an event is about.
pub fn pid_of(event: &Event) -> i32 {
    match event {
        Event::Call(c) => c.pid,
        Event::Exited { pid, .. } | Event::Killed { pid, .. } => *pid,
    }
}

/// One event; `prefixed`: with `[pid N]`, as strace once it traces several processes.
pub fn write(out: &mut dyn Write, event: &Event, prefixed: bool, jsonl: bool) -> io::Result<()> {
    if jsonl {
        serde_json::to_writer(&mut *out, event).map_err(io::Error::from)?;
        return out.write_all(b"\n");
    }
    let pid = pid_of(event);
    let text = match event {
        Event::Call(c) => c.line(),
        Event::Exited { code, .. } => format!("+++ exited with {code} +++"),
        Event::Killed { signal, .. } => format!("+++ killed by {signal} +++"),
    };
    if prefixed {
        write!(out, "[pid {pid:>5}] ")?;
    }
    // Arguments are escaped when decoded; the guard on the way out catches the rest.
    writeln!(out, "{text}")
}
