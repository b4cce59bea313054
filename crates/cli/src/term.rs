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

/// Whether to colour: `--color always` or `never`, else only on a terminal and never when
/// NO_COLOR is set (no-color.org) or TERM is `dumb`.
pub fn colour(choice: crate::args::ColorChoice) -> bool {
    use crate::args::ColorChoice;
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                && rustix::termios::isatty(std::io::stdout())
        }
    }
}
