//! A process's rows in the view, packed: its fd entries as the capture encodes them, the
//! socket each one holds (an index into the view's one socket list), and the rarer parts of
//! the few rows that have them. Rows are decoded one at a time as they are read, so `fds`
//! on a host of a million socket fds holds ~20 bytes a row, not the 120 of an `FdRow`.

use super::options::NO_OPTS;
use super::{FdRow, RowMore, SocketRef};
use crate::capture::fdlist::FdList;
use crate::model::Socket;
use crate::sockopts::SockOpts;
use serde::Serialize;
use std::sync::Arc;

/// No socket: a row that is not a socket, or a socket the dump did not list.
const NO_SOCKET: u32 = u32::MAX;

/// No peers: peers were not asked for, or nothing else holds the row's object.
const NO_PEERS: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub struct Rows {
    entries: FdList,
    /// Each row's socket in `sockets`, or `NO_SOCKET`; empty while no row has one.
    socket: Vec<u32>,
    sockets: Option<Arc<Vec<Socket>>>,
    /// Each row's group of peers in the view's shared objects, or `NO_PEERS`; empty while no
    /// row has one.
    peers: Vec<u32>,
    /// Each row's options in `option_sets`, or `NO_OPTS`; empty while none were read.
    opts: Vec<u32>,
    option_sets: Option<Arc<Vec<SockOpts>>>,
    /// The rows that have rarer parts, by row number, ascending.
    more: Vec<(u32, Box<RowMore>)>,
}

