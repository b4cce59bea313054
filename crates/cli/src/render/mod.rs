//! Output: one module per output, each printing text and, through `envelope`, JSON. Renderers
//! do no I/O but writing: what they show is read before they are called.

pub mod details;
pub mod digits;
pub mod doctor;
pub mod envelope;
pub mod events;
pub mod fds;
pub mod lab;
pub mod names;
pub mod sockets;
pub mod sockets_json;
pub mod summary;
pub mod table;
pub mod trace;
pub mod watch;
pub mod who;

/// How a listing is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    /// One JSON document (`--json`).
    Json,
    /// One JSON object per line (`--jsonl`).
    JsonLines,
}

/// Which SELinux contexts the owners column shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contexts {
    None,
    /// -Z: each owner's process context.
    Process,
    /// -z: and the socket's.
    ProcessAndSocket,
}

/// `1 process`, `3 processes`: a count with its noun.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `12:00:01`, `12:00:01.000123` or `1700000000.000123` (-t, -tt, -ttt), in local time.
pub fn time_of_day(time: f64, level: u8) -> String {
    let secs = time.floor() as i64;
    let micros = ((time - time.floor()) * 1e6).round().min(999_999.0) as u32;
    if level >= 3 {
        return format!("{secs}.{micros:06}");
    }
    let zoned = jiff::Timestamp::from_second(secs).map(|t| t.to_zoned(jiff::tz::TimeZone::system()));
    let clock = zoned.map_or_else(|_| secs.to_string(), |z| z.strftime("%H:%M:%S").to_string());
    if level == 2 { format!("{clock}.{micros:06}") } else { clock }
}

#[cfg(test)]
mod tests {
    /// Issue 12: "1 processes".
    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(super::counted(1, "process", "processes"), "1 process");
        assert_eq!(super::counted(0, "process", "processes"), "0 processes");
        assert_eq!(super::counted(2, "socket", "sockets"), "2 sockets");
    }
}
