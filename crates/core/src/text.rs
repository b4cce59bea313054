//! Text that came from the system or the user — process names, socket paths, interface,
//! host, service and user names, filter tokens — is untrusted: any local user controls some
//! of it, and sockscope runs as root. This module is the one home for turning it into
//! something safe to show.
//!
//! - [`lossless_text`] reads raw bytes (which need not be UTF-8) into a `String` without
//!   losing any: each byte that is not UTF-8 becomes one character of a private-use block
//!   (U+10FF00 + byte), so the original bytes can be given back ([`raw_bytes`]).
//! - [`escape`] makes text fit for a terminal: control characters (C0, DEL, C1), the bidi
//!   controls that reorder what a reader sees (U+202E and friends), and the backslash are
//!   written as visible escapes; bytes that were not UTF-8 as `\xNN`. Because a real
//!   backslash becomes `\\`, a name holding the byte 0xFF and one literally named `\xff`
//!   read differently.
//! - [`Untrusted`] wraps text so that `{}` escapes it: renderers format names through it.
//! - [`guard`] is the last line of defence that the binary's stdout and stderr writers run
//!   over everything they write, so that a name some renderer forgot to escape still cannot
//!   reach the terminal raw.

use serde::ser::{SerializeStruct, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The private-use block that holds bytes which were not UTF-8: U+10FF00 + byte.
const RAW_BYTE_BASE: u32 = 0x10_FF00;

/// UTF-8 text with every byte that is not valid UTF-8 kept as a private-use character, so
/// no information is lost (unlike `from_utf8_lossy`).
pub fn lossless_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(raw_byte_char(b));
        }
    }
    out
}

fn raw_byte_char(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn as_raw_byte(c: char) -> Option<u8> {
    u32::from(c).checked_sub(RAW_BYTE_BASE).and_then(|b| u8::try_from(b).ok())
}

/// Whether `text` holds a byte that was not UTF-8. Every such character is encoded as
/// F4 8F BC..BF xx, so text without the byte 0xF4 (nearly all text) is rejected at memory
/// speed: JSON output asks this of every name.
fn holds_raw_bytes(text: &str) -> bool {
    text.as_bytes().contains(&0xF4) && text.chars().any(|c| as_raw_byte(c).is_some())
}

/// The original bytes of text from [`lossless_text`], when they were not valid UTF-8
/// (`None` when the text is exactly what the system gave).
pub fn raw_bytes(text: &str) -> Option<Vec<u8>> {
    if !holds_raw_bytes(text) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match as_raw_byte(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Some(out)
}

/// The bytes of text from [`lossless_text`] as an OS string (a path or a name to open):
/// exactly the bytes the system or the command line gave.
pub fn os_string(text: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(raw_bytes(text).unwrap_or_else(|| text.as_bytes().to_vec()))
}

/// An argument as text, any bytes kept ([`lossless_text`]): a namespace's name on the
/// command line may be any bytes its creator chose.
pub fn lossless_arg(arg: std::ffi::OsString) -> String {
    lossless_text(arg.as_encoded_bytes())
}

/// The text with bytes that were not UTF-8 shown as U+FFFD, for JSON strings (the exact
/// bytes go in a `*_bytes` field beside them).
pub fn lossy(text: &str) -> Cow<'_, str> {
    if !holds_raw_bytes(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if as_raw_byte(c).is_some() { char::REPLACEMENT_CHARACTER } else { c }).collect())
}

/// Replaces control characters (C0, DEL, C1), bidi controls and backslashes with visible
/// escapes (`\n`, `\x1b`, `\u{202e}`, `\\`), and bytes that were not UTF-8 with `\xNN`.
/// Text without any is returned as is, without allocating.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\\' => out.push_str("\\\\"),
        c if c.is_control() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => match as_raw_byte(c) {
            Some(b) => {
                let _ = write!(out, "\\x{b:02x}");
            }
            None if is_bidi_control(c) || is_marker_block(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            None => out.push(c),
        },
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\\' || is_bidi_control(c) || is_marker_block(c) || as_raw_byte(c).is_some()
}

