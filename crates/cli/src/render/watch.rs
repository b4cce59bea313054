//! `sockscope watch --json`: one document per refresh, a line each — the view's processes,
//! listeners and findings, and the sockets as the `sockets` document writes them.

use super::envelope::{CaptureInfo, Envelope, Kind};
use super::names::Namer;
use serde::Serialize;
use sockscope_core::Socket;
use sockscope_core::diagnose::Finding;
use sockscope_live::frame::{Frame, StateCounts};
use std::io::{self, Write};

#[derive(Serialize)]
struct States {
    established: u32,
    listening: u32,
    close_wait: u32,
    time_wait: u32,
    other: u32,
}

impl From<StateCounts> for States {
    fn from(s: StateCounts) -> States {
        States {
            established: s.established,
            listening: s.listening,
            close_wait: s.close_wait,
            time_wait: s.time_wait,
            other: s.other,
        }
    }
}

#[derive(Serialize)]
struct ProcessJson<'a> {
    pid: u32,
    #[serde(serialize_with = "sockscope_core::text::serialize_lossy")]
    command: &'a str,
    uid: u32,
    sockets: u32,
    states: States,
    fds: Option<u64>,
    fd_soft_limit: Option<u64>,
    bytes_in_per_s: f64,
    bytes_out_per_s: f64,
    new_connections_per_s: f64,
}

#[derive(Serialize)]
struct ListenerJson {
    local: String,
    port: u16,
    pid: Option<u32>,
    queue: u32,
    backlog: Option<u32>,
    connections: States,
    accepts_per_s: f64,
    overflowing: bool,
}

#[derive(Serialize)]
struct FindingJson<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    /// Seconds since the finding was first seen.
    since_s: f64,
}

#[derive(Serialize)]
struct Data<'a, S: Serialize> {
    collection_ms: f64,
    /// Seconds since the previous refresh, which the rates are over; null on the first.
    interval_s: Option<f64>,
    /// Times destroy records (closed connections' last bytes) were lost since the start.
    destroy_records_lost: u64,
    listen_overflows: u64,
    processes: Vec<ProcessJson<'a>>,
    listeners: Vec<ListenerJson>,
    findings: Vec<FindingJson<'a>>,
    socket_count: usize,
    sockets: S,
}

/// One refresh as one line of JSON; `capture`: the capture's look it replays.
pub fn write(out: &mut impl Write, frame: &Frame, namer: &mut Namer, capture: Option<&CaptureInfo>) -> io::Result<()> {
    let snap = &frame.snapshot;
    let processes = frame
        .processes
        .iter()
        .map(|p| ProcessJson {
            pid: p.pid,
            command: &p.command,
            uid: p.uid,
            sockets: p.states.total(),
            states: p.states.into(),
            fds: p.fds,
            fd_soft_limit: p.fd_soft_limit,
            bytes_in_per_s: p.rate_in,
            bytes_out_per_s: p.rate_out,
            new_connections_per_s: p.new_per_s,
        })
        .collect();
    let listeners = frame
        .listeners
        .iter()
        .map(|l| {
            let s = &snap.sockets[l.index];
            ListenerJson {
                local: s.end_text(&s.local),
                port: l.port,
                pid: frame.owner(s).map(|(pid, _)| pid),
                queue: s.recv_q,
                backlog: s.send_q,
                connections: l.states.into(),
                accepts_per_s: l.accepts_per_s,
                overflowing: l.overflowing,
            }
        })
        .collect();
    let findings = frame
        .findings
        .iter()
        .map(|f| FindingJson {
            finding: &f.finding,
            since_s: frame.at.saturating_duration_since(f.since).as_secs_f64(),
        })
        .collect();
    let rows: Vec<&Socket> = snap.sockets.iter().collect();
    let data = Data {
        collection_ms: frame.taken.as_secs_f64() * 1000.0,
        interval_s: frame.since_last_s,
        destroy_records_lost: frame.destroy_records_lost,
        listen_overflows: frame.overflows,
        processes,
        listeners,
        findings,
        socket_count: rows.len(),
        sockets: super::sockets_json::array(snap, &rows, namer),
    };
    Envelope::new(Kind::Watch, &snap.warnings, capture, data).write(out)
}
