//! `sockscope events`: TCP state changes as they happen (tcpstates), or one line per finished
//! connection (`--life`, tcplife), until Ctrl-C, `--duration` or `--count`. Lines go to
//! stdout; notes, losses as they happen and the totals at exit go to stderr.

use crate::args::EventsArgs;
use crate::render::envelope::{Envelope, Kind};
use crate::render::events::{Printer, Record, totals_line};
use crate::usage::usage;
use serde::Serialize;
use sockscope_core::filter::{Filter, eval::Context};
use sockscope_core::model::Netns;
use sockscope_core::{Family, Netid, SockState, Socket};
use sockscope_events::{Event, EventsError, Monitor, Options, Scope, Source};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub fn run(args: &EventsArgs) -> anyhow::Result<u8> {
    let keep = Keep::from_args(args)?;
    if let Some(d) = args.duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(usage(anyhow::anyhow!("--duration {d}: a number of seconds greater than 0")));
    }
    if args.count == Some(0) {
        return Err(usage(anyhow::anyhow!("--count 0: a number of lines greater than 0")));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
    }
    let opts = Options { life: args.life, udp: args.udp, ..Options::default() };
    let scope = match &args.netns {
        Some(spec) => {
            let host = sockscope_core::hosts::LiveHost::default();
            let mut found = sockscope_core::hosts::Host::selected_namespaces(&host, std::slice::from_ref(spec))
                .map_err(|e| if e.is_usage() { usage(e) } else { anyhow::Error::new(e) })?;
            let ns = found.pop().ok_or_else(|| anyhow::anyhow!("--netns {spec}: not found"))?;
            Scope::These(vec![ns])
        }
        None if args.all_netns => Scope::All,
        None => Scope::Own,
    };
    // Lines name their namespace when namespaces were asked for.
    let labelled = !matches!(scope, Scope::Own);
    let mut monitor = Monitor::open(opts, scope).map_err(|e| match e {
        // The tracepoints could not be opened (transitions need them).
        EventsError::Tracefs(_) | EventsError::Format(_) | EventsError::Ring(_) => {
            anyhow::anyhow!("{e}; without the tracepoints only --life works (from the sockets' destroy records)")
        }
        _ => anyhow::anyhow!("{e}"),
    })?;
    if let Source::DestroyRecordsOnly { why } = monitor.source() {
        crate::stderr_line!(
            "sockscope: note: the kernel's tracepoints cannot be used ({why}); --life works from the sockets' destroy records alone: durations count from when a look at the socket table (every 250 ms) first saw the socket and are marked ~, and a connection shorter than that has no owner and no duration"
        );
    }
    let mut out = crate::output::Guarded::new(std::io::BufWriter::new(std::io::stdout()));
    let mut printer = Printer::new(args.life, args.jsonl, args.numeric, labelled);
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + Duration::from_secs_f64(d));
    let mut given = 0u64;
    // Transitions and lives given, for the totals (the monitor counts what it made).
    let mut given_kinds = (0u64, 0u64);
    let mut kept = Vec::new();
    let mut batch = Vec::new();
    let mut reported = (0u64, 0u64);
    let mut finished = false;
    loop {
        let now = Instant::now();
        let ending = stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| now >= d);
        let wait = deadline
            .map_or(Duration::from_millis(200), |d| d.saturating_duration_since(now))
            .min(Duration::from_millis(200));
        monitor.poll(if ending { Duration::ZERO } else { wait }, &mut batch).map_err(|e| anyhow::anyhow!("{e}"))?;
        if ending {
            monitor.finish(&mut batch).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        for note in monitor.take_notes() {
            crate::stderr_line!("sockscope: note: {note}");
        }
        for event in batch.drain(..) {
            let ns = labelled.then(|| namespace_of(&monitor, &event));
            if finished || !keep.keeps(&event, ns.as_ref()) {
                continue;
            }
            given += 1;
            match event {
                Event::Transition(_) => given_kinds.0 += 1,
                Event::Life(_) => given_kinds.1 += 1,
            }
            if args.json {
                kept.push((event, ns));
            } else if let Err(e) = printer.write(&mut out, &event, ns.as_ref()) {
                return ended_by_reader(e);
            }
            if args.count.is_some_and(|c| given >= c) {
                finished = true;
            }
        }
        let t = monitor.totals();
        if (t.lost_records, t.destroy_overflows) != reported {
            let (records, overflows) = (t.lost_records - reported.0, t.destroy_overflows - reported.1);
            crate::stderr_line!(
                "sockscope: warning: the kernel dropped {records} tracepoint records (ring full) and overflowed the destroy records' buffer {overflows} times; the totals at exit say how many in all"
            );
            if args.jsonl {
                let lost = Record::Lost {
                    time_us: sockscope_events::wall_ns(sockscope_events::monotonic_ns()) / 1000,
                    tracepoint_records: records,
                    destroy_record_overflows: overflows,
                };
                if let Err(e) = write_line(&mut out, &lost) {
                    return ended_by_reader(e);
                }
            }
            reported = (t.lost_records, t.destroy_overflows);
        }
        if let Err(e) = out.flush() {
            return ended_by_reader(e);
        }
        if ending || finished {
            break;
        }
    }
    let totals = monitor.totals().given(given_kinds.0, given_kinds.1);
    let result = if args.json {
        #[derive(Serialize)]
        struct Events<'a> {
            events: Vec<Record<'a>>,
            totals: sockscope_events::Totals,
        }
        let events = kept.iter().map(|(e, ns)| Record::of(e, ns.as_ref())).collect();
        Envelope::new(Kind::Events, &[], None, Events { events, totals }).write(&mut out)
    } else if args.jsonl {
        write_line(&mut out, &Record::Summary(totals))
    } else {
        Ok(())
    };
    if let Err(e) = result.and_then(|()| out.flush()) {
        return ended_by_reader(e);
    }
    crate::stderr_line!("{}", totals_line(&totals, args.life));
    Ok(0)
}

