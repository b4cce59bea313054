//! One module per command.

pub mod docs;
pub mod doctor;
pub mod fds;
pub mod kill;
pub mod lab;
pub mod list;
pub mod trace;
pub mod who;
