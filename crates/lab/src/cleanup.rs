//! Closing a scenario's fds leaves the kernel with TIME-WAIT and other closing sockets for up
//! to a minute. To leave nothing behind, they are destroyed (SOCK_DESTROY, as `ss -K`) —
//! where the kernel allows it (CAP_NET_ADMIN, CONFIG_INET_DIAG_DESTROY); otherwise they
//! expire on their own.

use sockscope_core::model::{SockState, StateSet};
use sockscope_core::netlink::{DiagSocket, Query};
use sockscope_core::{Netid, Selection};
use std::time::{Duration, Instant};

const CLOSING: [SockState; 6] = [
    SockState::TimeWait,
    SockState::FinWait1,
    SockState::FinWait2,
    SockState::Closing,
    SockState::LastAck,
    SockState::CloseWait,
];

/// Destroys closing TCP sockets with any of `ports` at either end, for up to half a second
/// while connections finish closing. Returns how many it destroyed.
pub fn reap_closing(ports: &[u16]) -> usize {
    let Ok(mut diag) = DiagSocket::open() else { return 0 };
    let sel = Selection::resolve(&[Netid::Tcp], &[], StateSet::of(&CLOSING));
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut destroyed = 0;
    loop {
        let mut found = Vec::new();
        if diag.collect(&Query::new(sel), &mut found).is_err() {
            return destroyed;
        }
        found.retain(|s| {
            s.local.port().is_some_and(|p| ports.contains(&p)) || s.peer.port().is_some_and(|p| ports.contains(&p))
        });
        if found.is_empty() || Instant::now() > deadline {
            return destroyed;
        }
        for s in &found {
            match diag.destroy(s) {
                Ok(()) => destroyed += 1,
                // Not allowed or not supported: they expire by themselves.
                Err(_) => return destroyed,
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
