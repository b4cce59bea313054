//! sockscope-core: everything sockscope knows about the sockets and file descriptors of a
//! Linux host, read from the kernel (sock_diag over netlink, /proc) into one plain model.
//!
//! Nothing here prints, exits or parses command lines: readers return `Result`s whose errors
//! name the path or pid involved, and the binary decides what to tell the user.
#![forbid(unsafe_code)]

pub mod collector;
pub mod decimal;
pub mod diagnose;
pub mod fdselect;
pub mod fdview;
pub mod filter;
pub mod model;
pub mod names;
pub mod netlink;
pub mod procfs;
pub mod select;
pub mod snapshot;
pub mod summary;
pub mod text;
pub mod who;

pub use collector::Collector;
pub use model::{Endpoint, Family, Netid, SockState, Socket};
pub use select::Selection;
pub use snapshot::{KernelFilter, Snapshot, SnapshotOptions, Source};
