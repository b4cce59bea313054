//! `sockscope serve --config FILE`: a TOML file for the sizes of the bounded families, ports
//! that always get their own series, the doctor's thresholds and which families are
//! exported. Anything wrong — a syntax error, an unknown key, a value of the wrong kind, a
//! threshold the doctor does not have — is one error naming the line, and the server does
//! not start.
//!
//! ```toml
//! min_interval = "2s"
//!
//! [limits]
//! max_listeners = 100
//! top_processes = 10
//! top_destinations = 10
//!
//! [ports]
//! interest = [5432, 6379]      # always their own series, never summed into "other"
//!
//! [thresholds]                 # the doctor's (sockscope doctor --list-thresholds)
//! close_wait_warn = 20
//!
//! [collectors]                 # every family is on unless turned off here
//! ephemeral = false
//! ```

use crate::metrics::Families;
use serde::Deserialize;
use sockscope_core::diagnose::Thresholds;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    min_interval: Option<toml::Spanned<String>>,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    ports: FilePorts,
    #[serde(default)]
    thresholds: BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>>,
    #[serde(default)]
    collectors: FileCollectors,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_listeners: Option<usize>,
    top_processes: Option<usize>,
    top_destinations: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilePorts {
    #[serde(default)]
    interest: Vec<u16>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileCollectors {
    sockets: Option<bool>,
    listeners: Option<bool>,
    kernel: Option<bool>,
    fds: Option<bool>,
    ephemeral: Option<bool>,
    findings: Option<bool>,
}

/// What a configuration file sets; what it leaves out stays as the flags (or defaults) say.
#[derive(Debug, Default)]
pub struct Config {
    pub min_interval: Option<Duration>,
    pub max_listeners: Option<usize>,
    pub top_processes: Option<usize>,
    pub top_destinations: Option<usize>,
    pub interest: Vec<u16>,
    pub thresholds: Thresholds,
    pub families: Families,
}

impl Config {
    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        let err = |offset: usize, message: String| ConfigError {
            path: path.to_string(),
            line: sockscope_core::diagnose::thresholds::line_of(text, offset),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err(offset, e.message().to_string())
        })?;
        let mut config = Config {
            max_listeners: file.limits.max_listeners,
            top_processes: file.limits.top_processes,
            top_destinations: file.limits.top_destinations,
            interest: file.ports.interest,
            ..Config::default()
        };
        if let Some(m) = &file.min_interval {
            let parsed = sockscope_core::text::interval(m.get_ref());
            config.min_interval = Some(parsed.map_err(|why| err(m.span().start, format!("min_interval: {why}")))?);
        }
        // The doctor's format, read by core's one reader of it.
        for (key, value) in &file.thresholds {
            sockscope_core::diagnose::thresholds::set_toml(&mut config.thresholds, key.get_ref(), value.get_ref())
                .map_err(|m| err(key.span().start, m))?;
        }
        let c = &file.collectors;
        let on = |v: Option<bool>| v.unwrap_or(true);
        config.families = Families {
            sockets: on(c.sockets),
            listeners: on(c.listeners),
            kernel: on(c.kernel),
            fds: on(c.fds),
            ephemeral: on(c.ephemeral),
            findings: on(c.findings),
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_file_is_read() {
        let text = "min_interval = \"2s\"\n[limits]\nmax_listeners = 100\n[ports]\ninterest = [5432]\n\
                    [thresholds]\nclose_wait_warn = 20\n[collectors]\nephemeral = false\n";
        let c = Config::parse("s.toml", text).unwrap();
        assert_eq!(c.min_interval, Some(Duration::from_secs(2)));
        assert_eq!(c.max_listeners, Some(100));
        assert_eq!(c.interest, vec![5432]);
        assert!(!c.families.ephemeral && c.families.findings);
        let mut want = Thresholds::default();
        want.set("close_wait_warn", "20").unwrap();
        assert_eq!(format!("{:?}", c.thresholds), format!("{want:?}"));
    }

    #[test]
    fn each_mistake_names_its_line() {
        for (text, line, words) in [
            ("[limits]\nmax_listener = 3\n", 2, "unknown field"),
            ("[limits]\nmax_listeners = \"many\"\n", 2, "invalid type"),
            ("min_interval = \"soon\"\n", 1, "is not a time"),
            ("\n\n[thresholds]\nno_such_rule = 3\n", 4, "doctor --list-thresholds"),
            ("[thresholds]\nclose_wait_warn = \"x\"\n", 2, "a number, not string"),
            ("[ports]\ninterest = [70000]\n", 2, ""),
            ("this is not toml\n", 1, ""),
        ] {
            let e = Config::parse("s.toml", text).expect_err(text);
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().starts_with(&format!("s.toml:{line}: ")) && e.to_string().contains(words), "{e}");
        }
    }
}
