//! One module per command.

pub mod kill;
pub mod list;
pub mod summary;
