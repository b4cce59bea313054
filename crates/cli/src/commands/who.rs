//! `sockscope who TARGET`: who holds a port, address, Unix socket path or file.

use crate::args::WhoArgs;
use crate::render::who;
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::names::Services;
use sockscope_core::who::{Target, TargetError, who};
use std::io::Write;

/// Exit status: success when something holds the target.
/// `origin`: the host (or capture's look) to answer from.
pub fn run(args: &WhoArgs, origin: &crate::from::Origin, out: &mut impl Write) -> anyhow::Result<bool> {
    let host = &*origin.host;
    let target = Target::parse(&args.target, &Services::load(), host).map_err(|e| match e {
        // A path that does not exist is an answer about the system (exit 1), as in docs/fds.md.
        TargetError::Path { .. } => anyhow::anyhow!("who: {e}"),
        _ => usage(anyhow::anyhow!("who: {e}")),
    })?;
    let namespaces = crate::plan::namespaces(&args.namespaces, false, host)?;
    let report = who(&target, host, &namespaces).context("cannot read sockets")?;
    who::write(out, &target, &report, args.json, origin.capture.as_ref())?;
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
