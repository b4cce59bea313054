//! The one JSON document shape: every `--json` output is an `Envelope` — schema version, the
//! kind of document, the program, when it was made, the warnings — with its data's fields
//! beside them, streamed with `Serialize` (nothing is built as a string first). Schema:
//! docs/json.md.

use serde::Serialize;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bumped whenever a field changes meaning or disappears (additions keep the version).
pub const SCHEMA_VERSION: u32 = 2;

/// What a document holds; its `kind` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `sockscope --json`
    Sockets,
    /// `sockscope -s --json`
    Summary,
    /// `sockscope --summary-by KEY --json`
    Groups,
    /// `sockscope fds --json`
    Fds,
    /// `sockscope fds --top --json`
    FdLimits,
    /// `sockscope who --json`
    Who,
    /// `sockscope doctor --json`
    Doctor,
    /// `sockscope lab … --json`
    Lab,
    /// `sockscope trace --json`
    Trace,
    /// `sockscope events --json`
    Events,
    /// `sockscope watch --json`, one per refresh
    Watch,
    /// `sockscope diff --json`
    Diff,
}

/// What JSON documents say of the capture they were answered from (`--from`).
#[derive(Clone, Debug, Serialize)]
pub struct CaptureInfo {
    pub path: String,
    pub host: String,
    pub kernel: String,
    pub written_by: String,
    /// RFC 3339, UTC.
    pub taken_at: String,
    /// 1-based, of `frames`.
    pub frame: usize,
    pub frames: usize,
    pub redacted: bool,
}

#[derive(Serialize)]
pub struct Envelope<'a, T: Serialize> {
    schema_version: u32,
    kind: Kind,
    generator: &'static str,
    /// RFC 3339, UTC, to the second.
    generated_at: String,
    warnings: &'a [String],
    /// With --from: the capture the document was answered from.
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<&'a CaptureInfo>,
    #[serde(flatten)]
    data: T,
}

impl<'a, T: Serialize> Envelope<'a, T> {
    /// `capture`: the capture the data was answered from, if any.
    pub fn new(kind: Kind, warnings: &'a [String], capture: Option<&'a CaptureInfo>, data: T) -> Envelope<'a, T> {
        Envelope {
            schema_version: SCHEMA_VERSION,
            kind,
            generator: concat!("sockscope ", env!("CARGO_PKG_VERSION")),
            // From a capture, a document is as of the look it was answered from.
            generated_at: capture.as_ref().map_or_else(|| rfc3339(SystemTime::now()), |c| c.taken_at.clone()),
            warnings,
            capture,
            data,
        }
    }

    /// The document and a newline. A failed write keeps its io::Error (a closed pipe stays
    /// a closed pipe).
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self).map_err(io::Error::from)?;
        out.write_all(b"\n")
    }
}

/// `2026-11-27T13:30:22Z`: to the second (what jiff shows of a whole second), times before
/// 1970 as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let whole = i64::try_from(secs).ok().and_then(|s| jiff::Timestamp::from_second(s).ok());
    whole.unwrap_or(jiff::Timestamp::MAX).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_786_222), "2026-11-27T13:30:22Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
        // Against date(1), for a handful of instants.
        for s in [86_399, 1_000_000_000, 1_709_251_199, 2_000_000_000] {
            let out = std::process::Command::new("date")
                .args(["-u", "-d", &format!("@{s}"), "+%Y-%m-%dT%H:%M:%SZ"])
                .output()
                .expect("date");
            assert_eq!(at(s), String::from_utf8_lossy(&out.stdout).trim(), "{s}");
        }
    }

    #[test]
    fn data_fields_sit_beside_the_envelope() {
        #[derive(Serialize)]
        struct Data {
            count: u32,
        }
        let warnings = vec!["w".to_string()];
        let mut out = Vec::new();
        Envelope::new(Kind::Summary, &warnings, None, Data { count: 3 }).write(&mut out).expect("write");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["kind"], "summary");
        assert_eq!(v["warnings"][0], "w");
        assert_eq!(v["count"], 3);
        assert!(out.ends_with(b"}\n"));
    }
}
