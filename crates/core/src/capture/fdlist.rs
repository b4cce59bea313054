//! A process's fd table, packed: each entry in the capture's own encoding, one after the
//! other. A capture stores a table this way, and `fds` and `record` hold every process's
//! table this way while they read the rest of the host: a socket fd is ~15 bytes packed
//! against 96 as an `FdEntry`, which at a million socket fds is the difference between
//! ~15 MB and ~96 MB held.

use super::codec::{DecodeError, Reader, Writer};
use crate::model::{EpollWatch, FdDetails, FdEntry, FdKind, FdName, InotifyWatch, OpenFlags, Special};

/// Fd entries in the capture's encoding. Built by `push` or read from a capture by `decode`
/// (which checks every entry), so reading it back cannot fail.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FdList {
    bytes: Vec<u8>,
    len: u32,
    /// The last socket inode pushed: the next one is stored as the difference.
    last_inode: u64,
}

impl FdList {
    pub fn new() -> FdList {
        FdList::default()
    }

    /// The entries of `entries` (owned or borrowed), packed (its spare capacity given back).
    pub fn of<E: std::borrow::Borrow<FdEntry>>(entries: impl IntoIterator<Item = E>) -> FdList {
        let mut list = FdList::new();
        for e in entries {
            list.push(e.borrow());
        }
        list.shrink();
        list
    }

    /// Gives back the spare capacity pushing left.
    pub fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
    }

    pub fn push(&mut self, e: &FdEntry) {
        let mut w = Writer { buf: std::mem::take(&mut self.bytes) };
        encode_entry(&mut w, e, &mut self.last_inode);
        self.bytes = w.buf;
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries, decoded one at a time.
    pub fn iter(&self) -> Entries<'_> {
        Entries { r: Reader::new(&self.bytes), left: self.len, last_inode: 0 }
    }

    /// As a capture stores it: the count, then the entries.
    pub fn encode(&self, w: &mut Writer) {
        w.u(u64::from(self.len));
        w.buf.extend_from_slice(&self.bytes);
    }

    /// A capture's table, every entry checked as it is read.
    pub fn decode(r: &mut Reader<'_>) -> Result<FdList, DecodeError> {
        let n = r.count()?;
        let len = u32::try_from(n).or_else(|_| r.fail("an fd table has too many entries"))?;
        let start = r.position();
        let mut last_inode = 0;
        for _ in 0..n {
            decode_entry(r, &mut last_inode)?;
        }
        Ok(FdList { bytes: r.since(start).to_vec(), len, last_inode })
    }
}

impl std::fmt::Debug for FdList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// `FdList::iter`.
pub struct Entries<'a> {
    r: Reader<'a>,
    left: u32,
    last_inode: u64,
}

impl Iterator for Entries<'_> {
    type Item = FdEntry;

    fn next(&mut self) -> Option<FdEntry> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Every entry was written by `push` or checked by `decode`: this cannot fail.
        let e = decode_entry(&mut self.r, &mut self.last_inode);
        debug_assert!(e.is_ok(), "a packed fd entry reads back");
        e.ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

fn encode_entry(w: &mut Writer, e: &FdEntry, last_inode: &mut u64) {
    match e.fd {
        FdName::Number(n) => w.u(u64::from(n) + 4),
        FdName::Special(s) => w.u(s as u64),
    }
    encode_kind(w, e);
    w.str(&e.link);
    // Socket fds are most of a big table: their inodes are stored as differences from the
    // previous socket's (they are close), which compresses to a byte or two each.
    match e.inode {
        Some(i) if e.kind == FdKind::Socket => {
            w.u(1);
            w.u(zigzag(i.wrapping_sub(*last_inode) as i64));
            *last_inode = i;
        }
        other => {
            w.u(2);
            w.opt(other);
        }
    }
    w.opt(e.flags.map(|f| u64::from(f.raw)));
    w.opt(e.pos);
    w.opt(e.size);
    encode_details(w, e.details.as_deref());
}

