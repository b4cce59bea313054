//! One process's file descriptor table: what each fd is, how it was opened, and what the
//! kernel says about its internals (epoll watches, timers, counters, signal masks).

use serde::Serialize;

/// What an fd refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FdKind {
    Regular,
    Directory,
    CharDevice,
    BlockDevice,
    /// A pipe (`pipe:[N]`) or a named FIFO.
    Fifo,
    Socket,
    Eventfd,
    Timerfd,
    Signalfd,
    Eventpoll,
    Inotify,
    Fanotify,
    Pidfd,
    IoUring,
    BpfMap,
    BpfProg,
    BpfLink,
    Memfd,
    Userfaultfd,
    PerfEvent,
    /// A namespace file (`net:[4026531840]`).
    Namespace,
    /// Another anonymous inode (`[dmabuf]`, `sync_file`, …). Its name is its link's
    /// (`FdEntry::kind_name`), not kept twice: a name here made every fd 16 bytes larger.
    Anon,
    /// Something whose type could not be read.
    Unknown,
}

impl FdKind {
    /// Short type names, lsof-style for files, the kernel's names for the rest.
    pub fn name(&self) -> &str {
        match self {
            FdKind::Regular => "REG",
            FdKind::Directory => "DIR",
            FdKind::CharDevice => "CHR",
            FdKind::BlockDevice => "BLK",
            FdKind::Fifo => "FIFO",
            FdKind::Socket => "sock",
            FdKind::Eventfd => "eventfd",
            FdKind::Timerfd => "timerfd",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Fanotify => "fanotify",
            FdKind::Pidfd => "pidfd",
            FdKind::IoUring => "io_uring",
            FdKind::BpfMap => "bpf-map",
            FdKind::BpfProg => "bpf-prog",
            FdKind::BpfLink => "bpf-link",
            FdKind::Memfd => "memfd",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::PerfEvent => "perf_event",
            FdKind::Namespace => "nsfs",
            FdKind::Anon => "anon",
            FdKind::Unknown => "?",
        }
    }
}

/// The open flags from fdinfo (`flags:` in octal). Stored as the number; the access mode
/// and flag names are derived (and serialized as `access` and `names`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenFlags {
    pub raw: u32,
}

impl Serialize for OpenFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("OpenFlags", 3)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("access", self.access())?;
        st.serialize_field("names", &self.names())?;
        st.end()
    }
}

impl OpenFlags {
    const NAMED: [(u32, &'static str); 12] = [
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o2000000, "O_CLOEXEC"),
        (0o20000, "O_ASYNC"),
        (0o40000, "O_DIRECT"),
        (0o100000, "O_LARGEFILE"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o1000000, "O_NOATIME"),
        (0o4010000, "O_SYNC"),
        (0o10000, "O_DSYNC"),
        (0o20000000, "O_TMPFILE"),
    ];

    pub fn decode(raw: u32) -> OpenFlags {
        OpenFlags { raw }
    }

    /// `r`, `w` or `rw` (O_ACCMODE); `path` for O_PATH.
    pub fn access(&self) -> &'static str {
        const O_PATH: u32 = 0o10000000;
        if self.raw & O_PATH != 0 {
            "path"
        } else {
            match self.raw & 3 {
                0 => "r",
                1 => "w",
                _ => "rw",
            }
        }
    }

    /// O_APPEND, O_NONBLOCK, O_CLOEXEC, … in a fixed order.
    pub fn names(&self) -> Vec<&'static str> {
        let raw = self.raw;
        Self::NAMED
            .iter()
            // O_SYNC includes O_DSYNC's bit: name only the larger one.
            .filter(|(bit, name)| raw & bit == *bit && !(*name == "O_DSYNC" && raw & 0o4010000 == 0o4010000))
            .map(|(_, name)| *name)
            .collect()
    }
}

/// One watch of an epoll instance: the watched fd (in the epoll owner's table) and its
/// event mask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpollWatch {
    pub fd: u32,
    pub events: u32,
    pub event_names: Vec<&'static str>,
    /// The user data registered with it.
    pub data: u64,
    /// Inode of the watched file (to recognise it if the fd was closed or reused).
    pub inode: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InotifyWatch {
    pub wd: u32,
    pub inode: u64,
    pub device: u32,
    pub mask: u32,
    pub mask_names: Vec<&'static str>,
}

/// What fdinfo tells about special fds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FdDetails {
    Epoll {
        watches: Vec<EpollWatch>,
    },
    Eventfd {
        count: u64,
        id: Option<u32>,
        semaphore: Option<bool>,
    },
    Timerfd {
        clock: String,
        ticks: u64,
        /// Time until the next expiry; 0 when disarmed.
        next_expiry_ns: u64,
        interval_ns: u64,
        settime_flags: u32,
    },
    Signalfd {
        mask: u64,
        signals: Vec<String>,
    },
    Inotify {
        watches: Vec<InotifyWatch>,
    },
    Pidfd {
        pid: i64,
    },
}

