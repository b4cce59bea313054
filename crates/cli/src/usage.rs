//! Errors in what the user typed — a filter that does not parse, an unknown state or table, a
//! port out of range, a target that is not one — exit with status 2, as clap's own do, so a
//! script (or a monitoring check) can tell a typo from an answer.

use std::fmt;

/// An error in the command line.
#[derive(Debug)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Marks `e` (and its causes, joined on one line) as an error in the command line.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    let e = e.into();
    anyhow::Error::new(UsageError(format!("{e:#}")))
}

/// Whether `e` is, or was caused by, an error in the command line.
pub fn is_usage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<UsageError>())
}

/// `--pid N` naming no process is a mistake in the command line, not an empty answer.
pub fn check_pids(flag: &str, pids: &[u32], host: &dyn sockscope_core::hosts::Host) -> anyhow::Result<()> {
    for &pid in pids {
        if !host.has_process(pid) {
            let hidden = host.hidepid().map_or(String::new(), |h| {
                format!(" (or it is hidden: /proc is mounted with hidepid={h}, which hides other users' processes)")
            });
            return Err(usage(anyhow::anyhow!("{flag} {pid}: no such process{hidden}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_told_apart_and_keep_their_words() {
        let e = usage(anyhow::anyhow!("unknown state 'x'").context("--state"));
        assert!(is_usage(&e));
        assert_eq!(e.to_string(), "--state: unknown state 'x'");
        assert!(is_usage(&e.context("while planning")));
        assert!(!is_usage(&anyhow::anyhow!("cannot read /proc")));
    }
}
