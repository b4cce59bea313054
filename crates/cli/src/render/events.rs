//! `sockscope events` lines: state changes (as tcpstates, with the right owner) and finished
//! connections (as tcplife, with bytes exact and who closed), as text columns or JSON lines,
//! and the totals at exit.

use serde::Serialize;
use sockscope_core::model::{Container, Netns};
use sockscope_core::names::{Proto, Services};
use sockscope_core::text::Untrusted;
use sockscope_events::{Closer, Event, Life, Owner, Totals, Transition};
use std::io::{self, Write};
use std::net::SocketAddr;

pub struct Printer {
    jsonl: bool,
    life: bool,
    services: Option<Services>,
    header: bool,
    /// A first column naming each line's network namespace (--netns, --all-netns).
    netns_column: bool,
}

/// Width of the NETNS column (a longer label widens its line rather than being cut).
const NETNS_WIDTH: usize = 20;

impl Printer {
    pub fn new(life: bool, jsonl: bool, numeric: bool, netns_column: bool) -> Printer {
        Printer { jsonl, life, services: (!numeric).then(Services::load), header: false, netns_column }
    }

    /// One line; `ns`: the namespace of its socket, when namespaces are shown.
    pub fn write(&mut self, out: &mut dyn Write, event: &Event, ns: Option<&Netns>) -> io::Result<()> {
        if self.jsonl {
            serde_json::to_writer(&mut *out, &Record::of(event, ns)).map_err(io::Error::from)?;
            return out.write_all(b"\n");
        }
        if !self.header {
            self.header = true;
            if self.netns_column {
                write!(out, "{:<NETNS_WIDTH$} ", "NETNS")?;
            }
            if self.life {
                writeln!(
                    out,
                    "{:<12} {:>7} {:<15} {:<26} {:<26} {:>10} {:>10} {:>10} {:<6} {:>8} {:>4}",
                    "TIME", "PID", "COMM", "LOCAL", "PEER", "SENT", "RECEIVED", "MS", "CLOSER", "RTT_MS", "RETR"
                )?;
            } else {
                writeln!(
                    out,
                    "{:<12} {:>7} {:<15} {:<26} {:<26} {:<25} {:>10}",
                    "TIME", "PID", "COMM", "LOCAL", "PEER", "OLD -> NEW", "MS"
                )?;
            }
        }
        if self.netns_column {
            let label = ns.map_or_else(|| format!("net:[{}]", event.netns()), Netns::label);
            write!(out, "{:<NETNS_WIDTH$} ", Untrusted(&label).to_string())?;
        }
        match event {
            Event::Transition(t) => writeln!(
                out,
                "{:<12} {:>7} {:<15} {:<26} {:<26} {:<25} {:>10}",
                clock(t.time_ns),
                pid(&t.owner),
                comm(&t.owner),
                self.end(t.local),
                self.end(t.peer),
                format!("{} -> {}", state(t.old), state(t.new)),
                t.in_old_ns.map_or("-".to_string(), ms),
            ),
            Event::Life(l) => {
                let proto = if l.netid == sockscope_core::Netid::Udp { "udp " } else { "" };
                // `~` before a value that is inferred, not known.
                let inferred = |field: &str| if l.inferred.contains(&field) { "~" } else { "" };
                let duration = l.duration_ns.map_or("-".to_string(), |d| format!("{}{}", inferred("duration"), ms(d)));
                let received =
                    l.bytes_received.map_or("-".to_string(), |b| format!("{}{b}", inferred("bytes_received")));
                writeln!(
                    out,
                    "{:<12} {:>7} {:<15} {:<26} {:<26} {:>10} {:>10} {:>10} {:<6} {:>8} {:>4}",
                    clock(l.end_ns),
                    pid(&l.owner),
                    comm(&l.owner),
                    format!("{proto}{}", self.end(l.local)),
                    self.end(l.peer),
                    opt(l.bytes_sent),
                    received,
                    duration,
                    match l.closer {
                        Some(Closer::Local) => "local",
                        Some(Closer::Peer) => "peer",
                        None => "-",
                    },
                    l.rtt_us.map_or("-".to_string(), |r| format!("{:.3}", f64::from(r) / 1000.0)),
                    opt(l.retransmits),
                )
            }
        }
    }

    /// `127.0.0.1:https`, `[::1]:8080`.
    fn end(&self, a: SocketAddr) -> String {
        let port = self
            .services
            .as_ref()
            .and_then(|s| s.name(a.port(), Proto::Tcp))
            .map_or_else(|| a.port().to_string(), str::to_owned);
        match a {
            SocketAddr::V4(v4) => format!("{}:{port}", v4.ip()),
            SocketAddr::V6(v6) => format!("[{}]:{port}", v6.ip()),
        }
    }
}

/// ss's state names, but CLOSE for the closed state (ss calls a closed socket UNCONN).
fn state(s: sockscope_core::SockState) -> &'static str {
    if s == sockscope_core::SockState::Close { "CLOSE" } else { s.ss_name() }
}

fn clock(mono_ns: u64) -> String {
    let wall = sockscope_events::wall_ns(mono_ns) as f64 / 1e9;
    let t = super::time_of_day(wall, 2);
    // HH:MM:SS.mmm
    t.get(..12).unwrap_or(&t).to_string()
}

fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

fn opt(v: Option<impl ToString>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

fn pid(o: &Option<Owner>) -> String {
    o.as_ref().map_or("-".to_string(), |o| o.pid.to_string())
}

fn comm(o: &Option<Owner>) -> String {
    o.as_ref().and_then(|o| o.comm.as_deref()).map_or("-".to_string(), |c| Untrusted(c).to_string())
}

/// The totals at exit, on stderr.
pub fn totals_line(t: &Totals, life: bool) -> String {
    let mut s = if life {
        format!("sockscope events: {}", super::counted(t.lives as usize, "connection", "connections"))
    } else {
        format!("sockscope events: {}", super::counted(t.transitions as usize, "state change", "state changes"))
    };
    s.push_str(&format!("; lost: {} tracepoint records", t.lost_records));
    if life {
        s.push_str(&format!(", {} destroy-record overflows", t.destroy_overflows));
        if t.lives_without_counters > 0 {
            s.push_str(&format!("; {} without their destroy record (no bytes)", t.lives_without_counters));
            if t.late_destroy_records > 0 {
                s.push_str(&format!(", of which {} came late", t.late_destroy_records));
            }
        }
        if t.lives_from_destroy_record_only > 0 {
            s.push_str(&format!("; {} from destroy records alone", t.lives_from_destroy_record_only));
        }
    }
    if t.evicted > 0 {
        s.push_str(&format!("; {} connections forgotten (more open at once than the cap)", t.evicted));
    }
    if t.left_out > 0 {
        s.push_str(&format!("; {} left out by the filter or --count", t.left_out));
    }
    if t.unproven > 0 {
        s.push_str(&format!(
            "; {} left out because their socket could not be proven to be in a network namespace followed",
            t.unproven
        ));
    }
    s
}

/// A JSON line. Times are µs since the Unix epoch; durations µs; bytes bytes.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record<'a> {
    Transition {
        time_us: u64,
        #[serde(flatten)]
        place: Option<Place<'a>>,
        pid: Option<u32>,
        comm: Option<&'a str>,
        local: End,
        peer: End,
        old_state: sockscope_core::SockState,
        new_state: sockscope_core::SockState,
        in_old_state_us: Option<u64>,
    },
    Life {
        time_us: u64,
        #[serde(flatten)]
        place: Option<Place<'a>>,
        netid: sockscope_core::Netid,
        pid: Option<u32>,
        comm: Option<&'a str>,
        local: End,
        peer: End,
        active: Option<bool>,
        duration_us: Option<u64>,
        approximate: bool,
        inferred: &'a [&'static str],
        bytes_sent: Option<u64>,
        bytes_received: Option<u64>,
        closer: Option<Closer>,
        rtt_us: Option<u32>,
        retransmits: Option<u32>,
    },
    /// Records the kernel dropped since the last `lost` line.
    Lost {
        time_us: u64,
        tracepoint_records: u64,
        destroy_record_overflows: u64,
    },
    Summary(Totals),
}

/// Where a line's socket is, with --netns and --all-netns: its network namespace's inode, its
/// name under /run/netns, and the container (or pod) whose namespace it is.
#[derive(Serialize)]
pub struct Place<'a> {
    netns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a Container>,
}

#[derive(Serialize)]
pub struct End {
    pub address: std::net::IpAddr,
    pub port: u16,
}

fn end(a: SocketAddr) -> End {
    End { address: a.ip(), port: a.port() }
}

impl<'a> Record<'a> {
    /// An event's line; `ns`: its namespace, when namespaces are shown (--netns, --all-netns).
    pub fn of(e: &'a Event, ns: Option<&'a Netns>) -> Record<'a> {
        let place =
            ns.map(|ns| Place { netns: e.netns(), netns_name: ns.name.as_deref(), container: ns.container.as_ref() });
        match e {
            Event::Transition(t) => transition(t, place),
            Event::Life(l) => life(l, place),
        }
    }
}

fn transition<'a>(t: &'a Transition, place: Option<Place<'a>>) -> Record<'a> {
    Record::Transition {
        time_us: sockscope_events::wall_ns(t.time_ns) / 1000,
        place,
        pid: t.owner.as_ref().map(|o| o.pid),
        comm: t.owner.as_ref().and_then(|o| o.comm.as_deref()),
        local: end(t.local),
        peer: end(t.peer),
        old_state: t.old,
        new_state: t.new,
        in_old_state_us: t.in_old_ns.map(|n| n / 1000),
    }
}

fn life<'a>(l: &'a Life, place: Option<Place<'a>>) -> Record<'a> {
    Record::Life {
        time_us: sockscope_events::wall_ns(l.end_ns) / 1000,
        place,
        netid: l.netid,
        pid: l.owner.as_ref().map(|o| o.pid),
        comm: l.owner.as_ref().and_then(|o| o.comm.as_deref()),
        local: end(l.local),
        peer: end(l.peer),
        active: l.active,
        duration_us: l.duration_ns.map(|n| n / 1000),
        approximate: l.approximate,
        inferred: &l.inferred,
        bytes_sent: l.bytes_sent,
        bytes_received: l.bytes_received,
        closer: l.closer,
        rtt_us: l.rtt_us,
        retransmits: l.retransmits,
    }
}
