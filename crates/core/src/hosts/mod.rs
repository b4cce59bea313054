//! Where the reading commands' answers come from: the running host (`LiveHost`, through
//! core's readers) or one look of a capture (`CaptureHost`, from its recorded frame). Every
//! consumer — the socket table, `-s`, `fds`, `who`, `doctor`, `watch`, `serve` — asks a
//! `&dyn Host`, so no consumer knows which one answers; `record` saves what a `LiveHost`
//! reads (`record::take`).
//!
//! A question a capture cannot answer (threads, files opened by path) is answered with an
//! error that says so, from `CaptureHost` alone.

mod host;
pub mod live;
pub mod record;
pub mod recorded;

pub use host::{FdCount, FdSocket, FdTable, FileHolders, Host, LaterLook, PathKind, Refresh, UnixFile};
pub use live::LiveHost;
pub use recorded::CaptureHost;
