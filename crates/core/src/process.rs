//! What the tracer and the event monitor need to know of a process by its pid — its name,
//! its network namespace, its threads, its status — read from procfs under one root, so no
//! crate but core names a /proc path.

use std::path::{Path, PathBuf};

/// The processes under a procfs root (`/proc` except in tests).
#[derive(Clone, Debug)]
pub struct Processes {
    root: PathBuf,
}

impl Default for Processes {
    fn default() -> Self {
        Processes::new("/proc")
    }
}

impl Processes {
    pub fn new(root: impl Into<PathBuf>) -> Processes {
        Processes { root: root.into() }
    }

    fn of(&self, pid: u32) -> PathBuf {
        self.root.join(pid.to_string())
    }

    /// Its command name as the kernel keeps it (bytes: it need not be UTF-8).
    pub fn comm_bytes(&self, pid: u32) -> Option<Vec<u8>> {
        let mut b = std::fs::read(self.of(pid).join("comm")).ok()?;
        if b.last() == Some(&b'\n') {
            b.pop();
        }
        Some(b)
    }

    /// Its command name, with bytes that are not UTF-8 replaced.
    pub fn comm(&self, pid: u32) -> Option<String> {
        self.comm_bytes(pid).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The inode of its network namespace (`net:[INODE]`).
    pub fn netns(&self, pid: u32) -> Option<u64> {
        crate::procfs::process::netns(&self.root, &pid.to_string())
    }

    /// The network namespace of one of its threads (a thread may have entered another).
    pub fn thread_netns(&self, pid: u32, tid: u32) -> Option<u64> {
        crate::procfs::process::netns(&self.root, &format!("{pid}/task/{tid}"))
    }

    /// The calling process's network namespace.
    pub fn own_netns(&self) -> Option<u64> {
        crate::procfs::process::netns(&self.root, "self")
    }

    /// Its threads' ids.
    pub fn threads(&self, pid: u32) -> std::io::Result<Vec<u32>> {
        let mut out: Vec<u32> = std::fs::read_dir(self.of(pid).join("task"))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// /proc/PID/stat, as bytes (its comm field may hold anything).
    pub fn stat(&self, pid: u32) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.of(pid).join("stat"))
    }

    /// /proc/PID/status (a line that is not UTF-8 is left out); empty when unreadable.
    pub fn status(&self, pid: u32) -> String {
        crate::text::read_lines(self.of(pid).join("status")).unwrap_or_default()
    }

    /// What its fd `fd` is (the link's target).
    pub fn fd_link(&self, pid: u32, fd: u32) -> Option<PathBuf> {
        std::fs::read_link(self.of(pid).join("fd").join(fd.to_string())).ok()
    }

    /// A /proc/sys file's text (`kernel/yama/ptrace_scope`).
    pub fn sysctl(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join("sys").join(name)).ok()
    }

    /// The calling process's mount table (/proc/self/mounts), as bytes.
    pub fn own_mounts(&self) -> Vec<u8> {
        std::fs::read(self.root.join("self/mounts")).unwrap_or_default()
    }

    /// The procfs root.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_as_itself() {
        let p = Processes::default();
        let me = std::process::id();
        assert!(p.comm(me).is_some_and(|c| !c.is_empty()));
        assert_eq!(p.netns(me), p.own_netns());
        assert!(p.own_netns().is_some());
        assert!(p.threads(me).unwrap().contains(&me));
        assert!(p.status(me).lines().any(|l| l.starts_with("Pid:")));
        assert!(p.stat(me).unwrap().starts_with(me.to_string().as_bytes()));
        assert!(p.fd_link(me, 0).is_some() || p.fd_link(me, 1).is_some() || p.fd_link(me, 2).is_some());
        assert!(p.comm(u32::MAX).is_none() && p.netns(u32::MAX).is_none());
    }
}
