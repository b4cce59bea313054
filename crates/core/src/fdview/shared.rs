//! The objects several fds share (pipes, socket pairs and loopback connections, eventfds)
//! and who holds each. Every holder is one entry of one list, sorted by object, and each
//! group of peers is a run of it. On 200k sockets held twice (400k socket fds), a map of
//! holder vectors, a vector of named peers per object and a box per row took
//! `fds --peers` to 124 MiB; 16-byte holders in one list, a `u32` group per row, 60 MiB.

use crate::hosts::Host;
use crate::model::{Endpoint, FdDetails, FdEntry, FdKind, FdName, Socket};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use std::collections::HashMap;

/// What several fds can share: JSON names it `pipe`, `eventfd` or `socket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedKind {
    Pipe,
    Eventfd,
    Socket,
}

/// An object several fds can share: its kind in the top two bits, its inode (eventfd: its
/// id) below. Pipe and socket inodes and eventfd ids are 32-bit numbers in the kernel.
type SharedKey = u64;

const KIND_SHIFT: u32 = 62;

fn key(kind: SharedKind, id: u64) -> Option<SharedKey> {
    (id < 1 << KIND_SHIFT).then_some((kind as u64) << KIND_SHIFT | id)
}

fn kind_of(key: SharedKey) -> SharedKind {
    match key >> KIND_SHIFT {
        0 => SharedKind::Pipe,
        1 => SharedKind::Eventfd,
        _ => SharedKind::Socket,
    }
}

/// The object an fd is on: its pipe, socket or eventfd.
fn object_of(e: &FdEntry) -> Option<SharedKey> {
    match (&e.kind, e.inode, e.details.as_deref()) {
        (FdKind::Fifo, Some(i), _) if e.is_pipe() => key(SharedKind::Pipe, i),
        (FdKind::Socket, Some(i), _) => key(SharedKind::Socket, i),
        (FdKind::Eventfd, _, Some(FdDetails::Eventfd { id: Some(id), .. })) => key(SharedKind::Eventfd, u64::from(*id)),
        _ => None,
    }
}

/// One fd on an object: (object, pid, fd), 16 bytes.
type Holder = (SharedKey, u32, u32);

/// Another process's (or this process's other) fd on the same pipe, socket pair, loopback
/// connection or eventfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Peer<'a> {
    pub pid: u32,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub command: &'a str,
    pub fd: u32,
}

/// The view's groups of peers: `FdRow::peer_group` numbers one. JSON lists each as an
/// object: `{kind, id, holders: [{pid, command, fd}]}`.
#[derive(Clone, Debug, Default)]
pub struct Shared {
    /// Every fd on a pipe, socket or eventfd, sorted by object.
    holders: Vec<Holder>,
    /// Each group's run of `holders`: start and end.
    groups: Vec<(u32, u32)>,
    /// The holders' command names, by pid.
    commands: HashMap<u32, Box<str>>,
}

impl Shared {
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Group `group`: its object and who holds it.
    pub fn get(&self, group: u32) -> Option<SharedObject<'_>> {
        let &(start, end) = self.groups.get(group as usize)?;
        let run = self.holders.get(start as usize..end as usize)?;
        let &(key, _, _) = run.first()?;
        Some(SharedObject { kind: kind_of(key), id: key & ((1 << KIND_SHIFT) - 1), run, commands: &self.commands })
    }

    pub fn iter(&self) -> impl Iterator<Item = SharedObject<'_>> + '_ {
        (0..self.groups.len() as u32).filter_map(|g| self.get(g))
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A pipe, eventfd or socket held by several fds, with every (process, fd) that holds it.
/// Listed once and referenced from the fds (`peer_group`): 10,000 processes sharing one
/// pipe make 10,000 holders here, not 10,000 lists of 10,000 peers.
#[derive(Clone, Copy, Debug)]
pub struct SharedObject<'a> {
    pub kind: SharedKind,
    /// The pipe's or socket's inode, or the eventfd's id.
    pub id: u64,
    run: &'a [Holder],
    commands: &'a HashMap<u32, Box<str>>,
}

