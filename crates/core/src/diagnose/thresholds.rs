//! The numbers the rules compare against; every one can be changed with `--set KEY=VALUE` or
//! a TOML file (`read_toml`): `KEY = NUMBER` lines at the top, or under `[thresholds]` (the
//! doctor's `KEY = VALUE` files are TOML already). `doctor`, `watch` and `serve` read it
//! here. Each rule declares its own (`limits!`); `Thresholds` (built by `rules!`) holds them
//! all under one flat set of keys.

use crate::text::Untrusted;

/// A `--set KEY=VALUE` (or config line) that cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("threshold {}: '{}' is not a number of 0 or more", Untrusted(key), Untrusted(value))]
    NotANumber { key: String, value: String },
    #[error("unknown threshold '{}' (see sockscope doctor --list-thresholds)", Untrusted(.0))]
    Unknown(String),
}

/// A rule's thresholds, declared in the rule's module: `limits! { /// doc
/// name: u64 = default, … }` makes its `Limits` struct (`Default` from the defaults,
/// `Serialize`, `KEYS`, `describe`, `set`). `rules!` gathers every rule's `Limits` into
/// `Thresholds`, so a key is written once, beside the rule that reads it.
macro_rules! limits {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty = $default:expr ),* $(,)?) => {
        /// This rule's thresholds (`--set KEY=VALUE`).
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub struct Limits {
            $( $(#[$doc])* pub $name: $ty, )*
        }

        impl Default for Limits {
            fn default() -> Self {
                Limits { $( $name: $default, )* }
            }
        }

        impl Limits {
            /// The keys, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$( stringify!($name) ),*];

            /// Each key with its current value.
            pub fn describe(&self, out: &mut Vec<(&'static str, String)>) {
                $( out.push((stringify!($name), self.$name.to_string())); )*
                let _ = out;
            }

            /// Sets one threshold by name; `None` when the key is not this rule's.
            pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), $crate::diagnose::thresholds::ThresholdError>> {
                let _ = value;
                match key {
                    $( stringify!($name) => Some(
                        $crate::diagnose::thresholds::parse_value(value)
                            .map(|v| self.$name = v)
                            .ok_or_else(|| $crate::diagnose::thresholds::ThresholdError::NotANumber {
                                key: key.into(),
                                value: value.into(),
                            }),
                    ), )*
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use limits;

/// A threshold's value: a finite number, 0 or more (`NaN` would make every comparison
/// false, and so silence a rule).
pub(crate) trait Value: std::str::FromStr {
    fn valid(&self) -> bool;
}

impl Value for u64 {
    fn valid(&self) -> bool {
        true
    }
}

impl Value for f64 {
    fn valid(&self) -> bool {
        self.is_finite() && *self >= 0.0
    }
}

pub(crate) fn parse_value<T: Value>(text: &str) -> Option<T> {
    text.trim().parse::<T>().ok().filter(Value::valid)
}

/// A thresholds file that cannot be taken: the file, the line and why.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct FileError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// The line of byte `offset` in `text`, from 1.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// A threshold from a TOML value: a number (an integer or a float), else an error.
pub fn set_toml(t: &mut super::Thresholds, key: &str, value: &toml::Value) -> Result<(), String> {
    let text = match value {
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        other => return Err(format!("{}: a number, not {}", Untrusted(key), other.type_str())),
    };
    t.set(key, &text).map_err(|e| e.to_string())
}

/// `t` with the thresholds a TOML text sets: `KEY = NUMBER` at the top level, or in a
/// `[thresholds]` table; anything else is an error naming its line. `path` names the file
/// in errors.
pub fn read_toml(t: &mut super::Thresholds, path: &str, text: &str) -> Result<(), FileError> {
    use toml::Spanned;
    type Table = std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>;
    let err =
        |offset: usize, message: String| FileError { path: path.to_string(), line: line_of(text, offset), message };
    let top: Table = toml::from_str(text).map_err(|e| err(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
    for (key, value) in &top {
        if key.get_ref() == "thresholds" {
            let toml::Value::Table(inner) = value.get_ref() else {
                return Err(err(key.span().start, "thresholds: a table of KEY = NUMBER".into()));
            };
            // Spans inside are lost by the untyped table: errors name the table's line.
            for (k, v) in inner {
                set_toml(t, k, v).map_err(|m| err(key.span().start, m))?;
            }
            continue;
        }
        set_toml(t, key.get_ref(), value.get_ref()).map_err(|m| err(key.span().start, m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_doctors_lines_and_serves_table_read_alike() {
        let mut a = crate::diagnose::Thresholds::default();
        super::read_toml(&mut a, "d.conf", "# tighter\nfd_warn = 0.5\nkeepalive_idle_secs = 60\n").unwrap();
        let mut b = crate::diagnose::Thresholds::default();
        super::read_toml(&mut b, "s.toml", "[thresholds]\nfd_warn = 0.5\nkeepalive_idle_secs = 60\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.fd_limit.fd_warn, 0.5);
        let e = super::read_toml(&mut a, "x.conf", "fd_warn = 1\nnope = 3\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().starts_with("x.conf:2: unknown threshold 'nope'"), "{e}");
        let e = super::read_toml(&mut a, "x.conf", "fd_warn = \"high\"\n").unwrap_err();
        assert!(e.to_string().contains("a number, not string"), "{e}");
        let e = super::read_toml(&mut a, "x.conf", "\nfd_warn = = 3\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    /// Security issue 20: `--set fd_warn=NaN` silenced the rule; `-1` made no sense.
    #[test]
    fn nan_infinite_and_negative_thresholds_are_refused() {
        let mut t = crate::diagnose::Thresholds::default();
        for bad in ["NaN", "nan", "inf", "-1", "-0.5", "", "x"] {
            assert!(t.set("fd_warn", bad).is_err(), "{bad:?} accepted");
        }
        assert!(t.set("time_wait_info", "-1").is_err());
        t.set("fd_warn", " 0.5 ").unwrap();
        assert_eq!(t.fd_limit.fd_warn, 0.5);
        let e = t.set("no\x1b]0;x\x07", "1").unwrap_err();
        assert!(!e.to_string().contains('\x1b'), "{e}");
    }
}