/// Characters that change the order in which a terminal shows the text around them
/// (Unicode's bidi formatting characters): U+202E would show `exe.txt` for `txt.exe`.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Untrusted text: `{}` writes it escaped. Renderers wrap every name from the system in
/// it, so the plain way to print one is the safe way.
#[derive(Clone, Copy, Debug)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

/// A path as untrusted text (paths are bytes; bytes that are not UTF-8 show as `\xNN`).
pub fn path_text(path: &std::path::Path) -> String {
    lossless_text(path.as_os_str().as_encoded_bytes())
}

/// A POSIX shell word for `text`: as is when it holds only characters no shell treats
/// specially, else in single quotes (a `'` inside becomes `'\''`). Commands sockscope
/// suggests are built from these, so pasting one never runs a second command.
pub fn shell_quote(text: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("'{}'", text.replace('\'', "'\\''")))
}

/// sockscope's own colours. A renderer paints with [`paint`], which wraps text in
/// markers (private-use characters U+F8F0..U+F8FF), never in escape sequences; [`guard`]
/// turns the markers into the matching SGR sequences as the text leaves, and escapes every
/// real ESC. So only these colours reach a terminal: an `ESC [ 8 m` from a process name or
/// a capture (which would hide all that follows) is printed as text. Text from the system
/// cannot forge a marker either: [`escape`] writes them as `\u{f8f0}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    Bold,
    BoldRed,
    BoldYellow,
    BoldBlue,
    BoldGreen,
    Green,
    Cyan,
    Yellow,
    Dim,
}

/// The markers: U+F8F0 + the colour's index, and U+F8FF for the reset.
const MARKER_BASE: u32 = 0xF8F0;
const RESET_MARKER: char = '\u{F8FF}';

impl Colour {
    const ALL: [Colour; 9] = [
        Colour::Bold,
        Colour::BoldRed,
        Colour::BoldYellow,
        Colour::BoldBlue,
        Colour::BoldGreen,
        Colour::Green,
        Colour::Cyan,
        Colour::Yellow,
        Colour::Dim,
    ];

    /// The SGR parameters this colour is written with.
    pub fn sgr(self) -> &'static str {
        match self {
            Colour::Bold => "1",
            Colour::BoldRed => "1;31",
            Colour::BoldYellow => "1;33",
            Colour::BoldBlue => "1;34",
            Colour::BoldGreen => "1;32",
            Colour::Green => "32",
            Colour::Cyan => "36",
            Colour::Yellow => "33",
            Colour::Dim => "2",
        }
    }

    /// Its marker: U+F8F0 + its place in `ALL` (the declaration order).
    fn marker(self) -> char {
        char::from_u32(MARKER_BASE + self as u32).unwrap_or(RESET_MARKER)
    }
}

/// `text` in `colour`, then back to plain, as markers [`guard`] turns into SGR sequences.
pub fn paint(colour: Colour, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 6);
    push_painted(&mut out, colour, text);
    out
}

/// [`paint`], appended to `out`.
pub fn push_painted(out: &mut String, colour: Colour, text: &str) {
    out.push(colour.marker());
    out.push_str(text);
    out.push(RESET_MARKER);
}

/// The SGR sequence a marker stands for, if `c` is one.
fn marker_sgr(c: char) -> Option<&'static str> {
    if c == RESET_MARKER {
        return Some("0");
    }
    let index = u32::from(c).checked_sub(MARKER_BASE)?;
    Colour::ALL.get(index as usize).map(|c| c.sgr())
}

fn is_marker_block(c: char) -> bool {
    ('\u{F8F0}'..='\u{F8FF}').contains(&c)
}