impl<'a> SharedObject<'a> {
    pub fn holders(self) -> impl Iterator<Item = Peer<'a>> + 'a {
        let commands = self.commands;
        self.run.iter().map(move |&(_, pid, fd)| Peer { pid, command: commands.get(&pid).map_or("?", |c| c), fd })
    }
}

impl Serialize for SharedObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Holders<'a>(SharedObject<'a>);
        impl Serialize for Holders<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.holders())
            }
        }
        let mut st = s.serialize_struct("SharedObject", 3)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("holders", &Holders(*self))?;
        st.end()
    }
}

/// A run of holders whose object has no group yet.
const NO_GROUP: u32 = u32::MAX;

/// Who holds each pipe, socket and eventfd on the host, as the tables are read.
#[derive(Default)]
pub(super) struct PeerIndex {
    holders: Vec<Holder>,
    commands: HashMap<u32, Box<str>>,
}

impl PeerIndex {
    pub(super) fn add(&mut self, pid: u32, command: Option<&str>, e: &FdEntry) {
        let (FdName::Number(fd), Some(key)) = (e.fd, object_of(e)) else { return };
        self.holders.push((key, pid, fd));
        if let Some(c) = command {
            self.commands.entry(pid).or_insert_with(|| c.into());
        }
    }

    /// The index, sorted, ready to give each fd its group of peers.
    pub(super) fn groups<'s>(self, host: &'s dyn Host, sockets: &'s [Socket]) -> Groups<'s> {
        let PeerIndex { mut holders, commands } = self;
        // Stable: each object's holders stay in the order they were read.
        holders.sort_by_key(|(key, _, _)| *key);
        let group_at = vec![NO_GROUP; holders.len()];
        Groups { host, by_ends: ByEnds::of(sockets), holders, group_at, groups: Vec::new(), commands }
    }
}

/// The groups of peers, made as the fds are asked about, each once.
pub(super) struct Groups<'s> {
    host: &'s dyn Host,
    by_ends: ByEnds<'s>,
    /// Sorted by object.
    holders: Vec<Holder>,
    /// Each run's group, at the run's first holder, once it is made.
    group_at: Vec<u32>,
    groups: Vec<(u32, u32)>,
    commands: HashMap<u32, Box<str>>,
}

impl Groups<'_> {
    /// The group of the fds at the other end of `entry` (its socket, when it is one of the
    /// view's): for a pipe or eventfd the object itself, for a socket its other end.
    pub(super) fn of(&mut self, entry: &FdEntry, socket: Option<&Socket>) -> Option<u32> {
        let FdName::Number(_) = entry.fd else { return None };
        let key = match (&entry.kind, socket) {
            (FdKind::Socket, Some(s)) => match &s.peer {
                Endpoint::Unix { inode, .. } if *inode != 0 => key(SharedKind::Socket, *inode),
                Endpoint::Inet { .. } => self.by_ends.inode(&s.peer, &s.local).and_then(|i| key(SharedKind::Socket, i)),
                _ => None,
            },
            // A socket the dump did not list: its other end is not known.
            (FdKind::Socket, None) => None,
            _ => object_of(entry),
        }?;
        let start = self.holders.partition_point(|(k, _, _)| *k < key);
        let end = start + self.holders[start..].partition_point(|(k, _, _)| *k == key);
        if start == end {
            return None;
        }
        if self.group_at[start] == NO_GROUP {
            let group = u32::try_from(self.groups.len()).ok()?;
            let run = (u32::try_from(start).ok()?, u32::try_from(end).ok()?);
            let host = self.host;
            for &(_, pid, _) in &self.holders[start..end] {
                self.commands.entry(pid).or_insert_with(|| host.command(pid).unwrap_or_else(|| "?".into()).into());
            }
            self.groups.push(run);
            self.group_at[start] = group;
        }
        Some(self.group_at[start])
    }

    pub(super) fn finish(self) -> Shared {
        Shared { holders: self.holders, groups: self.groups, commands: self.commands }
    }
}

/// Connected inet sockets by their two ends, to find a loopback connection's other end:
/// (hash of the ends, socket) sorted by hash, 16 bytes a socket against a map's ~35.
struct ByEnds<'s> {
    sockets: &'s [Socket],
    by_hash: Vec<(u64, u32)>,
}

