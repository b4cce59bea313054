//! stale-unix-sockets: socket files no socket is bound to.

use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::text::{Untrusted, path_text, shell_quote};

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "stale-unix-sockets";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "socket files no socket is bound to";

limits! {}

pub fn check(o: &Observation, _t: &Limits) -> Vec<Finding> {
    o.stale_extended
        .iter()
        .map(|p| {
            // Whoever made the file chose its name: escape it for the terminal, and quote it
            // for the shell in the command we suggest pasting.
            let path = path_text(p);
            Finding::new(
                ID,
                Severity::Warn,
                format!("{} is a socket file with no socket bound to it", Untrusted(&path)),
                "A server that exits without unlink()ing its socket file leaves it behind: clients get ECONNREFUSED, and a restarted server that binds the path without unlinking it first fails with EADDRINUSE.",
                format!("Remove it (rm -- {}) if the service is meant to be down; make the server unlink() the path before bind() and on exit.", Untrusted(&shell_quote(&path))),
            )
        })
        .collect()
}
