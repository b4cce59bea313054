//! `serve --events`: connections accepted and closed per listened port, and how long they
//! lived, from the kernel's TCP state changes as they happen (`sockscope_events`), not from
//! periodic looks: a connection shorter than a scrape interval is counted too.
//!
//! An accepted connection is one that went SYN-RECV → ESTABLISHED; its port is its local
//! port (the listener's). It is followed by its addresses until it reaches CLOSE, which
//! counts it closed with its life's length. Connections accepted before serve started are
//! not counted when they close (their start was not seen).
//!
//! With --netns or --all-netns, each port is counted per network namespace: its name under
//! /run/netns, else `net:[INODE]` (one label value per namespace, however they are named),
//! with the container or pod whose namespace it is as a label of its own.

use sockscope_core::SockState;
use sockscope_events::{Event, Monitor, Options, Scope};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the duration histogram's buckets, in seconds (and +Inf).
pub const BUCKETS: [f64; 8] = [0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 300.0, 3600.0];
/// Most connections followed at once; past it new ones are not followed (and counted).
const FOLLOWED_AT_MOST: usize = 1 << 20;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PortLives {
    pub accepted: u64,
    pub closed: u64,
    /// Cumulative counts per bucket of `BUCKETS`, then +Inf.
    pub buckets: [u64; BUCKETS.len() + 1],
    pub seconds: f64,
}

/// A namespace's label values: `netns` (its name, else `net:[INODE]`) and `container`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetnsLabels {
    pub netns: String,
    pub container: Option<String>,
}

/// What the monitor thread shares with the scrapes.
#[derive(Default)]
pub struct Lifetimes {
    /// Per (namespace, with --netns or --all-netns; listened port).
    pub ports: BTreeMap<(Option<NetnsLabels>, u16), PortLives>,
    /// Accepted connections not followed (too many at once).
    pub unfollowed: u64,
    /// Why the monitor stopped, when it did.
    pub failed: Option<String>,
}

/// Follows accepted connections from their transitions.
#[derive(Default)]
pub struct Follower {
    /// (namespace inode, local, peer) → when it was accepted, and its series' namespace.
    open: HashMap<(u64, SocketAddr, SocketAddr), (u64, Option<NetnsLabels>)>,
}

impl Follower {
    /// `label`: a namespace's labels by its inode (None: namespaces are not labelled).
    pub fn take(&mut self, events: &[Event], into: &mut Lifetimes, label: impl Fn(u64) -> Option<NetnsLabels>) {
        for e in events {
            let Event::Transition(t) = e else { continue };
            let key = (t.netns, t.local, t.peer);
            if t.old == SockState::SynRecv && t.new == SockState::Established {
                let netns = label(t.netns);
                into.ports.entry((netns.clone(), t.local.port())).or_default().accepted += 1;
                if self.open.len() < FOLLOWED_AT_MOST {
                    self.open.insert(key, (t.time_ns, netns));
                } else {
                    into.unfollowed += 1;
                }
            } else if t.new == SockState::Close
                && let Some((start, netns)) = self.open.remove(&key)
            {
                let secs = t.time_ns.saturating_sub(start) as f64 / 1e9;
                let p = into.ports.entry((netns, t.local.port())).or_default();
                p.closed += 1;
                p.seconds += secs;
                for (i, le) in BUCKETS.iter().enumerate() {
                    if secs <= *le {
                        p.buckets[i] += 1;
                    }
                }
                p.buckets[BUCKETS.len()] += 1;
            }
        }
    }
}

/// Opens the kernel's tracepoints (an error says why they cannot be used) and follows the
/// namespaces of `scope` on a thread of its own until `stop`.
pub fn start(stop: Arc<AtomicBool>, scope: Scope) -> Result<Arc<Mutex<Lifetimes>>, String> {
    let labelled = !matches!(scope, Scope::Own);
    let mut monitor = Monitor::open(Options::default(), scope).map_err(|e| e.to_string())?;
    let shared = Arc::new(Mutex::new(Lifetimes::default()));
    let out = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("events".into())
        .spawn(move || {
            let mut follower = Follower::default();
            let mut batch = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                batch.clear();
                if let Err(e) = monitor.poll(Duration::from_millis(200), &mut batch) {
                    if let Ok(mut l) = out.lock() {
                        l.failed = Some(e.to_string());
                    }
                    return;
                }
                for note in monitor.take_notes() {
                    // The log: a full or closed stderr loses the note, never the exporter.
                    let _ = writeln!(std::io::stderr().lock(), "sockscope: note: --events: {note}");
                }
                let label = |inode: u64| {
                    labelled.then(|| {
                        let ns = monitor.namespace(inode);
                        NetnsLabels {
                            netns: ns.and_then(|n| n.name.clone()).unwrap_or_else(|| format!("net:[{inode}]")),
                            container: ns.and_then(|n| n.container.as_ref()).map(|c| c.label()),
                        }
                    })
                };
                if let Ok(mut l) = out.lock() {
                    follower.take(&batch, &mut l, label);
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(shared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockscope_events::Transition;

    fn t(local: u16, peer: u16, old: SockState, new: SockState, ms: u64) -> Event {
        Event::Transition(Transition {
            time_ns: ms * 1_000_000,
            owner: None,
            local: SocketAddr::from(([127, 0, 0, 1], local)),
            peer: SocketAddr::from(([127, 0, 0, 1], peer)),
            old,
            new,
            in_old_ns: None,
            netns: 1,
        })
    }

    #[test]
    fn accepted_connections_are_counted_and_timed_to_their_close() {
        let mut f = Follower::default();
        let mut l = Lifetimes::default();
        f.take(
            &[
                t(80, 5000, SockState::SynRecv, SockState::Established, 0),
                t(80, 5001, SockState::SynRecv, SockState::Established, 10),
                // A client's own connection (active open) is not counted.
                t(6000, 80, SockState::SynSent, SockState::Established, 10),
                t(80, 5000, SockState::Established, SockState::CloseWait, 20),
                t(80, 5000, SockState::LastAck, SockState::Close, 50),
                // Accepted before we looked: not counted at its close.
                t(80, 4000, SockState::FinWait2, SockState::Close, 60),
            ],
            &mut l,
            |_| None,
        );
        let p = &l.ports[&(None, 80)];
        assert_eq!((p.accepted, p.closed), (2, 1));
        assert!((p.seconds - 0.05).abs() < 1e-9);
        // 50 ms: not in the 1 ms or 10 ms buckets, in every bucket from 100 ms up.
        assert_eq!(p.buckets, [0, 0, 1, 1, 1, 1, 1, 1, 1]);
        assert!(!l.ports.contains_key(&(None, 6000)));
    }
}
