//! Output formats: one module per format, all reading the same snapshot.

pub mod details;
pub mod digits;
pub mod doctor;
pub mod fds;
pub mod json;
pub mod names;
pub mod sockets;
pub mod table;
