//! `/proc/PID/fdinfo/FD` text → position, flags and the per-kind details
//! (fs/proc/fd.c, fs/eventpoll.c, fs/timerfd.c, fs/signalfd.c, fs/eventfd.c,
//! fs/notify/fdinfo.c). Unknown lines are ignored; a malformed line is skipped.

use crate::model::{EpollWatch, FdDetails, InotifyWatch, OpenFlags};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FdInfo {
    pub pos: Option<u64>,
    pub flags: Option<OpenFlags>,
    pub ino: Option<u64>,
    pub details: Option<FdDetails>,
}

/// /proc/PID/fdinfo/FD, parsed.
pub fn read(proc_root: &std::path::Path, pid: u32, fd: u32) -> std::io::Result<FdInfo> {
    let text = crate::text::read_lines(proc_root.join(pid.to_string()).join("fdinfo").join(fd.to_string()))?;
    Ok(parse(&text))
}

pub fn parse(text: &str) -> FdInfo {
    let mut info = FdInfo::default();
    let mut epoll = Vec::new();
    let mut inotify = Vec::new();
    let mut eventfd: Option<(u64, Option<u32>, Option<bool>)> = None;
    let mut timer = TimerParts::default();
    let mut sigmask = None;
    let mut pidfd = None;
    for line in text.lines() {
        let (key, value) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => continue,
        };
        match key {
            "pos" => info.pos = value.parse().ok(),
            "flags" => info.flags = u32::from_str_radix(value, 8).ok().map(OpenFlags::decode),
            "ino" => info.ino = value.parse().ok(),
            "tfd" => epoll.extend(parse_epoll(line)),
            "eventfd-count" => eventfd.get_or_insert((0, None, None)).0 = u64::from_str_radix(value, 16).unwrap_or(0),
            "eventfd-id" => eventfd.get_or_insert((0, None, None)).1 = value.parse().ok(),
            "eventfd-semaphore" => eventfd.get_or_insert((0, None, None)).2 = value.parse::<u8>().ok().map(|v| v != 0),
            "clockid" => timer.clock = value.parse().ok(),
            "ticks" => timer.ticks = value.parse().ok(),
            "settime flags" => timer.flags = u32::from_str_radix(value, 8).ok(),
            "it_value" => timer.value = parse_pair(value),
            "it_interval" => timer.interval = parse_pair(value),
            "sigmask" => sigmask = u64::from_str_radix(value, 16).ok(),
            "Pid" => pidfd = value.parse().ok(),
            _ if key.starts_with("inotify wd") => inotify.extend(parse_inotify(line)),
            _ => {}
        }
    }
    info.details = if !epoll.is_empty() || text.contains("tfd:") {
        Some(FdDetails::Epoll { watches: epoll })
    } else if let Some((count, id, semaphore)) = eventfd {
        Some(FdDetails::Eventfd { count, id, semaphore })
    } else if let Some(clock) = timer.clock {
        let (vs, vns) = timer.value.unwrap_or((0, 0));
        let (is, ins) = timer.interval.unwrap_or((0, 0));
        Some(FdDetails::Timerfd {
            clock: clock_name(clock),
            ticks: timer.ticks.unwrap_or(0),
            next_expiry_ns: vs.saturating_mul(1_000_000_000).saturating_add(vns),
            interval_ns: is.saturating_mul(1_000_000_000).saturating_add(ins),
            settime_flags: timer.flags.unwrap_or(0),
        })
    } else if let Some(mask) = sigmask {
        Some(FdDetails::Signalfd { mask, signals: signal_names(mask) })
    } else if !inotify.is_empty() || text.contains("inotify wd") {
        Some(FdDetails::Inotify { watches: inotify })
    } else {
        pidfd.map(|pid| FdDetails::Pidfd { pid })
    };
    info
}

/// An empty epoll or inotify instance has no lines to recognise it by; the caller knows
/// the kind from the link and asks for this.
pub fn empty_details(kind: &crate::model::FdKind) -> Option<FdDetails> {
    match kind {
        crate::model::FdKind::Eventpoll => Some(FdDetails::Epoll { watches: Vec::new() }),
        crate::model::FdKind::Inotify => Some(FdDetails::Inotify { watches: Vec::new() }),
        _ => None,
    }
}

#[derive(Default)]
struct TimerParts {
    clock: Option<i32>,
    ticks: Option<u64>,
    flags: Option<u32>,
    value: Option<(u64, u64)>,
    interval: Option<(u64, u64)>,
}

