//! `fds` output: lsof-like tables, the limits table (`--top`), and JSON.

use super::digits::push_u64;
use super::envelope::{CaptureInfo, Envelope, Kind};
use super::names::user_text;
use super::table::{Align, Column, Table};
use crate::escape::escape;
use serde::Serialize;
use sockscope_core::fdview::{FdRow, FdView, ProcessFds};
use sockscope_core::model::{Endpoint, FdDetails, FdKind, Socket};
use sockscope_core::names::Users;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Peers shown per fd in the table; JSON has every holder once, in `shared`.
const PEERS_SHOWN: usize = 8;

/// ` peers: nginx(12)[3],nginx(13)[3]`, and how many more when there are many.
fn push_peers<'a>(name: &mut String, peers: impl Iterator<Item = sockscope_core::fdview::Peer<'a>>) {
    let mut n = 0;
    for peer in peers {
        if n < PEERS_SHOWN {
            let sep = if n == 0 { " peers: " } else { "," };
            let _ = write!(name, "{sep}{}({})[{}]", escape(peer.command), peer.pid, peer.fd);
        }
        n += 1;
    }
    if n > PEERS_SHOWN {
        let _ = write!(name, ",… {} more (--json lists them)", n - PEERS_SHOWN);
    }
}

/// The fd rows; with `limits`, the limits of a handful of processes and the system's file
/// handles after them.
pub fn table(out: &mut impl Write, view: &FdView, peers: bool, header: bool, limits: bool) -> io::Result<()> {
    let mut users = Users::new();
    let columns = || {
        vec![
            Column::new("COMMAND", Align::Left),
            Column::new("PID", Align::Right),
            Column::new("USER", Align::Left),
            Column::new("FD", Align::Right),
            Column::new("MODE", Align::Left),
            Column::new("TYPE", Align::Left),
            Column::new("FLAGS", Align::Left),
            Column::new("SIZE/OFF", Align::Right),
        ]
    };
    // Every fd of the host can be hundreds of thousands of rows: streamed in two passes
    // (widths, then rows) rather than kept as text.
    Table::stream(columns, out, header, Some("NAME"), None, |t, out| {
        for p in &view.processes {
            let command = escape(&p.command).into_owned();
            let owner = user_text(&mut users, p.uid);
            for row in p.fds.iter() {
                fd_row(t, p, &row, &command, &owner, peers.then_some(view));
            }
            t.drain(out)?;
        }
        Ok(())
    })?;
    if !limits {
        return Ok(());
    }
    // Limits for a handful of processes; `--top` ranks any number of them.
    if view.processes.len() <= 10 && !view.processes.is_empty() {
        writeln!(out)?;
        limits_table(out, &view.processes.iter().collect::<Vec<_>>(), &mut users)?;
    }
    system_line(out, view)
}

/// One fd's row; with `peers_from`, its peers after its name.
fn fd_row(t: &mut Table, p: &ProcessFds, row: &FdRow, command: &str, owner: &str, peers_from: Option<&FdView>) {
    t.cell_str(command);
    t.cell(|a| push_u64(a, p.pid.into()));
    t.cell_str(owner);
    t.cell(|a| {
        let _ = write!(a, "{}", row.entry.fd);
    });
    t.cell_str(row.entry.flags.as_ref().map_or("", |f| f.access()));
    t.cell_str(&kind(row));
    t.cell(|a| {
        if let Some(f) = &row.entry.flags {
            for (i, n) in f.names().iter().enumerate() {
                if i > 0 {
                    a.push(',');
                }
                a.push_str(n.trim_start_matches("O_"));
            }
        }
    });
    t.cell(|a| match (row.entry.size, row.entry.pos) {
        (Some(size), _) if row.entry.kind == FdKind::Regular => push_u64(a, size),
        (_, Some(pos)) => {
            a.push_str("0t");
            push_u64(a, pos);
        }
        _ => {}
    });
    let mut name = target(row);
    details(row, &mut name);
    if let Some(view) = peers_from {
        push_peers(&mut name, row.peers(p.pid, view));
    }
    t.cell_str(&name);
}

