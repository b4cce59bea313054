//! stale-unix-sockets: socket files no socket is bound to.

use crate::diagnose::{Finding, Observation, Severity, Thresholds};

pub fn check(o: &Observation, _t: &Thresholds) -> Vec<Finding> {
    o.stale_unix_files
        .iter()
        .map(|p| {
            Finding::new(
                "stale-unix-sockets",
                Severity::Warn,
                format!("{} is a socket file with no socket bound to it", p.display()),
                "A server that exits without unlink()ing its socket file leaves it behind: clients get ECONNREFUSED, and a restarted server that binds the path without unlinking it first fails with EADDRINUSE.",
                format!("Remove it (rm {}) if the service is meant to be down; make the server unlink() the path before bind() and on exit.", p.display()),
            )
        })
        .collect()
}
