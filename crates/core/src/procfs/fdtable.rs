//! One process's fd table from /proc/PID/fd, /proc/PID/fdinfo and, as lsof shows them, its
//! cwd, root, executable and memory-mapped files.

use super::fdinfo;
use super::process::{Unreadable, classify};
use crate::model::{FdEntry, FdKind, FdName, Special, lossless_text};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::collections::BTreeSet;
use std::path::Path;

/// What to read besides the links.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// fdinfo: flags, position, epoll/timer/signal/inotify/eventfd details.
    pub fdinfo: bool,
    /// cwd, root, executable and mapped files (lsof's cwd/rtd/txt/mem).
    pub specials: bool,
    /// With `fdinfo`: not for socket fds (a quick capture: on a host of 100k sockets their
    /// fdinfo is most of the reading, and says only flags and a position of 0).
    pub skip_socket_fdinfo: bool,
}

/// The fd table, sorted by fd number, specials first as lsof lists them.
///
/// /proc/PID, its `fd` and its `fdinfo` directories are opened once, and every fd is read
/// relative to them (readlinkat, openat): a path from the root per fd made the kernel walk
/// /proc/PID again for each, which was most of the cost at 100k fds.
#[cfg(any(test, feature = "testing"))]
pub fn read(proc_root: &Path, pid: u32, opts: ReadOptions) -> Result<Vec<FdEntry>, Unreadable> {
    let mut out = Vec::new();
    read_each(proc_root, pid, opts, |e| out.push(e))?;
    Ok(out)
}

/// The same, each entry handed to `each` as it is read, in that order (no vector of
/// entries: a caller packs them as they come).
pub fn read_each(
    proc_root: &Path,
    pid: u32,
    opts: ReadOptions,
    mut each: impl FnMut(FdEntry),
) -> Result<(), Unreadable> {
    let base = proc_root.join(pid.to_string());
    let gone = |e: Errno| classify(&e.into());
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = rustix::fs::open(&base, dir_flags, Mode::empty()).map_err(gone)?;
    let fd_dir = rustix::fs::openat(&dir, "fd", dir_flags, Mode::empty()).map_err(gone)?;
    let info_dir = if opts.fdinfo { rustix::fs::openat(&dir, "fdinfo", dir_flags, Mode::empty()).ok() } else { None };
    if opts.specials {
        let mut exe = None;
        for (link, name) in [("cwd", Special::Cwd), ("root", Special::Rtd), ("exe", Special::Txt)] {
            if let Ok(target) = std::fs::read_link(base.join(link)) {
                let stat = || rustix::fs::statat(&dir, link, AtFlags::empty()).ok();
                let target = lossless_text(target.as_os_str().as_encoded_bytes());
                if name == Special::Txt {
                    exe = Some(target.clone());
                }
                each(entry_for(FdName::Special(name), target, stat));
            }
        }
        // The executable is mapped too; lsof lists it once, as txt.
        for path in mapped_files(&base).into_iter().filter(|p| exe.as_ref() != Some(p)) {
            let stat = || rustix::fs::stat(Path::new(&path)).ok();
            each(entry_for(FdName::Special(Special::Mem), path.clone(), stat));
        }
    }
    let mut info_buf = Vec::with_capacity(4096);
    let mut walk = super::fdscan::FdWalk::new();
    walk.visit(&fd_dir, |n, name, link| {
        let link = lossless_text(link);
        let mut entry = entry_for(FdName::Number(n), link, || rustix::fs::statat(&fd_dir, name, AtFlags::empty()).ok());
        if let Some(info_dir) = &info_dir
            && !(opts.skip_socket_fdinfo && entry.kind == FdKind::Socket)
            && let Some(text) = read_small(info_dir, name, &mut info_buf)
        {
            let info = fdinfo::parse(text);
            entry.flags = info.flags;
            entry.pos = info.pos;
            entry.inode = entry.inode.or(info.ino);
            entry.details = info.details.or_else(|| fdinfo::empty_details(&entry.kind)).map(Box::new);
        }
        each(entry);
    })
    .map_err(gone)
}

