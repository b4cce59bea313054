//! Network namespaces other than the caller's: finding every one on the host, naming them,
//! and opening a sock_diag socket inside one (a netlink socket stays bound to the namespace
//! it was created in, so dumps through it can then run from any thread).
//!
//! A namespace is found from the processes in it (`/proc/PID/ns/net`) and from every nsfs
//! bind mount (`/run/netns/NAME` of `ip netns`, or any other path), which keeps a namespace
//! alive with no process inside it: lsns misses those.

use rustix::fd::OwnedFd;
use rustix::io::Errno;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where `ip netns` keeps its named namespaces.
pub const NAMED_DIR: &str = "/run/netns";

pub use crate::model::Netns;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("--netns {spec}: no network namespace of that name in /run/netns (ip netns list shows them)")]
    NoSuchName { spec: String },
    #[error("--netns {spec}: no such file")]
    NoSuchPath { spec: String },
    #[error("--netns {spec}: no process {pid}")]
    NoSuchPid { spec: String, pid: u32 },
    #[error("--netns {spec}: not a network namespace")]
    NotNetns { spec: String },
    #[error("--netns {spec}: not a name, a path or pid:PID")]
    BadSpec { spec: String },
    #[error("{}", "the capture holds its own network namespace only (record it with --all-netns to see every one)")]
    NotRecorded,
    #[error("--netns {spec}: no such network namespace in the capture (it names them by name, net:[INODE] or inode)")]
    NotInCapture { spec: String },
    #[error("cannot enter the network namespace {label}: {errno} (entering one needs CAP_SYS_ADMIN)")]
    Enter { label: String, errno: Errno },
    #[error("cannot open a sock_diag socket in the network namespace {label}: {errno}")]
    Socket { label: String, errno: Errno },
}

impl NetnsError {
    /// Why a namespace was skipped, without naming it (namespaces skipped for the same reason
    /// are told together).
    pub fn reason(&self) -> String {
        match self {
            NetnsError::Enter { errno, .. } => format!("cannot enter them: {errno} (entering one needs CAP_SYS_ADMIN)"),
            NetnsError::Socket { errno, .. } => format!("cannot open a sock_diag socket in them: {errno}"),
            other => other.to_string(),
        }
    }

    /// Whether the command line named something that is not there (exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            NetnsError::NoSuchName { .. }
                | NetnsError::NoSuchPath { .. }
                | NetnsError::NoSuchPid { .. }
                | NetnsError::NotNetns { .. }
                | NetnsError::BadSpec { .. }
                | NetnsError::NotRecorded
                | NetnsError::NotInCapture { .. }
        )
    }
}

/// `net:[4026531840]` → 4026531840.
fn inode_of_link(link: &Path) -> Option<u64> {
    let text = link.to_str()?;
    text.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// The caller's namespace inode.
pub fn own(proc_root: &Path) -> Option<u64> {
    inode_of_link(&std::fs::read_link(proc_root.join("self/ns/net")).ok()?)
}

/// The inode of the namespace at `path` when it is an nsfs file of a network namespace.
fn inode_at(path: &Path, proc_root: &Path) -> Option<u64> {
    if let Ok(link) = std::fs::read_link(path)
        && let Some(inode) = inode_of_link(&link)
    {
        return Some(inode);
    }
    // A bind mount of an nsfs file (ip netns add), or a link to another kind of namespace
    // (/proc/self/ns/mnt): the same device as the namespace files in /proc. It is a network
    // namespace when mountinfo lists an nsfs mount of it as `net:[INODE]`, or a process
    // is in it; a mount, user or pid namespace is neither.
    let st = rustix::fs::stat(path).ok()?;
    let nsfs = rustix::fs::stat(proc_root.join("self/ns/net")).ok()?;
    if st.st_dev != nsfs.st_dev {
        return None;
    }
    // Lossy, not line-dropping: only the inodes are compared, and a mount point that is not
    // UTF-8 (a namespace named so) must still count.
    let mountinfo = std::fs::read(proc_root.join("self/mountinfo")).unwrap_or_default();
    let mounted = nsfs_mounts(&String::from_utf8_lossy(&mountinfo)).iter().any(|(inode, _)| *inode == st.st_ino);
    (mounted || crate::procfs::process::netns_first_pids(proc_root).contains_key(&st.st_ino)).then_some(st.st_ino)
}

/// The caller's namespace followed by each `--netns SPEC` (once each, however often named):
/// /proc is scanned at most once for all of them.
pub fn selected(specs: &[String], proc_root: &Path) -> Result<Vec<Netns>, NetnsError> {
    let mut list: Vec<Netns> = Vec::new();
    if let Some(inode) = own(proc_root) {
        let (pid, path) = (std::process::id(), proc_root.join("self/ns/net"));
        list.push(Netns { inode, name: None, pid: Some(pid), path, container: None });
    }
    let mut lookup = Lookup::new(proc_root);
    for spec in specs {
        let ns = lookup.resolve(spec)?;
        if !list.iter().any(|n| n.inode == ns.inode) {
            list.push(ns);
        }
    }
    Ok(list)
}

/// Resolving specs, with the names and the processes in each namespace read once.
struct Lookup<'a> {
    proc_root: &'a Path,
    names: Option<BTreeMap<u64, (String, PathBuf)>>,
    first_pids: Option<BTreeMap<u64, u32>>,
}

