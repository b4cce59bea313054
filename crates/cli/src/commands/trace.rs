//! `sockscope trace`: the network system calls of a command it starts (`-- CMD`) or of
//! running processes (`-p`), as strace shows them, each fd as its connection. The trace goes
//! to stderr (or -o FILE), as strace's; the exit status is the started command's.

use crate::args::TraceArgs;
use crate::render::envelope::{Envelope, Kind};
use crate::render::trace::{Printer, Row, Style, Summary};
use crate::usage::usage;
use serde::Serialize;
use sockscope_core::Socket;
use sockscope_core::filter::{self, Filter};
use sockscope_core::model::{Endpoint, Family, Netid, SockState};
use sockscope_trace::{
    Connection, Event, Options, TraceError, stop_requested, syscalls, trace_attached, trace_command,
};
use std::io::Write;

/// `file_mode`: of the `-o` file (`sockscope_core::outfile`).
pub fn run(args: &TraceArgs, file_mode: u32) -> anyhow::Result<u8> {
    let opts = options(args)?;
    let filter = match &args.filter {
        Some(text) => Some(super::connection_filter("--filter", text, "the tracer")?),
        None => None,
    };
    for pid in &args.pid {
        if *pid <= 0 {
            return Err(usage(anyhow::anyhow!("-p {pid}: a process id is a positive number")));
        }
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            UntilStopped(
                sockscope_core::outfile::create(path, sockscope_core::outfile::Existing::Replace, file_mode)
                    .map_err(|e| usage(anyhow::anyhow!("-o {e}")))?,
            ),
        )),
        None => Box::new(crate::output::Guarded::new(UntilStopped(std::io::stderr()))),
    };
    let style = Style {
        timestamps: args.timestamps,
        relative: args.relative,
        durations: args.durations,
        quiet: args.quiet,
        jsonl: args.jsonl,
    };
    let mut printer = Printer::new(style, args.pid.len() > 1);
    let mut summary = Summary::default();
    let mut kept = Vec::new();
    let mut failed = None;
    let tracing = !args.summary && !args.json;
    let report = |event: &Event| -> bool {
        if !keeps(filter.as_ref(), event) {
            return true;
        }
        if args.summary || args.summary_and_trace {
            summary.add(event);
        }
        if args.json {
            kept.push(event.clone());
        }
        if tracing && let Err(e) = printer.write(&mut out, event) {
            failed = Some(e);
            return false;
        }
        true
    };
    let status = if args.pid.is_empty() {
        trace_command(&args.command, &opts, report)
    } else {
        trace_attached(&args.pid, &opts, report)
    };
    let code = match status {
        Ok(code) => u8::try_from(code).unwrap_or(u8::MAX),
        Err(e @ TraceError::NotFound(_)) => {
            crate::stderr_line!("sockscope: error: {e}");
            127
        }
        Err(e @ (TraceError::NotExecutable(_) | TraceError::CannotExecute { .. })) => {
            crate::stderr_line!("sockscope: error: {e}");
            126
        }
        // What names no process that can be traced is a wrong command line.
        Err(
            e @ (TraceError::NoSuchProcess(_)
            | TraceError::Zombie(_)
            | TraceError::KernelThread(_)
            | TraceError::Itself(_)),
        ) => return Err(usage(e)),
        Err(e) => return Err(e.into()),
    };
    // A closed pipe ends the trace quietly, as any filter in a pipeline; so does a write
    // given up because of a stop signal.
    if failed.as_ref().is_some_and(|e| e.kind() != std::io::ErrorKind::BrokenPipe && !stop_requested())
        && let Some(e) = failed
    {
        return Err(e.into());
    }
    if args.json {
        #[derive(Serialize)]
        struct Trace<'a> {
            events: &'a [Event],
            #[serde(skip_serializing_if = "Option::is_none")]
            summary: Option<Vec<Row>>,
        }
        let data = Trace { events: &kept, summary: (args.summary || args.summary_and_trace).then(|| summary.rows()) };
        Envelope::new(Kind::Trace, &[], None, data).write(&mut out)?;
    } else if args.summary || args.summary_and_trace {
        summary.write(&mut out)?;
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe && !stop_requested() => return Err(e.into()),
        _ => {}
    }
    Ok(code)
}