/// The kernel's name for a socket's protocol ("TCP", "UNIX", "NETLINK", …), from the fd's
/// `system.sockprotoname` attribute: what is known of a socket in another namespace.
pub fn socket_protocol(proc_root: &Path, pid: u32, fd: &FdName) -> Option<String> {
    let path = proc_root.join(pid.to_string()).join("fd").join(fd.to_string());
    let mut buf = [0u8; 64];
    let n = rustix::fs::getxattr(&path, "system.sockprotoname", &mut buf[..]).ok()?;
    Some(lossless_text(buf[..n].split(|b| *b == 0).next().unwrap_or(&[])))
}

/// A small /proc file relative to `dir`, read into `buf` (reused between calls). A short
/// read is its end: /proc's seq files hand over all they have that fits, which saves the
/// second read that would return 0.
fn read_small<'b>(dir: &OwnedFd, name: &std::ffi::CStr, buf: &'b mut Vec<u8>) -> Option<&'b str> {
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = rustix::io::read(&fd, &mut chunk).ok()?;
        buf.extend_from_slice(&chunk[..n]);
        if n < chunk.len() {
            break;
        }
    }
    std::str::from_utf8(buf).ok()
}

/// What a link names: `socket:[N]`, `pipe:[N]`, `anon_inode:[eventfd]`, `net:[N]`,
/// `/memfd:x (deleted)`, or a path (then `stat`, which follows the link, says its type).
pub fn entry_for(fd: FdName, link: String, stat: impl FnOnce() -> Option<Stat>) -> FdEntry {
    let bracket_inode =
        |s: &str| s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|n| n.parse::<u64>().ok());
    let (kind, inode) = if let Some(rest) = link.strip_prefix("socket:") {
        (FdKind::Socket, bracket_inode(rest))
    } else if let Some(rest) = link.strip_prefix("pipe:") {
        (FdKind::Fifo, bracket_inode(rest))
    } else if let Some(name) = link.strip_prefix("anon_inode:") {
        (anon_kind(name), None)
    } else if link.starts_with("/memfd:") {
        (FdKind::Memfd, None)
    } else if let Some((ns, rest)) = link.split_once(':')
        && !link.starts_with('/')
        && let Some(inode) = bracket_inode(rest)
    {
        (if ns == "pidfd" { FdKind::Pidfd } else { FdKind::Namespace }, Some(inode))
    } else {
        return path_entry(fd, link, stat());
    };
    // `socket:[N]` and `pipe:[N]` are rebuilt from the inode by `FdEntry::link`; keep the
    // text only when it would not come back the same.
    let mut entry =
        FdEntry { fd, kind, link: Box::default(), inode, flags: None, pos: None, size: None, details: None };
    if entry.link() != link {
        entry.link = link.into_boxed_str();
    }
    entry
}

fn anon_kind(name: &str) -> FdKind {
    match name.trim_start_matches('[').trim_end_matches(']') {
        "eventfd" => FdKind::Eventfd,
        "timerfd" => FdKind::Timerfd,
        "signalfd" => FdKind::Signalfd,
        "eventpoll" => FdKind::Eventpoll,
        "inotify" => FdKind::Inotify,
        "fanotify" => FdKind::Fanotify,
        "pidfd" => FdKind::Pidfd,
        "io_uring" => FdKind::IoUring,
        "bpf-map" => FdKind::BpfMap,
        "bpf-prog" => FdKind::BpfProg,
        "bpf_link" | "bpf-link" => FdKind::BpfLink,
        "userfaultfd" => FdKind::Userfaultfd,
        "perf_event" => FdKind::PerfEvent,
        _ => FdKind::Anon,
    }
}