fn decode_entry(r: &mut Reader<'_>, last_inode: &mut u64) -> Result<FdEntry, DecodeError> {
    let fd = match r.u()? {
        0 => FdName::Special(Special::Cwd),
        1 => FdName::Special(Special::Rtd),
        2 => FdName::Special(Special::Txt),
        3 => FdName::Special(Special::Mem),
        n => FdName::Number(u32::try_from(n - 4).or_else(|_| r.fail("an fd number is too large"))?),
    };
    let kind = decode_kind(r)?;
    let link = r.str()?.into();
    let inode = match r.u()? {
        1 => {
            let delta = unzigzag(r.u()?);
            *last_inode = last_inode.wrapping_add(delta as u64);
            Some(*last_inode)
        }
        2 => r.opt()?,
        _ => return r.fail("an unknown inode form"),
    };
    let flags = r.opt_u32()?.map(|raw| OpenFlags { raw });
    let pos = r.opt()?;
    let size = r.opt()?;
    let details = decode_details(r)?.map(Box::new);
    Ok(FdEntry { fd, kind, link, inode, flags, pos, size, details })
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The kinds without a payload, in their stored order (append only).
const KINDS: [FdKind; 22] = [
    FdKind::Regular,
    FdKind::Directory,
    FdKind::CharDevice,
    FdKind::BlockDevice,
    FdKind::Fifo,
    FdKind::Socket,
    FdKind::Eventfd,
    FdKind::Timerfd,
    FdKind::Signalfd,
    FdKind::Eventpoll,
    FdKind::Inotify,
    FdKind::Fanotify,
    FdKind::Pidfd,
    FdKind::IoUring,
    FdKind::BpfMap,
    FdKind::BpfProg,
    FdKind::BpfLink,
    FdKind::Memfd,
    FdKind::Userfaultfd,
    FdKind::PerfEvent,
    FdKind::Namespace,
    FdKind::Unknown,
];
const ANON: u64 = 100;

fn encode_kind(w: &mut Writer, e: &FdEntry) {
    match &e.kind {
        // The name, as version 1 and 2 readers read it (this one reads it from the link).
        FdKind::Anon => {
            w.u(ANON);
            w.str(e.kind_name());
        }
        k => w.u(KINDS.iter().position(|x| x == k).unwrap_or(KINDS.len() - 1) as u64),
    }
}

fn decode_kind(r: &mut Reader<'_>) -> Result<FdKind, DecodeError> {
    match r.u()? {
        ANON => {
            r.str()?;
            Ok(FdKind::Anon)
        }
        n => {
            usize::try_from(n).ok().and_then(|n| KINDS.get(n)).cloned().map_or_else(|| r.fail("an unknown fd kind"), Ok)
        }
    }
}

fn encode_details(w: &mut Writer, d: Option<&FdDetails>) {
    match d {
        None => w.u(0),
        Some(FdDetails::Epoll { watches }) => {
            w.u(1);
            w.u(watches.len() as u64);
            for x in watches {
                w.u(u64::from(x.fd));
                w.u(u64::from(x.events));
                w.u(x.data);
                w.u(x.inode);
            }
        }
        Some(FdDetails::Eventfd { count, id, semaphore }) => {
            w.u(2);
            w.u(*count);
            w.opt(id.map(u64::from));
            w.opt(semaphore.map(u64::from));
        }
        Some(FdDetails::Timerfd { clock, ticks, next_expiry_ns, interval_ns, settime_flags }) => {
            w.u(3);
            w.str(clock);
            w.u(*ticks);
            w.u(*next_expiry_ns);
            w.u(*interval_ns);
            w.u(u64::from(*settime_flags));
        }
        Some(FdDetails::Signalfd { mask, .. }) => {
            w.u(4);
            w.u(*mask);
        }
        Some(FdDetails::Inotify { watches }) => {
            w.u(5);
            w.u(watches.len() as u64);
            for x in watches {
                w.u(u64::from(x.wd));
                w.u(x.inode);
                w.u(u64::from(x.device));
                w.u(u64::from(x.mask));
            }
        }
        Some(FdDetails::Pidfd { pid }) => {
            w.u(6);
            w.u(zigzag(*pid));
        }
    }
}

fn decode_details(r: &mut Reader<'_>) -> Result<Option<FdDetails>, DecodeError> {
    use crate::procfs::fdinfo::{epoll_event_names, inotify_mask_names, signal_names};
    Ok(Some(match r.u()? {
        0 => return Ok(None),
        1 => {
            let mut watches = Vec::new();
            for _ in 0..r.count()? {
                let fd = r.u32()?;
                let events = r.u32()?;
                watches.push(EpollWatch {
                    fd,
                    events,
                    event_names: epoll_event_names(events),
                    data: r.u()?,
                    inode: r.u()?,
                });
            }
            FdDetails::Epoll { watches }
        }
        2 => FdDetails::Eventfd { count: r.u()?, id: r.opt_u32()?, semaphore: r.opt()?.map(|v| v != 0) },
        3 => FdDetails::Timerfd {
            clock: r.string()?,
            ticks: r.u()?,
            next_expiry_ns: r.u()?,
            interval_ns: r.u()?,
            settime_flags: r.u32()?,
        },
        4 => {
            let mask = r.u()?;
            FdDetails::Signalfd { mask, signals: signal_names(mask) }
        }
        5 => {
            let mut watches = Vec::new();
            for _ in 0..r.count()? {
                let wd = r.u32()?;
                let inode = r.u()?;
                let device = r.u32()?;
                let mask = r.u32()?;
                watches.push(InotifyWatch { wd, inode, device, mask, mask_names: inotify_mask_names(mask) });
            }
            FdDetails::Inotify { watches }
        }
        6 => FdDetails::Pidfd { pid: unzigzag(r.u()?) },
        _ => return r.fail("an unknown kind of fd details"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::fdtable::entry_for;
    use proptest::prelude::*;

    fn entry(fd: FdName, link: &str) -> FdEntry {
        entry_for(fd, link.to_string(), || None)
    }

    /// Sockets whose inodes go up and down (the differences are signed), specials, paths and
    /// an anonymous inode read back as they went in, and a capture's copy is the same list.
    #[test]
    fn entries_read_back_as_pushed() {
        let mut with_pos = entry(FdName::Number(7), "/var/log/app.log");
        (with_pos.pos, with_pos.size, with_pos.flags) = (Some(4096), Some(1 << 40), Some(OpenFlags { raw: 0o2001 }));
        let entries = vec![
            entry(FdName::Special(Special::Cwd), "/srv"),
            entry(FdName::Special(Special::Mem), "/usr/lib/libc.so.6"),
            entry(FdName::Number(3), "socket:[900000]"),
            entry(FdName::Number(4), "socket:[12]"),
            entry(FdName::Number(5), "socket:[u64]"),
            entry(FdName::Number(6), "anon_inode:[dmabuf]"),
            with_pos,
            entry(FdName::Number(u32::MAX - 4), &format!("socket:[{}]", u64::MAX)),
        ];
        let list = FdList::of(&entries);
        assert_eq!(list.len(), entries.len());
        assert_eq!(format!("{:?}", list.iter().collect::<Vec<_>>()), format!("{entries:?}"));
        let mut w = Writer::default();
        list.encode(&mut w);
        let back = FdList::decode(&mut Reader::new(&w.buf)).expect("a list just written reads back");
        assert_eq!(back, list);
    }

    /// A damaged table is an error at an offset, never a panic or an entry made up.
    #[test]
    fn a_cut_table_is_an_error() {
        let list = FdList::of(&[entry(FdName::Number(3), "socket:[5]"), entry(FdName::Number(4), "/tmp/x")]);
        let mut w = Writer::default();
        list.encode(&mut w);
        for cut in 0..w.buf.len() {
            assert!(FdList::decode(&mut Reader::new(&w.buf[..cut])).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn any_table_reads_back(fds in proptest::collection::vec((0..70_000u32, any::<u64>(), any::<bool>()), 0..40)) {
            let entries: Vec<FdEntry> = fds
                .iter()
                .map(|(n, inode, socket)| {
                    let link = if *socket { format!("socket:[{inode}]") } else { format!("pipe:[{inode}]") };
                    entry(FdName::Number(*n), &link)
                })
                .collect();
            let list = FdList::of(&entries);
            prop_assert_eq!(format!("{:?}", list.iter().collect::<Vec<_>>()), format!("{:?}", entries));
        }
    }
}
