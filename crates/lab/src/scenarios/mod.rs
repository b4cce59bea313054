//! The socket problems of the seed, made for real. Each `start` returns a value holding
//! everything it made, with its ground truth public; dropping it removes everything.

pub mod addr_in_use;
pub mod backlog;
pub mod close_wait;
pub mod ephemeral;
pub mod farm;
pub mod fd_exhaustion;
pub mod reuseport;
pub mod time_wait;

use std::os::fd::AsRawFd;

pub(crate) fn raw(fd: &impl AsRawFd) -> i32 {
    fd.as_raw_fd()
}
