//! Where everything sockscope prints goes through: standard output wrapped in a `Guarded`
//! writer, and standard error through `stderr_line!`. Both run `text::guard` over what they
//! write, so even a name a renderer forgot to escape cannot reach the terminal raw, and
//! neither panics when the stream is full or gone. clippy.toml forbids `println!` and
//! `eprintln!`, so there is no other way out.

use sockscope_core::text::guard;
use std::io::{self, Write};

/// Writes `format!`-style arguments as one line on stderr, guarded; a failed write (stderr
/// on /dev/full, or closed) is ignored, since there is nowhere left to report it.
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(::std::format_args!($($arg)*))
    };
}

pub fn stderr_line(args: std::fmt::Arguments<'_>) {
    let line = args.to_string();
    let mut err = io::stderr().lock();
    let _ = err.write_all(guard(&line).as_bytes());
    let _ = err.write_all(b"\n");
}

/// A writer that guards all text passing through it. Writes are expected to be UTF-8 (all
/// renderers write `str`s), usually a buffer's worth at a time: a multi-byte character (a
/// colour marker among them) split between two writes is held back until its end arrives,
/// and bytes that are not UTF-8 at all are written as `\xNN`.
pub struct Guarded<W: Write> {
    inner: W,
    /// The start of a UTF-8 character whose other bytes are in the next write.
    pending: Vec<u8>,
}

impl<W: Write> Guarded<W> {
    pub fn new(inner: W) -> Guarded<W> {
        Guarded { inner, pending: Vec::new() }
    }

    /// Guards and writes `bytes`. Unless `last`, an unfinished character at the end is held
    /// back for the next write; when `last`, nothing more will come.
    fn write_text(&mut self, bytes: &[u8], last: bool) -> io::Result<()> {
        let mut rest = bytes;
        loop {
            let (valid, after) = match std::str::from_utf8(rest) {
                Ok(text) => (text, &[][..]),
                // `valid_up_to` is where the UTF-8 ends.
                Err(e) => (std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(), &rest[e.valid_up_to()..]),
            };
            self.inner.write_all(guard(valid).as_bytes())?;
            if after.is_empty() {
                return Ok(());
            }
            // An incomplete character at the end waits for its other bytes; a byte that is
            // not UTF-8 at all (or that never got them) is written as \xNN.
            let bad = match std::str::from_utf8(after) {
                Err(e) if e.error_len().is_none() && !last => {
                    self.pending.extend_from_slice(after);
                    return Ok(());
                }
                Err(e) => e.error_len().unwrap_or(after.len()),
                Ok(_) => 0,
            };
            for b in &after[..bad] {
                write!(self.inner, "\\x{b:02x}")?;
            }
            rest = &after[bad..];
        }
    }
}

impl<W: Write> Write for Guarded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            self.write_text(buf, false)?;
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(buf);
            self.write_text(&joined, false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // What is still held back will not be completed: guard it as it is.
        let stray = std::mem::take(&mut self.pending);
        self.write_text(&stray, true)?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockscope_core::text::{Colour, paint};

    fn through(chunks: &[&[u8]]) -> String {
        let mut g = Guarded::new(Vec::new());
        for c in chunks {
            g.write_all(c).unwrap();
        }
        g.flush().unwrap();
        String::from_utf8(g.inner).unwrap()
    }

    #[test]
    fn control_sequences_are_stopped_even_when_a_renderer_forgets() {
        assert_eq!(through(&[b"name \x1b]0;pwned\x07 end\n"]), "name \\u001b]0;pwned\\u0007 end\n");
        // A colour sequence in the data is text: only sockscope's own markers colour.
        assert_eq!(through(&[b"\x1b[1;31mcrit\x1b[0m\n"]), "\\u001b[1;31mcrit\\u001b[0m\n");
        assert_eq!(through(&[b"a\x1b[8mhidden\n"]), "a\\u001b[8mhidden\n");
    }

    #[test]
    fn a_colour_marker_split_between_writes_stays_a_colour() {
        let painted = paint(Colour::BoldRed, "crit");
        let b = painted.as_bytes();
        assert_eq!(through(&[b"ok ", &b[..1], &b[1..5], &b[5..], b"\n"]), "ok \x1b[1;31mcrit\x1b[0m\n");
    }

    #[test]
    fn characters_split_between_writes_are_joined() {
        let rlo = "\u{202e}".as_bytes();
        assert_eq!(through(&[b"a", &rlo[..1], &rlo[1..], b"b"]), "a\\u202eb");
        let e = "é".as_bytes();
        assert_eq!(through(&[&e[..1], &e[1..]]), "é");
        assert_eq!(through(&[b"x\xff", b"y", &e[..1]]), "x\\xffy\\xc3");
    }
}
