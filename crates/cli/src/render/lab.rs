//! `lab` output: what a scenario made (or a benchmark measured), as lines or JSON.

use super::envelope::{Envelope, Kind};
use serde::Serialize;
use std::io::{self, Write};

/// `truth` is the scenario's own account of what it made; a scenario that `holds` sockets in
/// a private network namespace (`netns`) is told how to look at.
pub fn started(
    out: &mut impl Write,
    name: &str,
    truth: &serde_json::Value,
    lines: &[String],
    as_json: bool,
    netns: bool,
    holds: bool,
) -> io::Result<()> {
    if as_json {
        #[derive(Serialize)]
        struct Data<'a> {
            scenario: &'a str,
            pid: u32,
            netns: bool,
            made: &'a serde_json::Value,
        }
        let data = Data { scenario: name, pid: std::process::id(), netns, made: truth };
        return Envelope::new(Kind::Lab, &[], None, data).write(out);
    }
    writeln!(out, "{name}:")?;
    for l in lines {
        writeln!(out, "  {l}")?;
    }
    if netns && holds {
        writeln!(
            out,
            "  (in a private network namespace: look with  sockscope --netns pid:{} -tanp)",
            std::process::id()
        )?;
    }
    Ok(())
}