impl Rows {
    pub fn new(entries: FdList) -> Rows {
        Rows { entries, ..Rows::default() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rows, in order, each decoded as it is reached.
    pub fn iter(&self) -> impl Iterator<Item = FdRow<'_>> + '_ {
        let mut more = self.more.iter().peekable();
        self.entries.iter().enumerate().map(move |(i, entry)| {
            let socket = match (self.socket.get(i), &self.sockets) {
                (Some(&index), Some(all)) if index != NO_SOCKET => Some(SocketRef { all: Arc::clone(all), index }),
                _ => None,
            };
            let more = more.next_if(|(at, _)| *at as usize == i).map(|(_, m)| &**m);
            let sockopts = match (self.opts.get(i), &self.option_sets) {
                (Some(&id), Some(sets)) if id != NO_OPTS => sets.get(id as usize),
                _ => None,
            };
            let peer_group = self.peers.get(i).copied().filter(|g| *g != NO_PEERS);
            FdRow { entry, socket, more, peer_group, sockopts }
        })
    }

    /// Row `i` holds socket `index` of `sockets` (the view's one list).
    pub(super) fn set_socket(&mut self, i: usize, sockets: &Arc<Vec<Socket>>, index: u32) {
        if self.socket.is_empty() {
            self.socket = vec![NO_SOCKET; self.len()];
        }
        if let Some(slot) = self.socket.get_mut(i) {
            *slot = index;
            self.sockets.get_or_insert_with(|| Arc::clone(sockets));
        }
    }

    /// Row `i`'s peers are the holders of group `group` of the view's shared objects.
    pub(super) fn set_peer_group(&mut self, i: usize, group: u32) {
        if self.peers.is_empty() {
            self.peers = vec![NO_PEERS; self.len()];
        }
        if let Some(slot) = self.peers.get_mut(i) {
            *slot = group;
        }
    }

    /// Each row's options: `ids` has the number in `sets` of each row's (`NO_OPTS` for none),
    /// or is empty when no row has options.
    pub(super) fn set_options(&mut self, ids: Vec<u32>, sets: &Arc<Vec<SockOpts>>) {
        if ids.is_empty() {
            return;
        }
        self.opts = ids;
        self.option_sets = Some(Arc::clone(sets));
    }

    /// Row `i`'s rarer parts, made on first use.
    pub fn more_mut(&mut self, i: usize) -> &mut RowMore {
        let at = u32::try_from(i).unwrap_or(u32::MAX);
        let place = match self.more.binary_search_by_key(&at, |(r, _)| *r) {
            Ok(place) => place,
            Err(place) => {
                self.more.insert(place, (at, Box::default()));
                place
            }
        };
        &mut self.more[place].1
    }

    /// Keeps the rows whose `keep` is true (`keep` has one flag a row; rows past its end go).
    pub fn keep(&mut self, keep: &[bool]) {
        if keep.get(..self.len()).is_some_and(|k| k.iter().all(|k| *k)) {
            return;
        }
        let mut entries = FdList::new();
        let mut socket = Vec::new();
        let mut peers = Vec::new();
        let mut opts = Vec::new();
        let mut more = Vec::new();
        let mut old_more = std::mem::take(&mut self.more).into_iter().peekable();
        for (i, e) in self.entries.iter().enumerate() {
            let this_more = old_more.next_if(|(at, _)| *at as usize == i).map(|(_, m)| m);
            if !keep.get(i).copied().unwrap_or(false) {
                continue;
            }
            let row = entries.len() as u32;
            entries.push(&e);
            socket.push(self.socket.get(i).copied().unwrap_or(NO_SOCKET));
            peers.push(self.peers.get(i).copied().unwrap_or(NO_PEERS));
            opts.push(self.opts.get(i).copied().unwrap_or(NO_OPTS));
            if let Some(m) = this_more {
                more.push((row, m));
            }
        }
        // A list that says nothing of the rows kept goes.
        for (list, none) in [(&mut socket, NO_SOCKET), (&mut peers, NO_PEERS), (&mut opts, NO_OPTS)] {
            if list.iter().all(|v| *v == none) {
                *list = Vec::new();
            }
            list.shrink_to_fit();
        }
        entries.shrink();
        *self = Rows {
            entries,
            socket,
            sockets: self.sockets.take(),
            peers,
            opts,
            option_sets: self.option_sets.take(),
            more,
        };
    }
}

impl Serialize for Rows {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, Family, FdEntry, FdName, Netid, SockState};
    use crate::procfs::fdtable::entry_for;

    fn rows() -> Rows {
        let links = ["/dev/null", "socket:[10]", "pipe:[11]", "socket:[12]", "socket:[13]"];
        let entries: Vec<FdEntry> = links
            .iter()
            .enumerate()
            .map(|(i, l)| entry_for(FdName::Number(i as u32), l.to_string(), || None))
            .collect();
        Rows::new(FdList::of(&entries))
    }

    fn sockets() -> Arc<Vec<Socket>> {
        let s = |inode| {
            let mut s = Socket::new(Netid::Tcp, Family::Inet, SockState::Established, Endpoint::None, Endpoint::None);
            s.inode = inode;
            s
        };
        Arc::new(vec![s(10), s(12)])
    }

    /// Each row comes back with its own socket and rarer parts, whatever order they were
    /// given in; kept rows keep theirs.
    #[test]
    fn rows_keep_their_sockets_and_rarer_parts() {
        let all = sockets();
        let mut r = rows();
        r.more_mut(4).protocol = Some("TCPv6".into());
        r.set_socket(3, &all, 1);
        r.set_socket(1, &all, 0);
        r.set_peer_group(2, 7);
        let got: Vec<(Option<u64>, Option<u32>, Option<String>)> = r
            .iter()
            .map(|row| (row.socket.as_ref().map(|s| s.inode), row.peer_group, row.protocol().map(String::from)))
            .collect();
        assert_eq!(
            got,
            vec![
                (None, None, None),
                (Some(10), None, None),
                (None, Some(7), None),
                (Some(12), None, None),
                (None, None, Some("TCPv6".into())),
            ]
        );
        // Options: rows 1 and 4 share a set, row 3 has its own.
        let sets = Arc::new(vec![SockOpts::default(), SockOpts { nodelay: Some(true), ..SockOpts::default() }]);
        r.set_options(vec![NO_OPTS, 0, NO_OPTS, 1, 0], &sets);
        let nodelay =
            |r: &Rows| -> Vec<Option<Option<bool>>> { r.iter().map(|row| row.sockopts.map(|o| o.nodelay)).collect() };
        assert_eq!(nodelay(&r), [None, Some(None), None, Some(Some(true)), Some(None)]);
        r.keep(&[false, false, true, true, true]);
        let fds: Vec<String> = r.iter().map(|row| row.entry.fd.to_string()).collect();
        assert_eq!(fds, ["2", "3", "4"]);
        assert_eq!(nodelay(&r), [None, Some(Some(true)), Some(None)]);
        let got: Vec<(Option<u64>, Option<u32>, bool)> = r
            .iter()
            .map(|row| (row.socket.as_ref().map(|s| s.inode), row.peer_group, row.protocol().is_some()))
            .collect();
        assert_eq!(got, vec![(None, Some(7), false), (Some(12), None, false), (None, None, true)]);
        r.keep(&[]);
        assert!(r.is_empty() && r.iter().next().is_none());
    }
}
