//! The numbers the rules compare against; every one can be changed with `--set KEY=VALUE` or
//! a config file of `KEY = VALUE` lines. Each rule declares its own (`limits!`); `Thresholds`
//! (built by `rules!`) holds them all under one flat set of keys.

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

#[cfg(test)]
mod tests {
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