/// The TYPE column: the socket's table (tcp, u_str, …) for sockets, else the fd kind.
fn kind(row: &FdRow) -> String {
    match (&row.socket, row.protocol()) {
        (Some(s), _) => s.netid.ss_name().to_string(),
        (None, Some(p)) => protocol_name(p).to_string(),
        // Escaped: a capture's anonymous inode names are whatever its file says.
        _ => escape(row.entry.kind_name()).into_owned(),
    }
}

/// The kernel's protocol name (TCPv6, UDP, UNIX, NETLINK, …) in the words of the socket
/// table, where it has them: `tcp` for TCPv6 as for TCP (the address says the family).
fn protocol_name(kernel: &str) -> std::borrow::Cow<'_, str> {
    match kernel {
        "TCP" | "TCPv6" => "tcp".into(),
        "UDP" | "UDPv6" => "udp".into(),
        "UDP-Lite" | "UDPLITEv6" => "udplite".into(),
        "RAW" | "RAWv6" => "raw".into(),
        "UNIX" | "UNIX-STREAM" => "unix".into(),
        "NETLINK" => "nl".into(),
        "PACKET" => "packet".into(),
        other => escape(&other.to_ascii_lowercase()).into_owned().into(),
    }
}

/// The NAME column: a path, or the socket line (state, local -> peer).
fn target(row: &FdRow) -> String {
    match &row.socket {
        Some(s) => socket_line(s),
        // Straight from socket(): the kernel lists it nowhere.
        None if row.unbound() => "UNCONN (not bound, not connected)".to_string(),
        None if row.protocol().is_some() => format!("{} (in another network namespace)", escape(&row.entry.link())),
        None => escape(&row.entry.link()).into_owned(),
    }
}

pub fn socket_line(s: &Socket) -> String {
    let peerless = matches!(&s.peer, Endpoint::Inet { port: 0, .. } | Endpoint::None)
        || matches!(&s.peer, Endpoint::Unix { inode: 0, .. })
        || matches!(&s.peer, Endpoint::Netlink { port_id: 0, group: 0, .. });
    if peerless {
        format!("{} {}", s.state.ss_name(), s.end_text(&s.local))
    } else {
        format!("{} {} -> {}", s.state.ss_name(), s.end_text(&s.local), s.end_text(&s.peer))
    }
}

fn seconds(ns: u64) -> String {
    let s = format!("{:.3}", ns as f64 / 1e9);
    format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
}

fn details(row: &FdRow, out: &mut String) {
    if let Some(o) = row.sockopts {
        let _ = write!(out, " {}", if *o == Default::default() { "opts:(unknown)".to_string() } else { o.text() });
    }
    let Some(d) = &row.entry.details else { return };
    match &**d {
        FdDetails::Epoll { watches } => {
            let _ = write!(out, " watches {} fd{}", watches.len(), if watches.len() == 1 { "" } else { "s" });
            for (i, w) in watches.iter().enumerate() {
                let _ = write!(out, "{}{} {}", if i == 0 { ": " } else { ", " }, w.fd, w.event_names.join("|"));
            }
        }
        FdDetails::Eventfd { count, id, .. } => {
            let _ = write!(out, " count {count}");
            if let Some(id) = id {
                let _ = write!(out, ", id {id}");
            }
        }
        FdDetails::Timerfd { clock, ticks, next_expiry_ns, interval_ns, .. } => {
            let _ = write!(out, " {clock}");
            if *interval_ns > 0 {
                let _ = write!(out, ", every {}", seconds(*interval_ns));
            }
            if *next_expiry_ns > 0 {
                let _ = write!(out, ", next in {}", seconds(*next_expiry_ns));
            } else {
                out.push_str(", disarmed");
            }
            let _ = write!(out, ", ticks {ticks}");
        }
        FdDetails::Signalfd { signals, .. } => {
            let _ = write!(out, " signals {}", signals.join(","));
        }
        FdDetails::Inotify { watches } => {
            let _ = write!(out, " {} watch{}", watches.len(), if watches.len() == 1 { "" } else { "es" });
            for (i, w) in watches.iter().enumerate() {
                let _ = write!(
                    out,
                    "{}wd {} inode {} {}",
                    if i == 0 { ": " } else { ", " },
                    w.wd,
                    w.inode,
                    w.mask_names.join("|")
                );
            }
        }
        FdDetails::Pidfd { pid } => {
            let _ = write!(out, " pid {pid}");
        }
        _ => {}
    }
}

