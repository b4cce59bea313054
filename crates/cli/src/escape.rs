//! Text from the system (process names, socket paths) is escaped before it reaches a
//! terminal: a process named "\x1b]0;pwned\x07" must not retitle the user's window. The
//! escaping itself lives in `sockscope_core::text`; this is the binary's door to it.

pub use sockscope_core::text::escape;

/// A path, escaped for a terminal.
pub fn escape_path(path: &std::path::Path) -> String {
    escape(&sockscope_core::text::path_text(path)).into_owned()
}