/// The last line of defence before a terminal: anything in `text` that a terminal would
/// act on — control characters other than newline and tab (ESC among them), and bidi
/// controls — is written as `\uXXXX` (valid inside JSON strings too, so JSON output stays
/// JSON). Colour comes only from [`paint`]'s markers, turned here into SGR sequences; a
/// marker that is not one of [`Colour`]'s is escaped. Text without any is returned as is.
pub fn guard(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| SUSPECT[usize::from(b)]) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if let Some(sgr) = marker_sgr(c) {
            out.push_str("\x1b[");
            out.push_str(sgr);
            out.push('m');
        } else if (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) || is_marker_block(c) {
            use fmt::Write as _;
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Lead bytes of everything `guard` may change: C0 (but \n and \t), DEL, 0xC2 (C1 is
/// U+0080..U+009F), 0xD8 (U+061C), 0xE2 (U+200E..U+2069) and 0xEF (the markers,
/// U+F8F0..U+F8FF).
const SUSPECT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\n' as usize && b != b'\t' as usize;
        b += 1;
    }
    t[0x7f] = true;
    t[0xc2] = true;
    t[0xd8] = true;
    t[0xe2] = true;
    t[0xef] = true;
    t
};

/// Serializes text from [`lossless_text`] as a JSON string (U+FFFD for bytes that were not
/// UTF-8) — for `#[serde(serialize_with)]` on fields whose struct has no room for the
/// exact bytes.
pub fn serialize_lossy<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&lossy(text))
}

/// Writes `name` and, when the text was not UTF-8, `name_bytes` with the exact bytes.
pub fn serialize_field<S: SerializeStruct>(
    st: &mut S,
    name: &'static str,
    bytes_name: &'static str,
    text: &str,
) -> Result<(), S::Error> {
    st.serialize_field(name, &lossy(text))?;
    match raw_bytes(text) {
        Some(bytes) => st.serialize_field(bytes_name, &bytes),
        None => st.skip_field(bytes_name),
    }
}

/// The lines of a /proc or /sys text that are UTF-8, each with its newline; a line that is
/// not (a mount point or a process name holding the byte 0xFF) is dropped alone, never the
/// whole text with it.
pub fn readable_lines(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(all) => all.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            for line in bytes.split_inclusive(|b| *b == b'\n') {
                if let Ok(l) = std::str::from_utf8(line) {
                    out.push_str(l);
                }
            }
            out
        }
    }
}

/// A /proc or /sys text file's readable lines (`readable_lines`).
pub fn read_lines(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    // UTF-8 (nearly always): the bytes become the string without a copy.
    std::fs::read(path).map(|b| String::from_utf8(b).unwrap_or_else(|e| readable_lines(e.as_bytes())))
}

