//! The doctor's second look at the TCP sockets, a window after the first: enough of each
//! to tell what persisted.

use super::{SockState, Socket};

/// What the second look keeps of a socket: enough to tell what persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Later {
    pub state: SockState,
    pub recv_q: u32,
    pub send_q: u32,
}

/// The second look's sockets by cookie, sorted and searched: a hash map of 200k cookies
/// took twice the memory.
#[derive(Clone, Debug, Default)]
pub struct SecondLook(Vec<(u64, Later)>);

impl SecondLook {
    pub fn get(&self, cookie: u64) -> Option<Later> {
        self.0.binary_search_by_key(&cookie, |e| e.0).ok().map(|i| self.0[i].1)
    }

    /// What the second look keeps of these sockets: those with a cookie.
    pub fn of(sockets: &[Socket]) -> SecondLook {
        sockets
            .iter()
            .filter_map(|s| {
                Some((s.cookie?.get(), Later { state: s.state, recv_q: s.recv_q, send_q: s.send_q.unwrap_or(0) }))
            })
            .collect()
    }

    /// Each socket's (cookie, what was seen), by cookie.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Later)> + '_ {
        self.0.iter().copied()
    }

    pub fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        self.0.retain(|e| keep(e.0));
    }
}

impl FromIterator<(u64, Later)> for SecondLook {
    fn from_iter<I: IntoIterator<Item = (u64, Later)>>(iter: I) -> Self {
        let mut v: Vec<(u64, Later)> = iter.into_iter().collect();
        v.sort_unstable_by_key(|e| e.0);
        v.dedup_by_key(|e| e.0);
        v.shrink_to_fit();
        SecondLook(v)
    }
}
