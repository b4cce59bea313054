//! The terminal, when stdout is one.

/// Columns of the terminal on stdout, or `None` when stdout is not a terminal (a pipe or a
/// file gets full-width lines).
pub fn stdout_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !rustix::termios::isatty(&stdout) {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout).ok().map(|w| usize::from(w.ws_col)).filter(|w| *w > 0)
}
