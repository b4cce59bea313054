//! Which processes hold which sockets: the inode → (process, fd) index.

use serde::Serialize;

/// A process that holds at least one socket.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Process {
    pub pid: u32,
    /// `/proc/PID/comm`, as the kernel has it (may hold any byte: print it through
    /// `text::Untrusted`; JSON gives the exact bytes in `command_bytes` when not UTF-8).
    pub command: Box<str>,
    /// Owner of `/proc/PID` (the process's effective uid).
    pub uid: u32,
    /// The thread, when owners were listed per thread (`-T`).
    pub tid: Option<u32>,
}

impl Serialize for Process {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Process", 5)?;
        st.serialize_field("pid", &self.pid)?;
        crate::text::serialize_field(&mut st, "command", "command_bytes", &self.command)?;
        st.serialize_field("uid", &self.uid)?;
        match self.tid {
            Some(tid) => st.serialize_field("tid", &tid)?,
            None => st.skip_field("tid")?,
        }
        st.end()
    }
}

impl Process {
    pub fn new(pid: u32, command: impl Into<Box<str>>, uid: u32) -> Process {
        Process { pid, command: command.into(), uid, tid: None }
    }
}

/// One holder of a socket: a process and the fd number it holds it under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Owner<'a> {
    #[serde(flatten)]
    pub process: &'a Process,
    pub fd: u32,
}

/// What the owner scan could and could not read, so the output never hides a gap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OwnerScanReport {
    /// Processes whose fd table was read.
    pub processes_scanned: u32,
    /// Processes whose fd table could not be read, and why (permission denied for other
    /// users' processes when not root).
    pub processes_unreadable: u32,
    pub unreadable_reason: Option<String>,
    /// The pids that could not be read (the first 64; the count above is complete).
    pub unreadable_pids: Vec<u32>,
    /// Processes that exited while being scanned (skipped; not an error).
    pub processes_vanished: u32,
    /// procfs's `hidepid=` when it hides other users' processes from us: they are not even
    /// counted as unreadable, since we cannot see that they exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidepid: Option<String>,
}

