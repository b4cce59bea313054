//! System call names (the `syscalls` crate's table for the architecture built for) and
//! strace's classes of them, for `-e trace=SET`.

use std::collections::BTreeSet;
use std::str::FromStr;
use syscalls::Sysno;

/// strace's `%net` (`%network`): the calls that act on sockets.
const NET: &[&str] = &[
    "socket",
    "socketpair",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "getsockname",
    "getpeername",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "setsockopt",
    "getsockopt",
];

/// strace's `%desc`: the calls that take or return a file descriptor (the socket calls are
/// `%net`). strace marks them TD in its syscall tables.
const DESC: &[&str] = &[
    "read",
    "write",
    "open",
    "creat",
    "close",
    "close_range",
    "fstat",
    "poll",
    "ppoll",
    "lseek",
    "mmap",
    "ioctl",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "select",
    "pselect6",
    "dup",
    "dup2",
    "dup3",
    "sendfile",
    "fcntl",
    "flock",
    "fsync",
    "fdatasync",
    "ftruncate",
    "getdents",
    "getdents64",
    "fchdir",
    "fchmod",
    "fchown",
    "fstatfs",
    "readahead",
    "fsetxattr",
    "fgetxattr",
    "flistxattr",
    "fremovexattr",
    "fadvise64",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    "openat",
    "openat2",
    "mkdirat",
    "mknodat",
    "fchownat",
    "futimesat",
    "newfstatat",
    "unlinkat",
    "renameat",
    "renameat2",
    "linkat",
    "symlinkat",
    "readlinkat",
    "fchmodat",
    "faccessat",
    "faccessat2",
    "splice",
    "tee",
    "vmsplice",
    "sync_file_range",
    "utimensat",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "eventfd",
    "eventfd2",
    "fallocate",
    "pipe",
    "pipe2",
    "perf_event_open",
    "fanotify_init",
    "fanotify_mark",
    "name_to_handle_at",
    "open_by_handle_at",
    "syncfs",
    "setns",
    "finit_module",
    "memfd_create",
    "bpf",
    "execveat",
    "userfaultfd",
    "copy_file_range",
    "statx",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
];

/// strace's `%file`: the calls that take a file name.
const FILE: &[&str] = &[
    "open",
    "creat",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "execve",
    "execveat",
    "truncate",
    "chdir",
    "chroot",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "symlink",
    "symlinkat",
    "readlink",
    "readlinkat",
    "chmod",
    "fchmodat",
    "chown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "mknod",
    "mknodat",
    "statfs",
    "pivot_root",
    "acct",
    "mount",
    "umount2",
    "swapon",
    "swapoff",
    "setxattr",
    "lsetxattr",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "removexattr",
    "lremovexattr",
    "inotify_add_watch",
    "openat",
    "openat2",
    "fanotify_mark",
    "name_to_handle_at",
    "open_tree",
    "move_mount",
    "fspick",
    "mount_setattr",
    "quotactl",
    "uselib",
];

/// strace's `%process`: the calls that start, end or signal processes.
const PROCESS: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_send_signal",
];

/// The `%desc` calls that `--sockets-only` shows only when their first argument is a socket.
pub const FD_FIRST: &[&str] = &[
    "read", "write", "close", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "fcntl", "ioctl", "fstat", "dup", "dup2", "dup3", "sendfile", "splice",
];

/// The name of syscall `nr` on this architecture.
pub fn name(nr: u64) -> Option<&'static str> {
    usize::try_from(nr).ok().and_then(Sysno::new).map(|s| s.name())
}

/// The number of syscall `name` on this architecture (None: this architecture has no such
/// call, as `open` on aarch64).
pub fn number(name: &str) -> Option<u64> {
    Sysno::from_str(name).ok().and_then(|s| u64::try_from(s.id()).ok())
}

fn class(word: &str) -> Option<&'static [&'static str]> {
    match word {
        "%net" | "%network" | "network" => Some(NET),
        "%desc" | "desc" => Some(DESC),
        "%file" | "file" => Some(FILE),
        "%process" | "process" => Some(PROCESS),
        _ => None,
    }
}

/// The default set: `%net`.
pub fn default_set() -> BTreeSet<u64> {
    NET.iter().filter_map(|n| number(n)).collect()
}

/// Whether `nr` is one of `%desc`'s calls that act on the fd in their first argument.
pub fn takes_fd_first(nr: u64) -> bool {
    name(nr).is_some_and(|n| FD_FIRST.contains(&n))
}

/// Whether `nr` is in `%desc`.
pub fn is_desc(nr: u64) -> bool {
    name(nr).is_some_and(|n| DESC.contains(&n))
}

/// The set `-e trace=SET` asks for, in strace's syntax: syscall names and the classes
/// `%net`/`%network`, `%desc`, `%file`, `%process`, comma separated; a leading `!` takes the
/// complement (`!%net`: every call but the socket calls). Returns the numbers, or the first
/// word it does not know.
pub fn parse_set(spec: &str) -> Result<BTreeSet<u64>, String> {
    let (negated, spec) = match spec.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let mut out = BTreeSet::new();
    for word in spec.split(',').map(str::trim) {
        if word.is_empty() {
            return Err(word.to_string());
        }
        match class(word) {
            // A class member missing on this architecture (`open` on aarch64) is skipped.
            Some(names) => out.extend(names.iter().filter_map(|n| number(n))),
            None => {
                out.insert(number(word).ok_or_else(|| word.to_string())?);
            }
        }
    }
    if negated {
        out = Sysno::iter().filter_map(|s| u64::try_from(s.id()).ok()).filter(|n| !out.contains(n)).collect();
    }
    Ok(out)
}

