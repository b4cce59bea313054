//! One module per command.

pub mod list;
