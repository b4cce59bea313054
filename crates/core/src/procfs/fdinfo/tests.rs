//! fdinfo captured from a real process holding one fd of each kind
//! (tests/fixtures/fdinfo.txt: `== FD -> LINK` headers, then the fdinfo text).

use super::*;
use crate::model::FdDetails;

fn sections() -> Vec<(u32, String, String)> {
    let text = include_str!("../../../tests/fixtures/fdinfo.txt");
    let mut out = Vec::new();
    for block in text.split("== ").skip(1) {
        let (head, body) = block.split_once('\n').expect("header line");
        let (fd, link) = head.split_once(" -> ").expect("fd -> link");
        out.push((fd.parse().expect("fd"), link.to_string(), body.to_string()));
    }
    out
}

fn info_for(link_part: &str) -> FdInfo {
    let (_, _, body) = sections().into_iter().find(|(_, l, _)| l.contains(link_part)).expect("captured");
    parse(&body)
}

#[test]
fn eventfd() {
    let i = info_for("[eventfd]");
    assert_eq!(i.details, Some(FdDetails::Eventfd { count: 5, id: Some(1), semaphore: Some(false) }));
    let f = i.flags.expect("flags");
    assert_eq!(f.access(), "rw");
    assert_eq!(f.names(), vec!["O_NONBLOCK", "O_CLOEXEC"]);
}

#[test]
fn timerfd() {
    match info_for("[timerfd]").details {
        Some(FdDetails::Timerfd { clock, interval_ns, next_expiry_ns, ticks, .. }) => {
            assert_eq!(clock, "CLOCK_MONOTONIC");
            assert_eq!(interval_ns, 1_500_000_000);
            assert!(next_expiry_ns > 0 && next_expiry_ns <= 30_000_000_000, "armed for 30 s at capture");
            assert_eq!(ticks, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn signalfd() {
    match info_for("[signalfd]").details {
        Some(FdDetails::Signalfd { signals, .. }) => assert_eq!(signals, vec!["SIGUSR1", "SIGTERM", "SIGRTMIN+2"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn epoll_watch_list() {
    match info_for("[eventpoll]").details {
        Some(FdDetails::Epoll { watches }) => {
            let w: Vec<(u32, Vec<&str>, u64)> = watches.iter().map(|w| (w.fd, w.event_names.clone(), w.data)).collect();
            assert_eq!(
                w,
                vec![
                    (4, vec!["EPOLLIN", "EPOLLERR", "EPOLLHUP", "EPOLLRDHUP", "EPOLLET"], 0xabc),
                    (3, vec!["EPOLLIN", "EPOLLERR", "EPOLLHUP"], 3),
                ]
            );
            assert_eq!(watches[0].inode, 0x40f);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inotify_and_pidfd_and_files() {
    match info_for("inotify").details {
        Some(FdDetails::Inotify { watches }) => {
            assert_eq!(watches.len(), 1);
            assert_eq!(watches[0].wd, 1);
            assert_eq!(watches[0].mask_names, vec!["IN_CREATE", "IN_DELETE"]);
            assert_eq!(watches[0].inode, 0x3c4a7);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(info_for("[pidfd]").details.map(|d| matches!(d, FdDetails::Pidfd { .. })), Some(true));
    let memfd = info_for("memfd:");
    assert_eq!(memfd.pos, Some(5));
    let hostname = info_for("/etc/hostname");
    assert_eq!(hostname.flags.expect("flags").names(), vec!["O_CLOEXEC", "O_LARGEFILE", "O_NOATIME"]);
    let append = info_for("append.log");
    let f = append.flags.expect("flags");
    assert_eq!((f.access(), f.names()), ("w", vec!["O_APPEND", "O_LARGEFILE"]));
    assert_eq!(hostname.details, None);
}

#[test]
fn empty_epoll_has_no_lines() {
    let (_, _, body) = sections().into_iter().rev().find(|(_, l, _)| l.contains("[eventpoll]")).expect("second epoll");
    assert_eq!(parse(&body).details, None, "the caller supplies empty_details() from the link");
}

#[test]
fn garbage_is_ignored() {
    let i = parse("pos: x\nflags: 9z\ntfd: nope events: zz\nclockid: q\nsigmask: xyz\n::::\n");
    assert_eq!(i.pos, None);
    assert_eq!(i.flags, None);
    assert!(matches!(i.details, Some(FdDetails::Epoll { watches }) if watches.is_empty()));
}

#[test]
fn o_sync_is_not_also_o_dsync() {
    assert_eq!(OpenFlags::decode(0o4010001).names(), vec!["O_SYNC"]);
    assert_eq!(OpenFlags::decode(0o10001).names(), vec!["O_DSYNC"]);
    assert_eq!(OpenFlags::decode(0o10000000).access(), "path");
}
