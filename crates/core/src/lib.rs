//! sockscope-core: everything sockscope knows about the sockets and file descriptors of a
//! Linux host, read from the kernel (sock_diag over netlink, /proc) into one plain model.
//!
//! Nothing here prints, exits or parses command lines: readers return `Result`s whose errors
//! name the path or pid involved, and the binary decides what to tell the user.
// Unsafe code lives in `sys` alone (the bpf system call).
#![deny(unsafe_code)]

// The facade: what the binary, the lab and other tools use.
pub mod capture;
pub mod collector;
pub mod container;
pub mod destroy;
pub mod diagnose;
pub mod fdselect;
pub mod fdview;
pub mod filter;
pub mod host;
pub mod hosts;
pub mod kernel_features;
pub mod lookup;
pub mod model;
pub mod names;
pub mod netns;
pub mod outfile;
pub mod process;
pub mod select;
pub mod snapshot;
pub mod sockopts;
pub mod stream;
pub mod summary;
pub mod text;
pub mod unix_peer;
pub mod who;

// The readers behind it, public only for the fuzz targets, benchmarks and fixture capture
// (the `testing` feature).
#[cfg(feature = "testing")]
pub mod btf;
#[cfg(not(feature = "testing"))]
mod btf;
mod fd_iterator;
#[cfg(feature = "testing")]
pub mod netlink;
#[cfg(not(feature = "testing"))]
mod netlink;
#[cfg(feature = "testing")]
pub mod procfs;
#[cfg(not(feature = "testing"))]
mod procfs;
mod sys;

pub use collector::{Collector, LookupRefresh, write_tcp_dump};
pub use model::{Endpoint, Family, Netid, SockState, Socket};
pub use netlink::NetlinkError;
pub use netlink::freed;
pub use netlink::request::Extensions;
pub use procfs::ProcError;
pub use select::Selection;
pub use snapshot::{KernelFilter, OwnerWalk, Snapshot, SnapshotError, SnapshotOptions, Source};
