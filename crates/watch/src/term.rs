//! The terminal while the view is up: raw mode, the alternate screen, a hidden cursor. The
//! guard puts it back exactly as it was on every way out: a normal return, an error, a
//! panic (a hook runs before the panic message is printed) and SIGTERM or SIGHUP (the event
//! loop checks the flag the signal sets).

use crossterm::{cursor, execute, terminal};
use std::io::{self, Write};
use std::sync::Once;

pub struct Guard;

/// Puts the terminal back; harmless when called twice.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
}

impl Guard {
    pub fn enter() -> io::Result<Guard> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        Ok(Guard)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}
