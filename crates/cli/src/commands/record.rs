//! `sockscope record`: a capture of the host, one look or several, to a file or stdout.

use crate::args::RecordArgs;
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::capture::{Header, Recorder};
use sockscope_core::hosts::record::{TakeOptions, take};
use sockscope_core::outfile::{self, Existing, OutFileError};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Writes to stdout itself for `-o -`: a capture is binary, and the guarded writer the text
/// commands use would rewrite its bytes.
/// `file_mode`: the capture file's (`sockscope_core::outfile`).
pub fn run(args: &RecordArgs, file_mode: u32) -> anyhow::Result<bool> {
    let to_stdout = args.output == Path::new("-");
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(usage(anyhow::anyhow!(
            "-o -: standard output is a terminal, and a capture is binary; redirect it (> host.cap) or name a file"
        )));
    }
    let uname = rustix::system::uname();
    let header = Header {
        hostname: uname.nodename().to_string_lossy().into_owned(),
        kernel: uname.release().to_string_lossy().into_owned(),
        written_by: concat!("sockscope ", env!("CARGO_PKG_VERSION")).to_string(),
        started_ns: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
        redacted: args.redact,
        interval_ms: args.interval.map(|d| d.as_millis() as u64),
    };
    let mut opts = TakeOptions {
        redact: args.redact,
        window: Duration::from_secs_f64(args.window),
        all_netns: args.all_netns,
        full: args.full,
        ..TakeOptions::default()
    };
    if !args.stale_dirs.is_empty() {
        opts.stale_dirs.clone_from(&args.stale_dirs);
    }
    let count = args.count.unwrap_or(1);
    let interval = args.interval.unwrap_or(Duration::ZERO);
    if to_stdout {
        let stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        record(Recorder::new(stdout, &header, &args.output)?, &opts, count, interval, &args.output)
    } else {
        let existing = if args.force { Existing::Replace } else { Existing::Refuse };
        let file = outfile::create(&args.output, existing, file_mode).map_err(|e| match e {
            OutFileError::Exists { .. } => usage(anyhow::anyhow!("-o {e} (--force replaces it)")),
            OutFileError::ForeignSymlink { .. } | OutFileError::Foreign { .. } => usage(anyhow::anyhow!("-o {e}")),
            OutFileError::Io { .. } => anyhow::anyhow!("-o {e}"),
        })?;
        let out = std::io::BufWriter::with_capacity(1 << 20, file);
        record(Recorder::new(out, &header, &args.output)?, &opts, count, interval, &args.output)
    }
}

/// Takes `count` looks, `interval` apart (start to start), into `rec`; says what it wrote.
fn record<W: Write>(
    mut rec: Recorder<W>,
    opts: &TakeOptions,
    count: u64,
    interval: Duration,
    path: &Path,
) -> anyhow::Result<bool> {
    let mut sockets = 0usize;
    let mut processes = 0usize;
    for n in 0..count {
        let started = Instant::now();
        let frame = take(opts).context("cannot record the host")?;
        sockets = frame.socket_count();
        processes = frame.processes.len();
        for w in &frame.warnings {
            crate::stderr_line!("sockscope: warning: {w}");
        }
        rec.frame(&frame)?;
        if n + 1 < count {
            std::thread::sleep(interval.saturating_sub(started.elapsed()));
        }
    }
    let mut out = rec.finish()?;
    out.flush().with_context(|| format!("cannot write the capture {}", path.display()))?;
    let size = std::fs::metadata(path).map(|m| format!(", {} bytes", m.len())).unwrap_or_default();
    crate::stderr_line!(
        "sockscope: recorded {} of {} ({} sockets, {} processes in the last){size}",
        crate::render::counted(count as usize, "look", "looks"),
        if path == Path::new("-") { "standard output".to_string() } else { path.display().to_string() },
        sockets,
        processes
    );
    Ok(true)
}