impl OwnerScanReport {
    /// The note a listing owes its reader about processes whose sockets show no owner, or
    /// `None` when every process was read.
    pub fn gap_note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.processes_unreadable > 0 {
            parts.push(format!(
                "{} process{} could not be read ({})",
                self.processes_unreadable,
                if self.processes_unreadable == 1 { "" } else { "es" },
                self.unreadable_reason.as_deref().unwrap_or("unknown reason")
            ));
        }
        if let Some(h) = &self.hidepid {
            parts.push(format!(
                "/proc is mounted with hidepid={h}: other users' processes are hidden, so their sockets show no owner (run as root to see them)"
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// inode → owners, built in one pass over /proc/*/fd. Entries are kept in one flat vector
/// sorted by inode (no allocation per socket). Lookups go through a bucket table over the
/// inodes' range, a few entries per bucket, then a search within the bucket: about one byte
/// per entry, where a hash map from inode to its run took 35 MB at a million sockets.
#[derive(Clone, Debug, Default)]
pub struct OwnerIndex {
    processes: Vec<Process>,
    /// (inode, index into `processes`, fd)
    entries: Vec<(u64, u32, u32)>,
    /// `buckets[b]`: the first entry whose inode falls in bucket b or after; one more at the
    /// end (the entries' count).
    buckets: Vec<u32>,
    /// The smallest and largest inode.
    low: u64,
    high: u64,
    pub report: OwnerScanReport,
}

/// Entries per bucket, on average.
const PER_BUCKET: usize = 4;

impl OwnerIndex {
    pub fn new(processes: Vec<Process>, mut entries: Vec<(u64, u32, u32)>, report: OwnerScanReport) -> OwnerIndex {
        // Sort by inode, then by pid and fd so owners print in a stable order.
        entries.sort_unstable_by_key(|&(inode, p, fd)| (inode, processes.get(p as usize).map_or(0, |p| p.pid), fd));
        let (low, high) = (entries.first().map_or(0, |e| e.0), entries.last().map_or(0, |e| e.0));
        let mut index = OwnerIndex { processes, entries, buckets: Vec::new(), low, high, report };
        let count = index.entries.len() / PER_BUCKET + 1;
        let mut buckets = Vec::with_capacity(count + 1);
        let mut at = 0usize;
        for b in 0..count {
            while at < index.entries.len() && index.bucket(index.entries[at].0, count) < b {
                at += 1;
            }
            buckets.push(at as u32);
        }
        buckets.push(index.entries.len() as u32);
        index.buckets = buckets;
        index
    }

    /// The bucket of `inode` (within the range) among `count`.
    fn bucket(&self, inode: u64, count: usize) -> usize {
        let span = u128::from(self.high - self.low) + 1;
        (u128::from(inode - self.low) * count as u128 / span) as usize
    }

    /// The entries of this inode: a run, maybe empty.
    fn run(&self, inode: u64) -> &[(u64, u32, u32)] {
        if inode == 0 || self.entries.is_empty() || inode < self.low || inode > self.high {
            return &[];
        }
        let count = self.buckets.len() - 1;
        let b = self.bucket(inode, count);
        let (start, end) = (self.buckets[b] as usize, self.buckets[b + 1] as usize);
        let within = &self.entries[start..end];
        let first = within.partition_point(|e| e.0 < inode);
        let n = within[first..].iter().take_while(|e| e.0 == inode).count();
        &within[first..first + n]
    }

    /// Every (process, fd) that holds the socket with this inode. Empty for inode 0.
    pub fn owners(&self, inode: u64) -> impl Iterator<Item = Owner<'_>> + '_ {
        self.run(inode)
            .iter()
            .filter_map(|&(_, p, fd)| self.processes.get(p as usize).map(|process| Owner { process, fd }))
    }

    pub fn has_owner(&self, inode: u64) -> bool {
        !self.run(inode).is_empty()
    }

    /// For each process (in `processes()` order), how many (fd, socket) pairs it holds among
    /// `inodes`: one pass over the index's runs, with no map keyed by pid.
    pub fn held_per_process(&self, inodes: impl Iterator<Item = u64>) -> Vec<u64> {
        let mut held = vec![0u64; self.processes.len()];
        for inode in inodes {
            for &(_, p, _) in self.run(inode) {
                if let Some(count) = held.get_mut(p as usize) {
                    *count += 1;
                }
            }
        }
        held
    }

    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_owner_of_a_shared_socket() {
        let procs = vec![Process::new(20, "child", 0), Process::new(10, "parent", 0)];
        let idx = OwnerIndex::new(procs, vec![(7, 0, 3), (5, 1, 9), (7, 1, 4)], OwnerScanReport::default());
        let owners: Vec<(u32, u32)> = idx.owners(7).map(|o| (o.process.pid, o.fd)).collect();
        assert_eq!(owners, vec![(10, 4), (20, 3)]);
        assert_eq!(idx.owners(5).count(), 1);
        assert_eq!(idx.owners(6).count(), 0);
        assert_eq!(idx.owners(0).count(), 0);
        assert_eq!(idx.held_per_process([7, 5, 6, 0].into_iter()), vec![1, 2]);
    }

    proptest::proptest! {
        /// The bucketed lookup finds exactly what a scan finds, for dense, sparse and
        /// clustered inodes (the extremes of u64 included).
        #[test]
        fn lookups_find_what_a_scan_finds(
            inodes in proptest::collection::vec(proptest::prop_oneof![1u64..64, 1u64..5_000_000, proptest::strategy::Just(u64::MAX)], 0..300),
            probes in proptest::collection::vec(proptest::prop_oneof![0u64..64, 0u64..5_000_000, proptest::strategy::Just(u64::MAX)], 0..50),
        ) {
            let procs = vec![Process::new(1, "a", 0), Process::new(2, "b", 0)];
            let entries: Vec<(u64, u32, u32)> = inodes.iter().enumerate().map(|(i, &n)| (n, (i % 2) as u32, i as u32)).collect();
            let idx = OwnerIndex::new(procs, entries.clone(), OwnerScanReport::default());
            for probe in inodes.iter().chain(&probes) {
                let mut want: Vec<u32> = entries.iter().filter(|e| e.0 == *probe && *probe != 0).map(|e| e.2).collect();
                let mut got: Vec<u32> = idx.owners(*probe).map(|o| o.fd).collect();
                want.sort_unstable();
                got.sort_unstable();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }
}
