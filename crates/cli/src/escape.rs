//! Text from the system (process names, socket paths) is escaped before it reaches a
//! terminal: a process named "\x1b]0;pwned\x07" must not retitle the user's window.

use std::borrow::Cow;

/// Replaces control characters (C0, DEL, C1) and backslashes with visible escapes (`\n`,
/// `\x1b`, `\\`); text without them is returned as is, without allocating.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\\'
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ansi_sequences_are_neutralised() {
        assert_eq!(escape("evil\x1b[31mred"), "evil\\x1b[31mred");
        assert_eq!(escape("a\nb\\c"), "a\\nb\\\\c");
        assert_eq!(escape("\u{9b}31m"), "\\x9b31m");
        assert!(matches!(escape("nginx"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn output_never_holds_a_control_character(s in ".*") {
            prop_assert!(!escape(&s).chars().any(|c| c.is_control()));
        }
    }
}