/// `(1, 500000000)` → (1, 500000000)
fn parse_pair(v: &str) -> Option<(u64, u64)> {
    let inner = v.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (a, b) = inner.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// `key:value` pairs separated by spaces, where a value may follow after spaces
/// (`tfd:        5 events:       19 data: …`).
fn fields(line: &str) -> Vec<(&str, &str)> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((k, v)) = tokens[i].split_once(':') {
            if v.is_empty() {
                if let Some(next) = tokens.get(i + 1) {
                    out.push((k, *next));
                    i += 2;
                    continue;
                }
            } else {
                out.push((k, v));
            }
        }
        i += 1;
    }
    out
}

fn parse_epoll(line: &str) -> Option<EpollWatch> {
    let f = fields(line);
    let get = |k: &str| f.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let events = u32::from_str_radix(get("events")?, 16).ok()?;
    Some(EpollWatch {
        fd: get("tfd")?.parse().ok()?,
        events,
        event_names: epoll_event_names(events),
        data: u64::from_str_radix(get("data")?, 16).unwrap_or(0),
        inode: get("ino").and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0),
    })
}

fn parse_inotify(line: &str) -> Option<InotifyWatch> {
    let body = line.strip_prefix("inotify")?;
    let f = fields(body);
    let hex = |k: &str| f.iter().find(|(key, _)| *key == k).and_then(|(_, v)| u64::from_str_radix(v, 16).ok());
    let mask = hex("mask")? as u32;
    Some(InotifyWatch {
        wd: hex("wd")? as u32,
        inode: hex("ino").unwrap_or(0),
        device: hex("sdev").unwrap_or(0) as u32,
        mask,
        mask_names: inotify_mask_names(mask),
    })
}

pub fn epoll_event_names(events: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 15] = [
        (0x1, "EPOLLIN"),
        (0x2, "EPOLLPRI"),
        (0x4, "EPOLLOUT"),
        (0x8, "EPOLLERR"),
        (0x10, "EPOLLHUP"),
        (0x20, "EPOLLNVAL"),
        (0x40, "EPOLLRDNORM"),
        (0x80, "EPOLLRDBAND"),
        (0x100, "EPOLLWRNORM"),
        (0x200, "EPOLLWRBAND"),
        (0x400, "EPOLLMSG"),
        (0x2000, "EPOLLRDHUP"),
        (1 << 28, "EPOLLEXCLUSIVE"),
        (1 << 29, "EPOLLWAKEUP"),
        (1 << 30, "EPOLLONESHOT"),
    ];
    let mut out: Vec<&str> = NAMES.iter().filter(|(b, _)| events & b != 0).map(|(_, n)| *n).collect();
    if events & (1 << 31) != 0 {
        out.push("EPOLLET");
    }
    out
}

pub fn inotify_mask_names(mask: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 16] = [
        (0x1, "IN_ACCESS"),
        (0x2, "IN_MODIFY"),
        (0x4, "IN_ATTRIB"),
        (0x8, "IN_CLOSE_WRITE"),
        (0x10, "IN_CLOSE_NOWRITE"),
        (0x20, "IN_OPEN"),
        (0x40, "IN_MOVED_FROM"),
        (0x80, "IN_MOVED_TO"),
        (0x100, "IN_CREATE"),
        (0x200, "IN_DELETE"),
        (0x400, "IN_DELETE_SELF"),
        (0x800, "IN_MOVE_SELF"),
        (0x0100_0000, "IN_ONLYDIR"),
        (0x0200_0000, "IN_DONT_FOLLOW"),
        (0x2000_0000, "IN_MASK_ADD"),
        (0x8000_0000, "IN_ONESHOT"),
    ];
    NAMES.iter().filter(|(b, _)| mask & b != 0).map(|(_, n)| *n).collect()
}

fn clock_name(id: i32) -> String {
    match id {
        0 => "CLOCK_REALTIME".into(),
        1 => "CLOCK_MONOTONIC".into(),
        7 => "CLOCK_BOOTTIME".into(),
        8 => "CLOCK_REALTIME_ALARM".into(),
        9 => "CLOCK_BOOTTIME_ALARM".into(),
        other => format!("clock {other}"),
    }
}

/// Bit N-1 of a signal mask is signal N: names as `kill -l` gives them.
pub fn signal_names(mask: u64) -> Vec<String> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match NAMES.get(bit) {
            Some(n) => (*n).to_string(),
            None => format!("SIGRTMIN+{}", bit + 1 - 34),
        })
        .collect()
}

#[cfg(test)]
mod tests;