/// A path: its type, inode and size from stat() through the /proc link.
fn path_entry(fd: FdName, link: String, meta: Option<Stat>) -> FdEntry {
    let kind = match meta.as_ref().map(|m| FileType::from_raw_mode(m.st_mode)) {
        Some(FileType::RegularFile) => FdKind::Regular,
        Some(FileType::Directory) => FdKind::Directory,
        Some(FileType::CharacterDevice) => FdKind::CharDevice,
        Some(FileType::BlockDevice) => FdKind::BlockDevice,
        Some(FileType::Fifo) => FdKind::Fifo,
        Some(FileType::Socket) => FdKind::Socket,
        _ => FdKind::Unknown,
    };
    let size = meta.as_ref().filter(|_| kind == FdKind::Regular).and_then(|m| u64::try_from(m.st_size).ok());
    FdEntry {
        fd,
        kind,
        link: link.into_boxed_str(),
        inode: meta.map(|m| m.st_ino),
        flags: None,
        pos: None,
        size,
        details: None,
    }
}

/// Files mapped into memory (/proc/PID/maps), each once, in order of first appearance.
fn mapped_files(base: &Path) -> Vec<String> {
    let Ok(maps) = crate::text::read_lines(base.join("maps")) else { return Vec::new() };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode pathname
        let mut f = line.splitn(6, ' ');
        let inode = f.nth(4).unwrap_or("0");
        let path = f.next().unwrap_or("").trim_start();
        if inode == "0" || !path.starts_with('/') {
            continue;
        }
        if seen.insert(path.to_string()) {
            out.push(path.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_classify() {
        let k = |l: &str| entry_for(FdName::Number(3), l.to_string(), || None);
        assert_eq!((k("socket:[123]").kind, k("socket:[123]").inode), (FdKind::Socket, Some(123)));
        assert_eq!((k("pipe:[9]").kind, k("pipe:[9]").inode), (FdKind::Fifo, Some(9)));
        // Kept as an inode, given back the same.
        for link in ["socket:[123]", "pipe:[9]", "socket:[0123]", "/dev/null", "anon_inode:[eventfd]"] {
            assert_eq!(k(link).link(), link);
        }
        assert!(k("socket:[123]").link.is_empty() && !k("socket:[0123]").link.is_empty());
        assert_eq!(k("anon_inode:[eventfd]").kind, FdKind::Eventfd);
        assert_eq!(k("anon_inode:inotify").kind, FdKind::Inotify);
        assert_eq!(k("anon_inode:bpf-map").kind, FdKind::BpfMap);
        let dmabuf = k("anon_inode:[dmabuf]");
        assert_eq!((dmabuf.kind.clone(), dmabuf.kind_name()), (FdKind::Anon, "dmabuf"));
        // JSON names it as docs/json.md says, from the link.
        let json = serde_json::to_value(&dmabuf).expect("json");
        assert_eq!(json["kind"], serde_json::json!({ "anon": "dmabuf" }), "{json}");
        assert_eq!(serde_json::to_value(k("anon_inode:[eventfd]")).expect("json")["kind"], "eventfd");
        assert_eq!(k("/memfd:x (deleted)").kind, FdKind::Memfd);
        assert_eq!(k("net:[4026531840]").kind, FdKind::Namespace);
        assert_eq!(k("pidfd:[77]").kind, FdKind::Pidfd);
        assert_eq!(k("/nonexistent/file").kind, FdKind::Unknown);
    }

    #[test]
    fn our_own_table() {
        let f = std::fs::File::open("/proc/self/status").expect("open");
        use std::os::fd::AsRawFd;
        let me = std::process::id();
        let t = read(Path::new("/proc"), me, ReadOptions { fdinfo: true, specials: true, skip_socket_fdinfo: false })
            .expect("read self");
        let e = t.iter().find(|e| e.fd == FdName::Number(f.as_raw_fd() as u32)).expect("our file");
        assert_eq!(e.kind, FdKind::Regular);
        assert!(e.flags.as_ref().is_some_and(|fl| fl.access() == "r" && fl.names().contains(&"O_CLOEXEC")));
        assert!(t.iter().any(|e| e.fd == FdName::Special(Special::Cwd) && e.kind == FdKind::Directory));
        assert!(t.iter().any(|e| e.fd == FdName::Special(Special::Txt) && e.kind == FdKind::Regular));
        assert!(t.iter().any(|e| e.fd == FdName::Special(Special::Mem)));
        assert_eq!(read(Path::new("/proc"), u32::MAX, ReadOptions::default()), Err(Unreadable::Gone));
    }
}
