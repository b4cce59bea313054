//! `who` output: who holds a port, a Unix socket or a file, as tables and JSON.

use super::digits::push_u64;
use super::envelope::{CaptureInfo, Envelope, Kind};
use super::fds::socket_line;
use super::names::user_text;
use super::table::{Align, Column, Table};
use crate::escape::escape;
use serde::Serialize;
use sockscope_core::names::Users;
use sockscope_core::who::{Report, Target};
use std::fmt::Write as _;
use std::io::{self, Write};

/// `capture`: the capture the answer is from.
pub fn write(
    out: &mut impl Write,
    target: &Target,
    r: &Report,
    as_json: bool,
    capture: Option<&CaptureInfo>,
) -> io::Result<()> {
    if as_json {
        #[derive(Serialize)]
        struct Data<'a> {
            target: &'a Target,
            found: bool,
            #[serde(flatten)]
            report: &'a Report,
        }
        return Envelope::new(Kind::Who, &[], capture, Data { target, found: r.found(), report: r }).write(out);
    }
    let mut users = Users::new();
    if !r.sockets.is_empty() {
        // Several namespaces read: a first column names each socket's.
        let netns = r.sockets.iter().any(|h| h.namespace.is_some());
        let mut columns = Vec::with_capacity(6);
        if netns {
            columns.push(Column::new("NETNS", Align::Left));
        }
        columns.extend([
            Column::new("COMMAND", Align::Left),
            Column::new("PID", Align::Right),
            Column::new("USER", Align::Left),
            Column::new("FD", Align::Right),
            Column::new("PROTO", Align::Left),
        ]);
        let mut t = Table::new(columns);
        for h in &r.sockets {
            let mut line = socket_line(&h.socket);
            // Listeners show the options that decide restarts and sharing.
            if let Some(o) = h.sockopts.as_ref().filter(|_| h.socket.state == sockscope_core::SockState::Listen) {
                let _ = write!(line, " {}", o.text());
            }
            let place = h.namespace.as_deref().map(escape);
            if h.holders.is_empty() {
                if let Some(p) = &place {
                    t.cell_str(p);
                }
                // TIME-WAIT and not-yet-accepted sockets belong to no process.
                for c in ["-", "-", "-", "-"] {
                    t.cell_str(c);
                }
                t.cell_str(h.socket.netid.ss_name());
                t.cell_str(&line);
            }
            for o in &h.holders {
                if let Some(p) = &place {
                    t.cell_str(p);
                }
                t.cell_str(&escape(&o.command));
                t.cell(|a| push_u64(a, o.pid.into()));
                t.cell_str(&user_text(&mut users, o.uid));
                t.cell(|a| {
                    let _ = write!(a, "{}", o.fd);
                });
                t.cell_str(h.socket.netid.ss_name());
                t.cell_str(&line);
            }
        }
        t.write(out, true, Some("SOCKET"), None)?;
    }
    if !r.files.is_empty() {
        let mut t = Table::new(vec![
            Column::new("COMMAND", Align::Left),
            Column::new("PID", Align::Right),
            Column::new("USER", Align::Left),
        ]);
        for h in &r.files {
            t.cell_str(&escape(&h.command));
            t.cell(|a| push_u64(a, h.pid.into()));
            t.cell_str(&user_text(&mut users, h.uid));
            t.cell(|a| {
                let _ = write!(a, "{}", h.fd);
            });
        }
        t.write(out, true, Some("FD"), None)?;
    }
    for n in &r.notes {
        writeln!(out, "{}{n}", if r.found() { "\n" } else { "" })?;
    }
    Ok(())
}
