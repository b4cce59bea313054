//! Closing a scenario's fds leaves the kernel with TIME-WAIT and other closing sockets for up
//! to a minute. To leave nothing behind, they are destroyed (SOCK_DESTROY, as `ss -K`) —
//! where the kernel allows it (CAP_NET_ADMIN, CONFIG_INET_DIAG_DESTROY); otherwise they
//! expire on their own.

use sockscope_core::destroy::Destroyer;
use sockscope_core::model::{SockState, StateSet};
use sockscope_core::{Collector, Endpoint, Netid, Selection, SnapshotOptions, Socket, Source};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The TCP connections a scenario made, recorded as it made them (both ends' exact
/// addresses). Cleanup destroys these and nothing else: another program's connection that
/// happens to use the same port — on another address, or to another peer — is never touched.
#[derive(Clone, Debug, Default)]
pub struct Footprint {
    /// Each connection once, its two ends in a fixed order, so the client's socket
    /// (client → server) and the server's (server → client) both match.
    connections: HashSet<(SocketAddr, SocketAddr)>,
}

impl Footprint {
    /// Records a connection between `a` and `b` (either end first).
    pub fn add(&mut self, a: SocketAddr, b: SocketAddr) {
        self.connections.insert(if a <= b { (a, b) } else { (b, a) });
    }

    /// The connections of these streams, as they are now (before they are closed).
    pub fn of_streams<'a>(streams: impl IntoIterator<Item = &'a std::net::TcpStream>) -> Footprint {
        streams.into_iter().filter_map(|s| Some((s.local_addr().ok()?, s.peer_addr().ok()?))).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// Whether this socket is one end of a recorded connection.
    pub fn holds(&self, s: &Socket) -> bool {
        let (Endpoint::Inet { address: la, port: lp }, Endpoint::Inet { address: pa, port: pp }) = (&s.local, &s.peer)
        else {
            return false;
        };
        let (a, b) = (SocketAddr::new(*la, *lp), SocketAddr::new(*pa, *pp));
        self.connections.contains(&if a <= b { (a, b) } else { (b, a) })
    }
}

const CLOSING: [SockState; 6] = [
    SockState::TimeWait,
    SockState::FinWait1,
    SockState::FinWait2,
    SockState::Closing,
    SockState::LastAck,
    SockState::CloseWait,
];

impl Extend<(SocketAddr, SocketAddr)> for Footprint {
    fn extend<I: IntoIterator<Item = (SocketAddr, SocketAddr)>>(&mut self, pairs: I) {
        for (a, b) in pairs {
            self.add(a, b);
        }
    }
}

impl FromIterator<(SocketAddr, SocketAddr)> for Footprint {
    fn from_iter<I: IntoIterator<Item = (SocketAddr, SocketAddr)>>(pairs: I) -> Self {
        let mut f = Footprint::default();
        f.extend(pairs);
        f
    }
}

/// Destroys the closing TCP sockets of `footprint`'s connections until none of them is left,
/// for up to two seconds while connections finish closing (on a loaded 2-core machine, half
/// a second left TIME-WAITs behind; so did stopping at the first look that found none
/// closing while some were still on their way). Returns how many it destroyed.
pub fn reap_closing(footprint: &Footprint) -> usize {
    if footprint.is_empty() {
        return 0;
    }
    let Ok(mut destroyer) = Destroyer::open() else { return 0 };
    // Every state: a connection whose close is still on its way (its peer's FIN not yet
    // processed) is not closing yet, but will be; the reaping ends when none is left.
    let sel = Selection::resolve(&[Netid::Tcp], &[], StateSet::ALL);
    let mut opts = SnapshotOptions::new(sel);
    opts.source = Source::Netlink;
    let mut collector = Collector::new(opts);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut destroyed = 0;
    let closing = StateSet::of(&CLOSING);
    loop {
        let Ok(snap) = collector.collect() else { return destroyed };
        let left: Vec<&Socket> = snap.sockets.iter().filter(|s| footprint.holds(s)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return destroyed;
        }
        for s in left.into_iter().filter(|s| closing.contains(s.state)) {
            match destroyer.destroy(s) {
                Ok(()) => destroyed += 1,
                // Not allowed or not supported: they expire by themselves.
                Err(_) => return destroyed,
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
