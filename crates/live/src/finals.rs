//! The last byte counts of TCP sockets as the kernel frees them, from the sock_diag destroy
//! groups (joined inside each namespace read, as a group carries only its own namespace's
//! sockets): a connection seen at one refresh that closes before the next is counted to its
//! close, not to the last look.

use sockscope_core::freed::FreedListener;
use sockscope_core::model::Netns;
use std::collections::HashMap;

/// A freed socket's counters: bytes acknowledged and received (tcp_info), `None` when the
/// kernel did not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Final {
    pub acked: Option<u64>,
    pub received: Option<u64>,
}

/// Most freed sockets' counters kept between two refreshes; past it the rest are dropped
/// and counted (a storm of closes between two looks would otherwise grow without bound).
const KEPT_AT_MOST: usize = 1 << 20;

pub struct Finals {
    listeners: Vec<FreedListener>,
    /// Records dropped past the cap.
    dropped: u64,
}

impl Finals {
    /// Joins the destroy groups of `namespaces` (empty: this process's). A namespace that
    /// cannot be joined is left out: entering one needs CAP_SYS_ADMIN, and without it the
    /// namespace's table cannot be read either, which the table's warnings say.
    pub fn open(namespaces: &[Netns]) -> Finals {
        let own = sockscope_core::netns::own(std::path::Path::new("/proc"));
        let mut listeners: Vec<FreedListener> = Vec::new();
        if namespaces.is_empty() {
            listeners.extend(FreedListener::open(false).ok());
        }
        for ns in namespaces {
            let opened = if Some(ns.inode) == own {
                FreedListener::open(false).ok()
            } else {
                sockscope_core::netns::run_in(ns, || FreedListener::open(false)).ok().and_then(Result::ok)
            };
            listeners.extend(opened);
        }
        Finals { listeners, dropped: 0 }
    }

    /// Every freed TCP socket's counters since the last call, by cookie, into `into`.
    pub fn drain(&mut self, into: &mut HashMap<u64, Final>) {
        let mut dropped = 0;
        for l in &mut self.listeners {
            // A read error ends this listener's drain; the next refresh tries again.
            let _ = l.drain(|f| {
                let Some(cookie) = f.socket.cookie else { return };
                if into.len() >= KEPT_AT_MOST {
                    dropped += 1;
                    return;
                }
                let info = f.socket.details.as_ref().and_then(|d| d.tcp_info.as_ref());
                let counters = Final {
                    acked: info.and_then(|i| i.bytes_acked()),
                    received: info.and_then(|i| i.bytes_received()),
                };
                into.insert(cookie.get(), counters);
            });
        }
        self.dropped += dropped;
    }

    /// Times records were lost since the start: the kernel's buffer overflows (it does not
    /// say how many records each lost) and records dropped past the cap. A closed
    /// connection whose record was lost counts nothing after the last look.
    pub fn lost(&self) -> u64 {
        self.dropped + self.listeners.iter().map(|l| l.overflows).sum::<u64>()
    }
}
