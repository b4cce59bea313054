//! The numbers the rules compare against; every one can be changed with `--set KEY=VALUE` or
//! a config file of `KEY = VALUE` lines.

use serde::Serialize;

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
            pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
                match key {
                    $( stringify!($name) => {
                        self.$name = value.trim().parse().map_err(|_| format!("threshold {key}: '{value}' is not a valid number"))?;
                        Ok(())
                    } )*
                    _ => Err(format!("unknown threshold '{key}' (see sockscope doctor --list-thresholds)")),
                }
            }
        }
    };
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