fn percent(p: &ProcessFds) -> String {
    p.usage().map_or("-".into(), |u| format!("{:.1}%", u * 100.0))
}

fn limit_text(v: Option<u64>) -> String {
    v.map_or("unlimited".into(), |v| v.to_string())
}

fn limits_table(out: &mut impl Write, procs: &[&ProcessFds], users: &mut Users) -> io::Result<()> {
    let mut t = Table::new(vec![
        Column::new("PID", Align::Right),
        Column::new("COMMAND", Align::Left),
        Column::new("USER", Align::Left),
        Column::new("FDS", Align::Right),
        Column::new("SOFT", Align::Right),
        Column::new("HARD", Align::Right),
        Column::new("USE", Align::Right),
    ]);
    for p in procs {
        t.cell_str(&p.pid.to_string());
        t.cell_str(&escape(&p.command));
        t.cell_str(&user_text(users, p.uid));
        t.cell_str(&p.open.to_string());
        t.cell_str(&limit_text(p.limit.soft));
        t.cell_str(&limit_text(p.limit.hard));
        t.cell_str(&percent(p));
        t.cell_str(&p.highest_fd.map_or(String::new(), |h| h.to_string()));
    }
    t.write(out, true, Some("HIGHEST"), None)
}

fn system_line(out: &mut impl Write, view: &FdView) -> io::Result<()> {
    if let Some(s) = view.system {
        writeln!(
            out,
            "system: {} file handles allocated of fs.file-max {}; fs.nr_open {}",
            s.allocated, s.max, s.nr_open
        )?;
    }
    Ok(())
}

/// `--top N`: processes by open fds / soft limit, highest first.
/// `capture` (JSON): the capture the view is from.
pub fn top(
    out: &mut impl Write,
    view: &FdView,
    n: usize,
    as_json: bool,
    capture: Option<&CaptureInfo>,
) -> io::Result<()> {
    let mut procs: Vec<&ProcessFds> = view.processes.iter().collect();
    procs.sort_by(|a, b| {
        b.usage()
            .unwrap_or(-1.0)
            .total_cmp(&a.usage().unwrap_or(-1.0))
            .then(b.open.cmp(&a.open))
            .then(a.pid.cmp(&b.pid))
    });
    procs.truncate(n);
    if as_json {
        #[derive(Serialize)]
        struct Row<'a> {
            pid: u32,
            #[serde(serialize_with = "sockscope_core::text::serialize_lossy")]
            command: &'a str,
            uid: u32,
            open: usize,
            soft_limit: Option<u64>,
            hard_limit: Option<u64>,
            usage: Option<f64>,
            highest_fd: Option<u32>,
        }
        #[derive(Serialize)]
        struct Data<'a> {
            system: Option<sockscope_core::model::SystemFiles>,
            processes: Vec<Row<'a>>,
        }
        let rows = procs
            .iter()
            .map(|p| Row {
                pid: p.pid,
                command: &p.command,
                uid: p.uid,
                open: p.open,
                soft_limit: p.limit.soft,
                hard_limit: p.limit.hard,
                usage: p.usage(),
                highest_fd: p.highest_fd,
            })
            .collect();
        return Envelope::new(Kind::FdLimits, &view.warnings, capture, Data { system: view.system, processes: rows })
            .write(out);
    }
    limits_table(out, &procs, &mut Users::new())?;
    system_line(out, view)
}

/// `capture`: the capture the view is from.
pub fn json(out: &mut impl Write, view: &FdView, capture: Option<&CaptureInfo>) -> io::Result<()> {
    Envelope::new(Kind::Fds, &view.warnings, capture, view).write(out)
}
