//! One module per rule; each is a pure function of the observation and the thresholds.

mod accept_queue;
mod close_wait;
mod ephemeral;
mod exposed;
mod fd_limit;
mod keepalive;
mod nagle_stall;
mod orphans_memory;
mod retransmits;
mod reuseaddr;
mod stale_unix;
mod stuck_queues;
mod syn_flood;
mod time_wait;
mod udp_drops;

#[cfg(test)]
mod tests;

use super::thresholds::ThresholdError;
use super::{Finding, Observation, ProcessRef};
use crate::Socket;
use crate::text::Untrusted;

pub type Check = fn(&Observation, &Thresholds) -> Vec<Finding>;

/// A rule: its id, what it looks for, its thresholds and its check. Each is defined in its
/// own module; this list, `Thresholds`, the doctor's help and docs/doctor.md (checked by a
/// test) all come from there.
#[derive(Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    /// The keys of its thresholds.
    pub thresholds: &'static [&'static str],
    pub check: Check,
}

macro_rules! rules {
    ($($m:ident),* $(,)?) => {
        /// Every rule, in the order the report lists them.
        pub const ALL: &[Rule] = &[$(Rule {
            id: $m::ID,
            summary: $m::SUMMARY,
            thresholds: $m::Limits::KEYS,
            check: |o, t| $m::check(o, &t.$m),
        }),*];

        /// Every rule's thresholds, one field per rule, under one flat set of keys (in JSON
        /// and for `--set`).
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
        pub struct Thresholds {
            $( #[serde(flatten)] pub $m: $m::Limits, )*
        }

        impl Thresholds {
            /// Every key with its current value, rule by rule.
            pub fn describe(&self) -> Vec<(&'static str, String)> {
                let mut out = Vec::new();
                $( self.$m.describe(&mut out); )*
                out
            }

            /// Sets one threshold by name.
            pub fn set(&mut self, key: &str, value: &str) -> Result<(), ThresholdError> {
                $( if let Some(done) = self.$m.set(key, value) {
                    return done;
                } )*
                Err(ThresholdError::Unknown(key.into()))
            }
        }
    };
}

rules!(
    close_wait,
    fd_limit,
    accept_queue,
    syn_flood,
    time_wait,
    reuseaddr,
    ephemeral,
    orphans_memory,
    retransmits,
    udp_drops,
    exposed,
    stuck_queues,
    keepalive,
    nagle_stall,
    stale_unix,
);

/// Whether a rule may ask what became of this socket at the second look
/// (`Observation::later`): close-wait-leak of CLOSE-WAIT sockets, stuck-queues of
/// established connections with a queue at its threshold. The doctor's second look keeps only
/// these: whole, it was 23 MiB of the doctor's peak at a million idle connections.
pub(crate) fn asks_later(s: &Socket, t: &Thresholds) -> bool {
    close_wait::asks_later(s) || stuck_queues::asks_later(s, &t.stuck_queues)
}

/// Sockets grouped by their first holder (None: held by no readable process), largest
/// group first.
pub(crate) fn by_holder<'a>(
    o: &Observation,
    sockets: impl Iterator<Item = &'a Socket>,
) -> Vec<(Option<ProcessRef>, Vec<&'a Socket>)> {
    let mut groups: Vec<(Option<ProcessRef>, Vec<&'a Socket>)> = Vec::new();
    // Found by the first holder's pid (one process in one look), not by a walk over the
    // groups for each socket: a million flagged sockets over thousands of processes made
    // that billions of comparisons, each after copying the socket's holders.
    let mut group_of: std::collections::HashMap<Option<u32>, usize> = std::collections::HashMap::new();
    for s in sockets {
        let first = o.first.owners_of(s).next();
        let at = *group_of.entry(first.map(|h| h.process.pid)).or_insert_with(|| {
            let holder = first.map(|h| ProcessRef { pid: h.process.pid, command: h.process.command.to_string() });
            groups.push((holder, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(s);
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    groups
}

pub(crate) fn who(p: &Option<ProcessRef>) -> String {
    match p {
        Some(p) => format!("{} (pid {})", Untrusted(&p.command), p.pid),
        None => "no process sockscope can see".to_string(),
    }
}

/// At most ten sockets are listed in a finding; the count is in its evidence.
pub(crate) fn attach(o: &Observation, mut f: Finding, holder: &Option<ProcessRef>, sockets: &[&Socket]) -> Finding {
    f.processes.extend(holder.iter().cloned());
    f.sockets = sockets.iter().take(10).map(|s| o.socket_ref(s)).collect();
    f
}