impl<'s> ByEnds<'s> {
    fn of(sockets: &'s [Socket]) -> ByEnds<'s> {
        let mut by_hash: Vec<(u64, u32)> = sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.local, Endpoint::Inet { .. }) && s.inode != 0)
            .filter_map(|(i, s)| Some((Self::hash(&s.local, &s.peer), u32::try_from(i).ok()?)))
            .collect();
        by_hash.sort_unstable();
        ByEnds { sockets, by_hash }
    }

    fn hash(local: &Endpoint, peer: &Endpoint) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one((local, peer))
    }

    /// The inode of the socket whose ends are `local` and `peer`.
    fn inode(&self, local: &Endpoint, peer: &Endpoint) -> Option<u64> {
        let h = Self::hash(local, peer);
        let start = self.by_hash.partition_point(|(k, _)| *k < h);
        self.by_hash[start..]
            .iter()
            .take_while(|(k, _)| *k == h)
            .map(|(_, i)| &self.sockets[*i as usize])
            .filter(|s| s.local == *local && s.peer == *peer)
            // The last, as a map filled in socket order kept (ends are unique but for
            // sockets that are not connected).
            .last()
            .map(|s| s.inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Netid, SockState};
    use proptest::prelude::*;

    proptest! {
        /// A key gives back its kind and id, for any id below the kind's bits.
        #[test]
        fn keys_give_back_kind_and_id(id in 0u64..1 << KIND_SHIFT, k in 0usize..3) {
            let kind = [SharedKind::Pipe, SharedKind::Eventfd, SharedKind::Socket][k];
            let key = key(kind, id).unwrap();
            prop_assert_eq!((kind_of(key), key & ((1 << KIND_SHIFT) - 1)), (kind, id));
        }
    }

    #[test]
    fn an_id_too_big_for_a_key_has_none() {
        assert_eq!(key(SharedKind::Socket, 1 << KIND_SHIFT), None);
        assert_eq!(key(SharedKind::Pipe, u64::MAX), None);
    }

    fn inet(local: u16, peer: u16, inode: u64) -> Socket {
        let end = |port| Endpoint::Inet { address: "127.0.0.1".parse().unwrap(), port };
        let mut s = Socket::new(Netid::Tcp, Family::Inet, SockState::Established, end(local), end(peer));
        s.inode = inode;
        s
    }

    /// A connection's other end is found by its two ends, swapped; where two sockets have
    /// the same ends, the later one, as a map filled in order would.
    #[test]
    fn ends_find_the_other_socket() {
        let sockets = vec![inet(1, 2, 10), inet(2, 1, 11), inet(3, 4, 12), inet(3, 4, 13), inet(5, 6, 0)];
        let by_ends = ByEnds::of(&sockets);
        let find = |l: u16, p: u16| by_ends.inode(&inet(l, p, 0).local, &inet(l, p, 0).peer);
        assert_eq!((find(1, 2), find(2, 1), find(3, 4)), (Some(10), Some(11), Some(13)));
        assert_eq!((find(4, 3), find(5, 6)), (None, None), "no such socket, and one without an inode");
    }

    /// JSON lists each group as its object and holders, names from the commands.
    #[test]
    fn groups_serialize_as_objects_with_holders() {
        let pipe = key(SharedKind::Pipe, 7).unwrap();
        let sock = key(SharedKind::Socket, 9).unwrap();
        let shared = Shared {
            holders: vec![(pipe, 1, 3), (pipe, 2, 4), (sock, 2, 5)],
            groups: vec![(2, 3), (0, 2)],
            commands: HashMap::from([(1, "a".into())]),
        };
        assert_eq!(
            serde_json::to_value(&shared).unwrap(),
            serde_json::json!([
                {"kind": "socket", "id": 9, "holders": [{"pid": 2, "command": "?", "fd": 5}]},
                {"kind": "pipe", "id": 7, "holders": [{"pid": 1, "command": "a", "fd": 3}, {"pid": 2, "command": "?", "fd": 4}]},
            ])
        );
        assert_eq!((shared.len(), shared.get(2).map(|o| o.id)), (2, None));
    }
}