/// One fd of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdEntry {
    /// The fd number, or a name for lsof's pseudo-fds: `cwd`, `rtd` (root), `txt` (the
    /// executable), `mem` (a memory-mapped file).
    pub fd: FdName,
    pub kind: FdKind,
    /// The target as /proc shows it (read it with `link()`): a path, `anon_inode:[…]`; empty
    /// for `socket:[N]` and `pipe:[N]`, which `link()` rebuilds from the inode — on a host
    /// with 200k sockets, a string each was 6 MB.
    pub link: Box<str>,
    /// The inode of the open file (sockets and pipes: their inode).
    pub inode: Option<u64>,
    pub flags: Option<OpenFlags>,
    pub pos: Option<u64>,
    pub size: Option<u64>,
    /// Boxed: most fds have none.
    pub details: Option<Box<FdDetails>>,
}

impl FdEntry {
    /// The kind's short name (`FdKind::name`); another anonymous inode's is its own name,
    /// from the link (`anon_inode:[dmabuf]` is `dmabuf`).
    pub fn kind_name(&self) -> &str {
        match self.kind {
            FdKind::Anon => anon_name(&self.link),
            ref k => k.name(),
        }
    }

    /// An anonymous pipe (`pipe:[N]`), not a named FIFO; without building the link text.
    pub fn is_pipe(&self) -> bool {
        self.kind == FdKind::Fifo && (self.link.is_empty() || self.link.starts_with("pipe:"))
    }

    /// The target as /proc shows it: a path, `socket:[N]`, `pipe:[N]`, `anon_inode:[…]`.
    pub fn link(&self) -> std::borrow::Cow<'_, str> {
        match (&self.kind, self.inode) {
            (FdKind::Socket, Some(i)) if self.link.is_empty() => format!("socket:[{i}]").into(),
            (FdKind::Fifo, Some(i)) if self.link.is_empty() => format!("pipe:[{i}]").into(),
            _ => std::borrow::Cow::Borrowed(&self.link),
        }
    }
}

impl Serialize for FdEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FdEntry", 8)?;
        st.serialize_field("fd", &self.fd)?;
        // Another anonymous inode as `{"anon": NAME}`, its name from the link.
        struct Anon<'a>(&'a str);
        impl Serialize for Anon<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_newtype_variant("FdKind", 21, "anon", self.0)
            }
        }
        match self.kind {
            FdKind::Anon => st.serialize_field("kind", &Anon(self.kind_name()))?,
            ref k => st.serialize_field("kind", k)?,
        }
        st.serialize_field("link", &crate::text::lossy(&self.link()))?;
        st.serialize_field("inode", &self.inode)?;
        macro_rules! optional {
            ($($name:ident),*) => {$(
                match &self.$name {
                    Some(v) => st.serialize_field(stringify!($name), v)?,
                    None => st.skip_field(stringify!($name))?,
                }
            )*};
        }
        optional!(flags, pos, size, details);
        st.end()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum FdName {
    Number(u32),
    Special(Special),
}

/// lsof's pseudo-fds, as lsof names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Special {
    /// The current directory.
    Cwd,
    /// The root directory.
    Rtd,
    /// The executable.
    Txt,
    /// A memory-mapped file.
    Mem,
}

impl Special {
    pub fn name(self) -> &'static str {
        match self {
            Special::Cwd => "cwd",
            Special::Rtd => "rtd",
            Special::Txt => "txt",
            Special::Mem => "mem",
        }
    }
}

impl std::fmt::Display for FdName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FdName::Number(n) => write!(f, "{n}"),
            FdName::Special(s) => f.write_str(s.name()),
        }
    }
}

/// RLIMIT_NOFILE of a process (from /proc/PID/limits); `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FdLimit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// System-wide file table numbers (/proc/sys/fs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SystemFiles {
    /// file-nr: allocated file handles.
    pub allocated: u64,
    /// file-max: the most the kernel will allocate.
    pub max: u64,
    /// nr_open: the highest RLIMIT_NOFILE any process can have.
    pub nr_open: u64,
}

impl SystemFiles {
    /// From the texts of /proc/sys/fs/file-nr and nr_open; `None` when file-nr is empty.
    pub fn from_texts(file_nr: &str, nr_open: &str) -> Option<SystemFiles> {
        let mut f = file_nr.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
        let allocated = f.next()?;
        let _unused = f.next();
        let max = f.next().unwrap_or(0);
        Some(SystemFiles { allocated, max, nr_open: nr_open.trim().parse().unwrap_or(0) })
    }
}

/// The name of an anonymous inode from its link: `anon_inode:[dmabuf]` is `dmabuf`.
fn anon_name(link: &str) -> &str {
    link.strip_prefix("anon_inode:").unwrap_or(link).trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod size_tests {
    /// `fds` and `record` hold one per fd: a million at a million sockets. 112 bytes while
    /// `FdKind::Anon` kept its name (the link has it).
    #[test]
    fn an_fd_entry_is_96_bytes() {
        assert_eq!(std::mem::size_of::<super::FdEntry>(), 96);
    }
}