/// /proc/mounts and mountinfo write space, tab, newline and backslash in paths as \040,
/// \011, \012, \134: the path as it is.
pub fn unescape_octal(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(code) = b
                .get(i + 1..i + 4)
                .and_then(|o| std::str::from_utf8(o).ok())
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(code);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A refresh interval as the commands take it: seconds (`1`, `0.5`) or with a unit (`500ms`,
/// `2s`). `Err` says what is wrong: not a time, or outside 100 ms to an hour.
pub fn interval(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix("ms") {
        Some(n) => (n, 0.001),
        None => (t.strip_suffix('s').unwrap_or(t), 1.0),
    };
    let secs = number.trim().parse::<f64>().map_err(|_| format!("'{text}' is not a time (1, 0.5, 500ms, 2s)"))? * scale;
    if !secs.is_finite() || !(0.1..=3600.0).contains(&secs) {
        return Err(format!("{text} is out of range (100ms to 3600s)"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_is_dropped_alone() {
        let text = b"1 2 0:1 / / rw - ext4 /dev/a rw\n3 4 0:2 / /mnt/\xff rw - tmpfs t rw\n5 6 0:3 / /sys/fs/cgroup rw - cgroup2 c rw\n";
        let kept = readable_lines(text);
        assert_eq!(kept.lines().count(), 2);
        assert!(kept.contains("cgroup2") && !kept.contains("tmpfs"));
        assert_eq!(readable_lines(b"a\nb"), "a\nb");
    }
    use proptest::prelude::*;

    #[test]
    fn ansi_sequences_are_neutralised() {
        assert_eq!(escape("evil\x1b[31mred"), "evil\\x1b[31mred");
        assert_eq!(escape("a\nb\\c"), "a\\nb\\\\c");
        assert_eq!(escape("\u{9b}31m"), "\\x9b31m");
        assert!(matches!(escape("nginx"), Cow::Borrowed(_)));
    }

    /// Security issue 1: only C0/C1 were escaped, so U+202E reordered what root read.
    #[test]
    fn bidi_controls_are_escaped() {
        assert_eq!(escape("a\u{202e}txt.exe"), "a\\u{202e}txt.exe");
        for c in ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{2066}', '\u{2069}'] {
            assert!(!escape(&format!("x{c}y")).contains(c));
        }
    }

    /// Security issue 16: the byte 0xFF and the four characters `\xff` read the same.
    #[test]
    fn invalid_utf8_and_a_literal_backslash_x_read_differently() {
        let bytes = lossless_text(b"\xffA");
        let literal = lossless_text(b"\\xffA");
        assert_eq!(escape(&bytes), "\\xffA");
        assert_eq!(escape(&literal), "\\\\xffA");
        assert_eq!(raw_bytes(&bytes), Some(b"\xffA".to_vec()));
        assert_eq!(raw_bytes(&literal), None);
        assert_eq!(lossy(&bytes), "\u{fffd}A");
    }

    #[test]
    fn guard_keeps_colour_and_json_but_stops_everything_else() {
        assert_eq!(guard(&format!("{}\n", paint(Colour::BoldRed, "red"))), "\x1b[1;31mred\x1b[0m\n");
        // An SGR from data is text, whatever it does: ESC [ 8 m would hide what follows.
        assert_eq!(guard("\x1b[8mhidden\x1b[0m"), "\\u001b[8mhidden\\u001b[0m");
        assert_eq!(guard("\x1b[1;31mred"), "\\u001b[1;31mred");
        // A marker outside the palette is escaped; data cannot carry one past escape().
        assert_eq!(guard("a\u{f8fe}b"), "a\\uf8feb");
        assert_eq!(escape("a\u{f8f1}b\u{f8ff}"), "a\\u{f8f1}b\\u{f8ff}");
        assert_eq!(guard("x\x1b]0;pwned\x07y"), "x\\u001b]0;pwned\\u0007y");
        assert_eq!(guard("\u{9b}2J \u{202e}"), "\\u009b2J \\u202e");
        let json = serde_json::to_string("a\u{9b}b\u{202e}c").expect("json");
        let guarded = guard(&json);
        let back: String = serde_json::from_str(&guarded).expect("still JSON");
        assert_eq!(back, "a\u{9b}b\u{202e}c");
    }

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(shell_quote("/tmp/a.sock"), "/tmp/a.sock");
        assert_eq!(shell_quote("/tmp/a.sock; touch PWNED; b.sock"), "'/tmp/a.sock; touch PWNED; b.sock'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    fn is_terminal_safe(s: &str) -> bool {
        !s.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c))
    }

    proptest! {
        #[test]
        fn escaped_text_never_holds_a_control_character(s in ".*") {
            prop_assert!(!escape(&s).chars().any(|c| c.is_control() || is_bidi_control(c)));
        }

        #[test]
        fn guarded_text_is_terminal_safe_apart_from_our_colours(s in "(\\PC|\\p{Cc}|\u{202e}|\u{2066}|\u{f8f1}|\u{f8ff})*") {
            let g = guard(&s);
            // Every ESC left is one of the palette's sequences, and came from a marker.
            let ours: Vec<String> = Colour::ALL.iter().map(|c| c.sgr()).chain(["0"]).map(|p| format!("\x1b[{p}m")).collect();
            let mut rest: &str = &g;
            let mut without = String::new();
            while let Some(i) = rest.find('\x1b') {
                without.push_str(&rest[..i]);
                let len = ours.iter().find(|o| rest[i..].starts_with(o.as_str())).map_or(1, |o| o.len());
                prop_assert!(len > 1, "{:?}", g);
                rest = &rest[i + len..];
            }
            without.push_str(rest);
            prop_assert!(is_terminal_safe(&without), "{:?}", g);
            let markers = s.chars().filter(|c| marker_sgr(*c).is_some()).count();
            prop_assert_eq!(g.matches('\x1b').count(), markers);
        }

        #[test]
        fn lossless_text_gives_back_every_byte(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = lossless_text(&bytes);
            let back = raw_bytes(&text).unwrap_or_else(|| text.as_bytes().to_vec());
            prop_assert_eq!(back, bytes);
        }
    }
}