/// The trace's output: a write a stop signal interrupts fails instead of being retried. The
/// tracer holds its tracees while it writes, so a reader that stopped reading (a full pipe)
/// must not keep Ctrl-C from letting them go.
struct UntilStopped<W>(W);

impl<W: Write> Write for UntilStopped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted && stop_requested() => {
                Err(std::io::Error::other("the trace was stopped while its output was blocked"))
            }
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted && stop_requested() => {
                Err(std::io::Error::other("the trace was stopped while its output was blocked"))
            }
            other => other,
        }
    }
}

/// The tracer's options from the command line; a bad `-e` is a usage error.
fn options(args: &TraceArgs) -> anyhow::Result<Options> {
    let mut opts = Options {
        follow: args.follow,
        string_limit: args.string_limit,
        seccomp: !args.no_seccomp,
        annotate: !args.raw_fds,
        ..Options::default()
    };
    if let Some(expr) = &args.expr {
        let Some(set) = expr.strip_prefix("trace=").or_else(|| (!expr.contains('=')).then_some(expr.as_str())) else {
            return Err(usage(anyhow::anyhow!(
                "-e {}: only trace=SET is supported (strace's other -e qualifiers are not)",
                crate::escape::escape(expr)
            )));
        };
        opts.set = syscalls::parse_set(set).map_err(|word| {
            usage(anyhow::anyhow!(
                "-e trace={}: unknown syscall or class '{}' (classes: {})",
                crate::escape::escape(set),
                crate::escape::escape(&word),
                syscalls::CLASSES
            ))
        })?;
        if opts.set.is_empty() {
            return Err(usage(anyhow::anyhow!(
                "-e trace={}: no system call left to trace",
                crate::escape::escape(set)
            )));
        }
        // As the issue of strace -e trace=%desc: the calls on files drown the sockets.
        opts.sockets_only = !args.all_fds && (args.sockets_only || set.contains("%desc") || set.contains("desc"));
    } else {
        opts.sockets_only = args.sockets_only;
    }
    Ok(opts)
}

/// Whether `--filter` keeps the event: calls on a connection it keeps, and every process
/// event (signals and ends stay visible, as strace keeps them with any -e).
fn keeps(filter: Option<&Filter>, event: &Event) -> bool {
    let (Some(filter), Event::Call(call)) = (filter, event) else {
        return true;
    };
    let Some(socket) = call.connection().and_then(as_socket) else {
        return false;
    };
    filter.states.is_none_or(|states| states.contains(socket.state))
        && filter.expr.as_ref().is_none_or(|e| e.keeps(&socket, filter::eval::Context::default()))
}

/// A traced connection as the core's socket, for the filter.
fn as_socket(conn: &Connection) -> Option<Socket> {
    let inet = |a: Option<std::net::SocketAddr>| a.map_or(Endpoint::None, Endpoint::from);
    let netid = match conn.proto {
        p if p.starts_with("MPTCP") => Netid::Mptcp,
        p if p.starts_with("TCP") => Netid::Tcp,
        p if p.starts_with("UDP") => Netid::Udp,
        p if p.starts_with("RAW") || p.starts_with("PING") => Netid::Raw,
        "UNIX-STREAM" => Netid::UnixStream,
        "UNIX" => Netid::UnixDgram,
        "NETLINK" => Netid::Netlink,
        _ => return None,
    };
    let family = match (netid, conn.local_addr) {
        (Netid::UnixStream | Netid::UnixDgram, _) => Family::Unix,
        (Netid::Netlink, _) => Family::Netlink,
        (_, Some(std::net::SocketAddr::V6(_))) => Family::Inet6,
        _ => Family::Inet,
    };
    let state = match (netid, conn.remote_addr.is_some()) {
        (Netid::Tcp | Netid::Mptcp, true) => SockState::Established,
        (Netid::Tcp | Netid::Mptcp, false) if conn.local.is_some() => SockState::Listen,
        _ => SockState::Close,
    };
    let (local, peer) = match family {
        Family::Unix => (Endpoint::Unix { name: None, inode: conn.inode }, Endpoint::None),
        _ => (inet(conn.local_addr), inet(conn.remote_addr)),
    };
    let mut s = Socket::new(netid, family, state, local, peer);
    s.inode = conn.inode;
    Some(s)
}
