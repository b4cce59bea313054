//! /proc/PID/fdinfo/FD text of any fd kind (epoll watch lists, inotify, timers, signals).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = sockscope_core::procfs::fdinfo::parse(&text);
    let _ = sockscope_core::procfs::process::parse_fd_limit(&text);
});
