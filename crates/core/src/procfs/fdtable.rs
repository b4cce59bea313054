//! One process's fd table from /proc/PID/fd, /proc/PID/fdinfo and, as lsof shows them, its
//! cwd, root, executable and memory-mapped files.

use super::fdinfo;
use super::process::{Unreadable, classify};
use crate::model::{FdEntry, FdKind, FdName};
use std::collections::BTreeSet;
use std::path::Path;

/// What to read besides the links.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// fdinfo: flags, position, epoll/timer/signal/inotify/eventfd details.
    pub fdinfo: bool,
    /// cwd, root, executable and mapped files (lsof's cwd/rtd/txt/mem).
    pub specials: bool,
}

/// The fd table, sorted by fd number, specials first as lsof lists them.
pub fn read(proc_root: &Path, pid: u32, opts: ReadOptions) -> Result<Vec<FdEntry>, Unreadable> {
    let base = proc_root.join(pid.to_string());
    let fd_dir = base.join("fd");
    let entries = std::fs::read_dir(&fd_dir).map_err(|e| classify(&e))?;
    let mut numbers: Vec<u32> = Vec::new();
    for e in entries {
        let e = e.map_err(|e| classify(&e))?;
        if let Some(n) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    let mut out = Vec::with_capacity(numbers.len() + 4);
    if opts.specials {
        for (link, name) in [("cwd", "cwd"), ("root", "rtd"), ("exe", "txt")] {
            if let Ok(target) = std::fs::read_link(base.join(link)) {
                out.push(path_entry(FdName::Special(name), &target.to_string_lossy(), &base.join(link)));
            }
        }
        for path in mapped_files(&base) {
            let p = Path::new(&path);
            out.push(path_entry(FdName::Special("mem"), &path, p));
        }
    }
    for n in numbers {
        let path = fd_dir.join(n.to_string());
        let link = match std::fs::read_link(&path) {
            Ok(l) => crate::model::lossless_text(l.as_os_str().as_encoded_bytes()),
            // Closed between listing and reading: it is simply not there any more.
            Err(e) if classify(&e) == Unreadable::Gone => continue,
            Err(e) => return Err(classify(&e)),
        };
        let mut entry = entry_for(FdName::Number(n), link, &path);
        if opts.fdinfo
            && let Ok(text) = std::fs::read_to_string(base.join("fdinfo").join(n.to_string()))
        {
            let info = fdinfo::parse(&text);
            entry.flags = info.flags;
            entry.pos = info.pos;
            entry.inode = entry.inode.or(info.ino);
            entry.details = info.details.or_else(|| fdinfo::empty_details(&entry.kind)).map(Box::new);
        }
        out.push(entry);
    }
    Ok(out)
}

/// What a link names: `socket:[N]`, `pipe:[N]`, `anon_inode:[eventfd]`, `net:[N]`,
/// `/memfd:x (deleted)`, or a path (then `stat_path`, which follows the link, is stat'ed).
pub fn entry_for(fd: FdName, link: String, stat_path: &Path) -> FdEntry {
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
        return path_entry(fd, &link, stat_path);
    };
    FdEntry { fd, kind, link, inode, flags: None, pos: None, size: None, details: None }
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
        other => FdKind::Anon(other.to_string()),
    }
}

/// A path: its type, inode and size from stat() through the /proc link.
fn path_entry(fd: FdName, link: &str, stat_path: &Path) -> FdEntry {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(stat_path).ok();
    let kind = match meta.as_ref().map(|m| m.file_type()) {
        Some(t) if t.is_file() => FdKind::Regular,
        Some(t) if t.is_dir() => FdKind::Directory,
        Some(t) if t.is_char_device() => FdKind::CharDevice,
        Some(t) if t.is_block_device() => FdKind::BlockDevice,
        Some(t) if t.is_fifo() => FdKind::Fifo,
        Some(t) if t.is_socket() => FdKind::Socket,
        _ => FdKind::Unknown,
    };
    let size = meta.as_ref().filter(|m| m.is_file()).map(|m| m.size());
    FdEntry {
        fd,
        kind,
        link: link.to_string(),
        inode: meta.map(|m| m.ino()),
        flags: None,
        pos: None,
        size,
        details: None,
    }
}

/// Files mapped into memory (/proc/PID/maps), each once, in order of first appearance.
fn mapped_files(base: &Path) -> Vec<String> {
    let Ok(maps) = std::fs::read_to_string(base.join("maps")) else { return Vec::new() };
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
        let p = Path::new("/nonexistent");
        let k = |l: &str| entry_for(FdName::Number(3), l.to_string(), p);
        assert_eq!((k("socket:[123]").kind, k("socket:[123]").inode), (FdKind::Socket, Some(123)));
        assert_eq!((k("pipe:[9]").kind, k("pipe:[9]").inode), (FdKind::Fifo, Some(9)));
        assert_eq!(k("anon_inode:[eventfd]").kind, FdKind::Eventfd);
        assert_eq!(k("anon_inode:inotify").kind, FdKind::Inotify);
        assert_eq!(k("anon_inode:bpf-map").kind, FdKind::BpfMap);
        assert_eq!(k("anon_inode:[dmabuf]").kind, FdKind::Anon("dmabuf".into()));
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
        let t = read(Path::new("/proc"), me, ReadOptions { fdinfo: true, specials: true }).expect("read self");
        let e = t.iter().find(|e| e.fd == FdName::Number(f.as_raw_fd() as u32)).expect("our file");
        assert_eq!(e.kind, FdKind::Regular);
        assert!(e.flags.as_ref().is_some_and(|fl| fl.access() == "r" && fl.names().contains(&"O_CLOEXEC")));
        assert!(t.iter().any(|e| e.fd == FdName::Special("cwd") && e.kind == FdKind::Directory));
        assert!(t.iter().any(|e| e.fd == FdName::Special("txt") && e.kind == FdKind::Regular));
        assert!(t.iter().any(|e| e.fd == FdName::Special("mem")));
        assert_eq!(read(Path::new("/proc"), u32::MAX, ReadOptions::default()), Err(Unreadable::Gone));
    }
}
