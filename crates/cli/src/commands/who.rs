//! `sockscope who TARGET`: who holds a port, address, Unix socket path or file.

use crate::args::WhoArgs;
use crate::render::who;
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::names::Services;
use sockscope_core::who::{Target, TargetError, who};
use std::io::Write;
use std::path::Path;

/// Exit status: success when something holds the target.
/// `capture`: the look of a capture to answer from (`--from`).
pub fn run(
    args: &WhoArgs,
    capture: Option<std::sync::Arc<sockscope_core::capture::Frame>>,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    // A capture cannot look at this machine's files: a path names a Unix socket there.
    let parsed = match &capture {
        Some(_) if args.target.starts_with('/') => Ok(Target::UnixSocket { path: args.target.clone() }),
        _ => Target::parse(&args.target, &Services::load()),
    };
    let target = parsed.map_err(|e| match e {
        // A path that does not exist is an answer about the system (exit 1), as in docs/fds.md.
        TargetError::Path { .. } => anyhow::anyhow!("who: {e}"),
        _ => usage(anyhow::anyhow!("who: {e}")),
    })?;
    let proc_root = Path::new("/proc");
    let namespaces = crate::plan::namespaces(&args.namespaces, false, proc_root, capture.as_deref())?;
    let report = who(&target, proc_root, &namespaces, capture.as_ref()).context("cannot read sockets")?;
    who::write(out, &target, &report, args.json)?;
    out.flush()?;
    // An unreadable process matters only where it could be the answer: a socket here that
    // no readable process holds, or any file (it may have it open).
    let could_matter = match target {
        Target::File { .. } => true,
        _ => report.sockets.iter().any(|h| h.socket.inode != 0 && h.holders.is_empty()),
    };
    if could_matter && !report.unreadable.is_empty() && !args.json {
        crate::stderr_line!(
            "sockscope: note: {} process{} could not be read ({}); the answer may be incomplete",
            report.unreadable.len(),
            if report.unreadable.len() == 1 { "" } else { "es" },
            report.unreadable[0].1
        );
    }
    Ok(report.found())
}