/// The classes `-e trace=` knows, for messages.
pub const CLASSES: &str = "%net, %desc, %file, %process";

/// How many arguments call `name` takes, as strace shows them (its syscall tables' nargs),
/// for the calls of the classes above; 6 (every register) for any other.
pub fn arg_count(name: &str) -> usize {
    const ONE: &[&str] = &[
        "close",
        "dup",
        "fsync",
        "fdatasync",
        "fchdir",
        "epoll_create",
        "epoll_create1",
        "inotify_init",
        "inotify_init1",
        "syncfs",
        "pipe",
        "exit",
        "exit_group",
        "chdir",
        "chroot",
        "rmdir",
        "unlink",
        "acct",
        "uselib",
        "swapoff",
        "eventfd",
        "userfaultfd",
        "io_uring_setup",
    ];
    const TWO: &[&str] = &[
        "dup2",
        "fstat",
        "flock",
        "ftruncate",
        "fchmod",
        "fstatfs",
        "fremovexattr",
        "inotify_rm_watch",
        "timerfd_create",
        "timerfd_gettime",
        "eventfd2",
        "pipe2",
        "setns",
        "memfd_create",
        "pidfd_open",
        "creat",
        "stat",
        "lstat",
        "access",
        "mkdir",
        "rename",
        "link",
        "symlink",
        "chmod",
        "truncate",
        "statfs",
        "utime",
        "utimes",
        "pivot_root",
        "swapon",
        "umount2",
        "removexattr",
        "lremovexattr",
        "kill",
        "tkill",
        "fork",
        "vfork",
        "open_tree",
        "fsopen",
        "fspick",
    ];
    const THREE: &[&str] = &[
        "read",
        "write",
        "open",
        "poll",
        "lseek",
        "ioctl",
        "readv",
        "writev",
        "dup3",
        "fcntl",
        "getdents",
        "getdents64",
        "fchown",
        "readahead",
        "signalfd",
        "inotify_add_watch",
        "mkdirat",
        "unlinkat",
        "symlinkat",
        "fchmodat",
        "faccessat",
        "execve",
        "chown",
        "lchown",
        "readlink",
        "mknod",
        "listxattr",
        "llistxattr",
        "finit_module",
        "bpf",
        "pidfd_getfd",
        "close_range",
        "tgkill",
        "rt_sigqueueinfo",
        "futimesat",
        "flistxattr",
        "mount_setattr",
        "fsmount",
    ];
    const FOUR: &[&str] = &[
        "pread64",
        "pwrite64",
        "preadv",
        "pwritev",
        "sendfile",
        "epoll_ctl",
        "epoll_wait",
        "openat",
        "openat2",
        "mknodat",
        "renameat",
        "readlinkat",
        "fadvise64",
        "tee",
        "vmsplice",
        "sync_file_range",
        "utimensat",
        "signalfd4",
        "timerfd_settime",
        "fallocate",
        "faccessat2",
        "fgetxattr",
        "wait4",
        "fanotify_mark",
        "rt_tgsigqueueinfo",
        "pidfd_send_signal",
        "quotactl",
        "getxattr",
        "lgetxattr",
        "statx",
    ];
    const FIVE: &[&str] = &[
        "select",
        "ppoll",
        "fsetxattr",
        "fchownat",
        "linkat",
        "renameat2",
        "name_to_handle_at",
        "perf_event_open",
        "execveat",
        "waitid",
        "clone",
        "setxattr",
        "lsetxattr",
        "mount",
        "fanotify_init",
        "move_mount",
        "fsconfig",
        "open_by_handle_at",
    ];
    let tables: [(&[&str], usize); 5] = [(ONE, 1), (TWO, 2), (THREE, 3), (FOUR, 4), (FIVE, 5)];
    tables.iter().find(|(names, _)| names.contains(&name)).map_or(6, |(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_name_is_a_syscall_of_some_architecture() {
        // A typo in a class would silently shrink it: every name must be known here, except
        // the legacy calls aarch64 lacks (this test runs on x86_64 in CI).
        if cfg!(target_arch = "x86_64") {
            for n in NET.iter().chain(DESC).chain(FILE).chain(PROCESS).chain(FD_FIRST) {
                assert!(number(n).is_some(), "{n}");
            }
        }
    }

    #[test]
    fn sets_names_and_negation() {
        let connect = number("connect").unwrap_or_default();
        assert_eq!(name(connect), Some("connect"));
        assert_eq!(parse_set("%net").map(|s| s.len()), Ok(NET.len()));
        assert_eq!(parse_set("connect,socket").map(|s| s.len()), Ok(2));
        assert_eq!(parse_set("connect,bogus"), Err("bogus".to_string()));
        assert_eq!(parse_set("connect,"), Err(String::new()));
        let not_net = parse_set("!%net").unwrap_or_default();
        assert!(!not_net.contains(&connect));
        assert!(not_net.contains(&number("read").unwrap_or_default()));
        assert!(parse_set("%desc,%file,%process").is_ok());
    }
}