impl<'a> Lookup<'a> {
    fn new(proc_root: &'a Path) -> Lookup<'a> {
        Lookup { proc_root, names: None, first_pids: None }
    }

    fn name(&mut self, inode: u64) -> Option<String> {
        self.names.get_or_insert_with(|| names(self.proc_root)).get(&inode).map(|(name, _)| name.clone())
    }

    fn resolve(&mut self, spec: &str) -> Result<Netns, NetnsError> {
        let proc_root = self.proc_root;
        let shown = crate::text::Untrusted(spec).to_string();
        if let Some(pid) = spec.strip_prefix("pid:") {
            let pid: u32 = pid.parse().map_err(|_| NetnsError::BadSpec { spec: shown.clone() })?;
            let path = proc_root.join(pid.to_string()).join("ns/net");
            let inode = inode_at(&path, proc_root).ok_or(NetnsError::NoSuchPid { spec: shown.clone(), pid })?;
            let name = self.name(inode);
            return Ok(Netns { inode, name, pid: Some(pid), path, container: None });
        }
        if spec.is_empty() {
            return Err(NetnsError::BadSpec { spec: shown });
        }
        let (path, named) = if spec.contains('/') {
            (PathBuf::from(crate::text::os_string(spec)), false)
        } else {
            if spec == "." || spec == ".." {
                return Err(NetnsError::NoSuchName { spec: shown });
            }
            (Path::new(NAMED_DIR).join(crate::text::os_string(spec)), true)
        };
        if !path.exists() {
            return Err(if named {
                NetnsError::NoSuchName { spec: shown }
            } else {
                NetnsError::NoSuchPath { spec: shown }
            });
        }
        let inode = inode_at(&path, proc_root).ok_or(NetnsError::NotNetns { spec: shown })?;
        let name = self.name(inode);
        let pid = self
            .first_pids
            .get_or_insert_with(|| crate::procfs::process::netns_first_pids(proc_root))
            .get(&inode)
            .copied();
        Ok(Netns { inode, name, pid, path, container: None })
    }
}

/// The names of the named namespaces (as text, bytes that are not UTF-8 kept) and their
/// files, by inode.
fn names(proc_root: &Path) -> BTreeMap<u64, (String, PathBuf)> {
    let mut out = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir(NAMED_DIR) {
        for e in dir.flatten() {
            // Any bytes: a name that is not UTF-8 is kept (and shown escaped), not dropped.
            if let Some(inode) = inode_at(&e.path(), proc_root) {
                let name = crate::text::lossless_text(e.file_name().as_encoded_bytes());
                out.entry(inode).or_insert((name, e.path()));
            }
        }
    }
    out
}

/// The mount points of nsfs mounts in a /proc/self/mountinfo text, with the namespace each
/// is (`net:[INODE]` in the root field).
pub fn nsfs_mounts(mountinfo: &str) -> Vec<(u64, PathBuf)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (before, after) = l.split_once(" - ")?;
            let mut fields = before.split(' ');
            let root = fields.nth(3)?;
            let point = fields.next()?;
            (after.split(' ').next()? == "nsfs").then_some(())?;
            let inode = inode_of_link(Path::new(root))?;
            Some((inode, PathBuf::from(crate::text::unescape_octal(point))))
        })
        .collect()
}

/// Every network namespace on the host that can be seen: those with processes, and those
/// bind-mounted (named or not). Sorted by inode; the caller's first.
pub fn discover(proc_root: &Path) -> Vec<Netns> {
    discover_noting_unread(proc_root).0
}

