//! The numbers the rules compare against; every one can be changed with `--set KEY=VALUE` or
//! a config file of `KEY = VALUE` lines.

use crate::text::Untrusted;
use serde::Serialize;

/// A `--set KEY=VALUE` (or config line) that cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("threshold {}: '{}' is not a number of 0 or more", Untrusted(key), Untrusted(value))]
    NotANumber { key: String, value: String },
    #[error("unknown threshold '{}' (see sockscope doctor --list-thresholds)", Untrusted(.0))]
    Unknown(String),
}

macro_rules! thresholds {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty = $default:expr ),* $(,)?) => {
        #[derive(Clone, Debug, PartialEq, Serialize)]
        pub struct Thresholds {
            $( $(#[$doc])* pub $name: $ty, )*
        }

        impl Default for Thresholds {
            fn default() -> Self {
                Thresholds { $( $name: $default, )* }
            }
        }

        impl Thresholds {
            /// Every key with its current value and meaning, for --help and the docs.
            pub fn describe(&self) -> Vec<(&'static str, String)> {
                vec![ $( (stringify!($name), self.$name.to_string()), )* ]
            }

            /// Sets one threshold by name.
            pub fn set(&mut self, key: &str, value: &str) -> Result<(), ThresholdError> {
                match key {
                    $( stringify!($name) => {
                        self.$name = parse_value(value).ok_or_else(|| ThresholdError::NotANumber {
                            key: key.into(),
                            value: value.into(),
                        })?;
                        Ok(())
                    } )*
                    _ => Err(ThresholdError::Unknown(key.into())),
                }
            }
        }
    };
}

/// A threshold's value: a finite number, 0 or more (`NaN` would make every comparison
/// false, and so silence a rule).
trait Value: std::str::FromStr {
    fn valid(&self) -> bool;
}

impl Value for u64 {
    fn valid(&self) -> bool {
        true
    }
}

impl Value for f64 {
    fn valid(&self) -> bool {
        self.is_finite() && *self >= 0.0
    }
}

fn parse_value<T: Value>(text: &str) -> Option<T> {
    text.trim().parse::<T>().ok().filter(Value::valid)
}

thresholds! {
    /// CLOSE-WAIT sockets in one process that make a warning even when none persisted.
    close_wait_warn: u64 = 5,
    /// Persisting CLOSE-WAIT sockets (same cookie across the window) that make it critical.
    close_wait_crit_persisting: u64 = 1,
    /// Open fds / soft RLIMIT_NOFILE.
    fd_warn: f64 = 0.80,
    fd_crit: f64 = 0.95,
    /// Sockets held by a process still on the default soft limit of 1024.
    fd_default_limit_sockets: u64 = 256,
    /// System file handles / fs.file-max.
    files_warn: f64 = 0.80,
    files_crit: f64 = 0.95,
    /// Accept queue / backlog.
    accept_queue_warn: f64 = 0.80,
    /// SYN-RECV sockets on the host.
    syn_recv_warn: u64 = 256,
    /// TIME-WAIT sockets worth a note.
    time_wait_info: u64 = 1000,
    /// TIME-WAIT sockets / net.ipv4.tcp_max_tw_buckets.
    time_wait_buckets_warn: f64 = 0.50,
    /// Connections to one destination from one address / size of ip_local_port_range.
    ephemeral_warn: f64 = 0.70,
    ephemeral_crit: f64 = 0.90,
    /// Orphaned sockets / net.ipv4.tcp_max_orphans.
    orphans_warn: f64 = 0.50,
    /// Orphaned sockets that warn when tcp_max_orphans cannot be read (it is a global sysctl,
    /// invisible from a network namespace other than the host's).
    orphans_count_warn: u64 = 1000,
    /// Retransmitted segments over a connection's life that flag it.
    retrans_per_connection: u64 = 5,
    /// Host retransmitted / sent segments over the window.
    retrans_rate_warn: f64 = 0.01,
    retrans_rate_crit: f64 = 0.05,
    /// Segments sent in the window below which the rate is not judged.
    retrans_min_segments: u64 = 1000,
    /// Bytes in Recv-Q or Send-Q, in both snapshots, that make a queue stuck.
    stuck_queue_bytes: u64 = 4096,
    /// Seconds without data in either direction that make a connection idle.
    keepalive_idle_secs: u64 = 1800,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security issue 20: `--set fd_warn=NaN` silenced the rule; `-1` made no sense.
    #[test]
    fn nan_infinite_and_negative_thresholds_are_refused() {
        let mut t = Thresholds::default();
        for bad in ["NaN", "nan", "inf", "-1", "-0.5", "", "x"] {
            assert!(t.set("fd_warn", bad).is_err(), "{bad:?} accepted");
        }
        assert!(t.set("time_wait_info", "-1").is_err());
        t.set("fd_warn", " 0.5 ").unwrap();
        assert_eq!(t.fd_warn, 0.5);
        let e = t.set("no\x1b]0;x\x07", "1").unwrap_err();
        assert!(!e.to_string().contains('\x1b'), "{e}");
    }
}
