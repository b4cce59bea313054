//! A process's rows in the view, packed: its fd entries as the capture encodes them, the
//! socket each one holds (an index into the view's one socket list), and the rarer parts of
//! the few rows that have them. Rows are decoded one at a time as they are read, so `fds`
//! on a host of a million socket fds holds ~20 bytes a row, not the 120 of an `FdRow`.

use super::{FdRow, RowMore, SocketRef};
use crate::capture::fdlist::FdList;
use crate::model::Socket;
use crate::sockopts::SockOpts;
use serde::Serialize;
use std::sync::Arc;

/// One number a row, an index into a list the view holds, or `NONE`; empty when no row has
/// one (4 bytes a row where an `Option<u32>` is 8).
#[derive(Clone, Debug, Default)]
struct Column(Vec<u32>);

impl Column {
    const NONE: u32 = u32::MAX;

    fn of(values: impl IntoIterator<Item = Option<u32>>) -> Column {
        let mut values: Vec<u32> = values.into_iter().map(|v| v.unwrap_or(Self::NONE)).collect();
        if values.iter().all(|v| *v == Self::NONE) {
            return Column::default();
        }
        values.shrink_to_fit();
        Column(values)
    }

    fn get(&self, row: usize) -> Option<u32> {
        self.0.get(row).copied().filter(|v| *v != Self::NONE)
    }

    /// The values of the rows `keep` keeps.
    fn keep(&self, keep: &[bool]) -> Column {
        Column::of(self.0.iter().zip(keep).filter(|(_, k)| **k).map(|(v, _)| Some(*v).filter(|v| *v != Self::NONE)))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Rows {
    entries: FdList,
    /// Each row's socket in `sockets`: none for a row that is not a socket, or a socket the
    /// dump did not list.
    socket: Column,
    sockets: Option<Arc<Vec<Socket>>>,
    /// Each row's group of peers in the view's shared objects: none when peers were not
    /// asked for, or nothing else holds the row's object.
    peers: Column,
    /// Each row's options in `option_sets`: none when not read, or not a socket.
    opts: Column,
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
            let socket = self
                .socket
                .get(i)
                .zip(self.sockets.as_ref())
                .map(|(index, all)| SocketRef { all: Arc::clone(all), index });
            let more = more.next_if(|(at, _)| *at as usize == i).map(|(_, m)| &**m);
            let sockopts = self.opts.get(i).zip(self.option_sets.as_ref()).and_then(|(id, sets)| sets.get(id as usize));
            FdRow { entry, socket, more, peer_group: self.peers.get(i), sockopts }
        })
    }

    /// Each row's socket: its place in `sockets` (the view's one list), one value a row.
    pub(super) fn set_sockets(&mut self, of_rows: impl IntoIterator<Item = Option<u32>>, sockets: &Arc<Vec<Socket>>) {
        self.socket = Column::of(of_rows);
        self.sockets = (!self.socket.0.is_empty()).then(|| Arc::clone(sockets));
    }

    /// Each row's group of peers in the view's shared objects, one value a row.
    pub(super) fn set_peer_groups(&mut self, of_rows: impl IntoIterator<Item = Option<u32>>) {
        self.peers = Column::of(of_rows);
    }

    /// Each row's options: its set's place in `sets`, one value a row.
    pub(super) fn set_options(&mut self, of_rows: impl IntoIterator<Item = Option<u32>>, sets: &Arc<Vec<SockOpts>>) {
        self.opts = Column::of(of_rows);
        self.option_sets = (!self.opts.0.is_empty()).then(|| Arc::clone(sets));
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
        let mut more = Vec::new();
        let mut old_more = std::mem::take(&mut self.more).into_iter().peekable();
        for (i, e) in self.entries.iter().enumerate() {
            let this_more = old_more.next_if(|(at, _)| *at as usize == i).map(|(_, m)| m);
            if !keep.get(i).copied().unwrap_or(false) {
                continue;
            }
            let row = entries.len() as u32;
            entries.push(&e);
            if let Some(m) = this_more {
                more.push((row, m));
            }
        }
        entries.shrink();
        let (socket, peers, opts) = (self.socket.keep(keep), self.peers.keep(keep), self.opts.keep(keep));
        let sockets = self.sockets.take().filter(|_| !socket.0.is_empty());
        let option_sets = self.option_sets.take().filter(|_| !opts.0.is_empty());
        *self = Rows { entries, socket, sockets, peers, opts, option_sets, more };
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

    /// Each row comes back with its own socket, peers, options and rarer parts; kept rows
    /// keep theirs.
    #[test]
    fn rows_keep_their_sockets_and_rarer_parts() {
        let all = sockets();
        let mut r = rows();
        r.more_mut(4).protocol = Some("TCPv6".into());
        r.set_sockets([None, Some(0), None, Some(1), None], &all);
        r.set_peer_groups([None, None, Some(7), None, None]);
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
        r.set_options([None, Some(0), None, Some(1), Some(0)], &sets);
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