/// Processes whose network namespace could not be read: how many, and why.
pub type Unread = (usize, String);

/// `discover`, with how many processes' namespaces could not be read, and why (from the
/// same pass over the processes).
pub fn discover_noting_unread(proc_root: &Path) -> (Vec<Netns>, Option<Unread>) {
    let (first_pids, unread) = crate::procfs::process::netns_walk(proc_root);
    let mut found: BTreeMap<u64, Netns> = BTreeMap::new();
    for (inode, pid) in first_pids {
        let path = proc_root.join(pid.to_string()).join("ns/net");
        found.insert(inode, Netns { inode, name: None, pid: Some(pid), path, container: None });
    }
    let mountinfo = crate::text::read_lines(proc_root.join("self/mountinfo")).unwrap_or_default();
    for (inode, point) in nsfs_mounts(&mountinfo) {
        found.entry(inode).or_insert(Netns { inode, name: None, pid: None, path: point, container: None });
    }
    for (inode, (name, path)) in names(proc_root) {
        if let Some(ns) = found.get_mut(&inode) {
            ns.name = Some(name);
            ns.path = path;
        }
    }
    let own = own(proc_root);
    let mut list: Vec<Netns> = found.into_values().collect();
    list.sort_by_key(|n| (Some(n.inode) != own, n.inode));
    (list, unread)
}

/// A NETLINK_SOCK_DIAG socket created inside `ns`, by a thread that enters it and ends.
pub fn diag_socket_in(ns: &Netns) -> Result<OwnedFd, NetnsError> {
    socket_in(ns, crate::netlink::sock_diag_socket)
}

/// Interface names and indexes as `ns` has them: through a socket created inside it (the
/// kernel answers SIOCGIFNAME/SIOCGIFINDEX in the socket's namespace).
pub fn interfaces_in(ns: &Netns) -> Result<crate::names::Interfaces, NetnsError> {
    let unix = || {
        rustix::net::socket_with(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::DGRAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
    };
    socket_in(ns, unix).map(crate::names::Interfaces::with_socket)
}

/// A socket `make` creates inside `ns`, by a thread that enters it and ends (the caller's
/// threads stay where they are).
fn socket_in(ns: &Netns, make: fn() -> Result<OwnedFd, Errno>) -> Result<OwnedFd, NetnsError> {
    let label = ns.label();
    run_in(ns, make)?.map_err(|errno| NetnsError::Socket { label, errno })
}

/// What `f` makes inside `ns` (sockets are bound to the namespace they are created in), on
/// a thread that enters it and ends: the caller's threads stay where they are.
pub fn run_in<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> Result<T, NetnsError> {
    use rustix::fs::{Mode, OFlags};
    use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
    let label = ns.label();
    let path = ns.path.clone();
    let made = std::thread::spawn(move || -> Result<T, NetnsError> {
        let file = rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|errno| NetnsError::Enter { label: label.clone(), errno })?;
        move_into_link_name_space(rustix::fd::AsFd::as_fd(&file), Some(LinkNameSpaceType::Network))
            .map_err(|errno| NetnsError::Enter { label, errno })?;
        Ok(f())
    })
    .join();
    made.unwrap_or_else(|_| Err(NetnsError::Socket { label: ns.label(), errno: Errno::IO }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nsfs_mounts_in_mountinfo() {
        let text = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                    612 29 0:4 net:[4026532712] /run/netns/blue rw,nosuid,nodev,noexec shared:5 - nsfs nsfs rw\n\
                    613 29 0:4 net:[4026532800] /tmp/held\\040here rw - nsfs nsfs rw\n\
                    614 29 0:4 mnt:[4026532900] /run/mntns rw - nsfs nsfs rw\n";
        assert_eq!(
            nsfs_mounts(text),
            vec![(4026532712, PathBuf::from("/run/netns/blue")), (4026532800, PathBuf::from("/tmp/held here"))]
        );
        assert!(nsfs_mounts("garbage\n - \n").is_empty());
    }

    #[test]
    fn reads_namespace_links() {
        assert_eq!(inode_of_link(Path::new("net:[4026531840]")), Some(4026531840));
        assert_eq!(inode_of_link(Path::new("mnt:[4026531840]")), None);
        assert_eq!(inode_of_link(Path::new("net:[x]")), None);
    }
}