fn write_line(out: &mut impl Write, record: &Record<'_>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// A closed pipe (`| head`) ends quietly; any other write error is an error.
fn ended_by_reader(e: std::io::Error) -> anyhow::Result<u8> {
    if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(0) } else { Err(e.into()) }
}

/// What the command line keeps: the filter, --pid, --comm, --port, -4/-6.
struct Keep {
    filter: Option<Filter>,
    pids: Vec<u32>,
    comm: Option<String>,
    port: Option<u16>,
    family: Option<Family>,
}

impl Keep {
    fn from_args(args: &EventsArgs) -> anyhow::Result<Keep> {
        let filter = if args.filter.is_empty() {
            None
        } else {
            Some(super::connection_filter_with("filter", &args.filter.join(" "), "events", true)?)
        };
        let names_states = filter.as_ref().is_some_and(|f| {
            f.states.is_some()
                || f.expr.iter().flat_map(|e| e.preds()).any(|p| matches!(p, sockscope_core::filter::Pred::State(_)))
        });
        if args.life && names_states {
            return Err(usage(anyhow::anyhow!(
                "filter: with --life every line is a finished connection; a state condition would match none (filter on addresses and ports)"
            )));
        }
        if args.pid.contains(&0) {
            return Err(usage(anyhow::anyhow!("--pid 0: a process id is a positive number")));
        }
        let family = match (args.ipv4, args.ipv6) {
            (true, _) => Some(Family::Inet),
            (_, true) => Some(Family::Inet6),
            _ => None,
        };
        Ok(Keep { filter, pids: args.pid.clone(), comm: args.comm.clone(), port: args.port, family })
    }

    /// `ns`: the namespace of the event's socket, when namespaces are shown.
    fn keeps(&self, event: &Event, ns: Option<&Netns>) -> bool {
        let (owner, local, peer, state, netid) = match event {
            Event::Transition(t) => (&t.owner, t.local, t.peer, t.new, Netid::Tcp),
            Event::Life(l) => (&l.owner, l.local, l.peer, SockState::Close, l.netid),
        };
        if !self.pids.is_empty() && !owner.as_ref().is_some_and(|o| self.pids.contains(&o.pid)) {
            return false;
        }
        if let Some(comm) = &self.comm
            && owner.as_ref().and_then(|o| o.comm.as_deref()).is_none_or(|c| c != comm)
        {
            return false;
        }
        if self.port.is_some_and(|p| local.port() != p && peer.port() != p) {
            return false;
        }
        let family = if local.is_ipv4() { Family::Inet } else { Family::Inet6 };
        if self.family.is_some_and(|f| f != family) {
            return false;
        }
        let Some(filter) = &self.filter else { return true };
        let mut socket = Socket::new(netid, family, state, local.into(), peer.into());
        socket.netns = ns.and_then(|ns| std::num::NonZeroU64::new(ns.inode));
        socket.container = ns.and_then(|ns| ns.container.clone()).map(Arc::new);
        let ctx = Context { namespaces: ns.map(std::slice::from_ref).unwrap_or_default(), ..Context::default() };
        filter.states.is_none_or(|states| states.contains(state))
            && filter.expr.as_ref().is_none_or(|e| e.keeps(&socket, ctx))
    }
}

/// The namespace of an event's socket as the monitor knows it (by its inode alone when it
/// went before it could be named).
fn namespace_of(monitor: &Monitor, event: &Event) -> Netns {
    let inode = event.netns();
    monitor.namespace(inode).cloned().unwrap_or_else(|| Netns {
        inode,
        name: None,
        pid: None,
        path: std::path::PathBuf::new(),
        container: None,
    })
}
