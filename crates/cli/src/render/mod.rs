//! Output: one module per output, each printing text and, through `envelope`, JSON. Renderers
//! do no I/O but writing: what they show is read before they are called.

pub mod details;
pub mod digits;
pub mod doctor;
pub mod envelope;
pub mod fds;
pub mod lab;
pub mod names;
pub mod sockets;
pub mod sockets_json;
pub mod summary;
pub mod table;
pub mod who;

/// How a listing is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    /// One JSON document (`--json`).
    Json,
    /// One JSON object per line (`--jsonl`).
    JsonLines,
}
