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

/// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && rustix::termios::isatty(std::io::stdout())
}
