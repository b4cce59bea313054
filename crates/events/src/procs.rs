//! What a pid from a tracepoint record is: its command name, and its network namespace. Read from /proc once per pid and kept for a second (a pid is reused
//! only after its process is gone).

use crate::Owner;
use std::collections::HashMap;

const KEEP_NS: u64 = 1_000_000_000;

use sockscope_core::process::Processes;

struct Known {
    comm: Option<String>,
    /// The name the kernel gave at exec: what the process was called if it is gone before
    /// /proc is read (a name it takes later, with prctl, is only in /proc).
    exec_comm: Option<String>,
    /// Its network namespace's inode; None when it could not be read.
    netns: Option<u64>,
    read_ns: u64,
}

#[derive(Default)]
pub struct Procs {
    processes: Processes,
    known: HashMap<u32, Known>,
    /// Threads other than their process's main one: the namespace each is in, and when that
    /// was read.
    threads: HashMap<u32, (Option<u64>, u64)>,
}

impl Procs {
    fn get(&mut self, pid: u32, now: u64) -> &Known {
        let stale = self.known.get(&pid).is_none_or(|k| now.saturating_sub(k.read_ns) > KEEP_NS);
        if stale {
            if self.known.len() > 65536 {
                self.known.retain(|_, k| now.saturating_sub(k.read_ns) <= KEEP_NS);
            }
            let exec_comm = self.known.get(&pid).and_then(|k| k.exec_comm.clone());
            let comm = self.processes.comm(pid).or_else(|| exec_comm.clone());
            let read = self.processes.netns(pid);
            let netns = read.or_else(|| self.known.get(&pid).and_then(|k| k.netns));
            self.known.insert(pid, Known { comm, exec_comm, netns, read_ns: now });
        }
        &self.known[&pid]
    }

    /// The kernel's note of an exec: the name is known now, even if the process is gone by
    /// the time its records are read. /proc is still asked first (the next lookup reads it):
    /// the process may rename itself after exec (prctl PR_SET_NAME).
    pub fn exec(&mut self, pid: u32, comm: &[u8]) {
        let comm = String::from_utf8_lossy(comm.split(|b| *b == 0).next().unwrap_or(comm)).into_owned();
        let netns = self.processes.netns(pid);
        let known = self.known.entry(pid).or_insert(Known { comm: None, exec_comm: None, netns: None, read_ns: 0 });
        known.comm = Some(comm.clone());
        known.exec_comm = Some(comm);
        // Stale at once: the next lookup reads /proc, and keeps this name only if it cannot.
        known.read_ns = 0;
        if netns.is_some() {
            known.netns = netns;
        }
    }

    pub fn owner(&mut self, pid: u32, now: u64) -> Owner {
        Owner { pid, comm: self.get(pid, now).comm.clone() }
    }

    /// The network namespace the thread is in (None: gone, or not readable). Each thread has
    /// its own: a thread may have entered another with unshare or setns.
    pub fn netns(&mut self, pid: u32, tid: u32, now: u64) -> Option<u64> {
        if pid == tid {
            return self.get(pid, now).netns;
        }
        if let Some((netns, read)) = self.threads.get(&tid)
            && now.saturating_sub(*read) <= KEEP_NS
        {
            return *netns;
        }
        if self.threads.len() > 65536 {
            self.threads.retain(|_, (_, read)| now.saturating_sub(*read) <= KEEP_NS);
        }
        let netns = self.processes.thread_netns(pid, tid);
        self.threads.insert(tid, (netns, now));
        netns
    }
}
