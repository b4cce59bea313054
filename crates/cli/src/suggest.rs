//! Better guesses than clap's for a mistyped command line: a flag close to one that works
//! (clap may offer an ss flag sockscope refuses, `--tpc` → `--tipc`), and a subcommand for
//! a mistyped first word (`watc --once` → `watch`; clap takes the word for a filter).

use clap::CommandFactory;
use std::ffi::OsString;

/// Where ss's flags that sockscope refuses are listed in the help.
const REFUSED: &str = "Not supported (ss flags)";

/// The message for a clap error when a better guess exists: one line naming what is wrong
/// and what was meant.
pub fn better(e: &clap::Error, argv: &[OsString]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(wrong)) = e.get(ContextKind::InvalidArg) else { return None };
    let root = crate::args::Cli::command();
    let words: Vec<&str> = argv.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let first = words.iter().find(|w| !w.starts_with('-')).copied();
    let sub = first.and_then(|f| root.find_subcommand(f)).cloned();
    if sub.is_none()
        && let Some(first) = first
        && let Some(meant) = closest(first, root.get_subcommands().filter(|s| !s.is_hide_set()).map(|s| s.get_name()))
    {
        return Some(format!("unknown command '{first}': did you mean 'sockscope {meant}'?"));
    }
    let flag = wrong.split('=').next().unwrap_or(wrong).strip_prefix("--")?;
    if let Some(sub) = &sub
        && let Some(takers) = commands_taking(&root, flag)
    {
        return Some(format!("--{flag} does not apply to `sockscope {}`; it works with {takers}", sub.get_name()));
    }
    let command = sub.as_ref().unwrap_or(&root);
    let working = command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_help_heading() != Some(REFUSED))
        .filter_map(|a| a.get_long());
    let meant = closest(flag, working)?;
    let scope = sub.as_ref().map_or(String::new(), |s| format!(" {}", s.get_name()));
    Some(format!(
        "unexpected argument '{wrong}': did you mean '--{meant}'? (sockscope{scope} --help lists the options)"
    ))
}

/// The commands that take `--flag` (the socket table for the root), as a list for a
/// message; None when none does.
fn commands_taking(root: &clap::Command, flag: &str) -> Option<String> {
    let takes = |c: &clap::Command| c.get_arguments().any(|a| a.get_long() == Some(flag));
    let mut names: Vec<String> = Vec::new();
    if takes(root) {
        names.push("the socket table".into());
    }
    names.extend(root.get_subcommands().filter(|c| !c.is_hide_set() && takes(c)).map(|c| c.get_name().to_string()));
    match names.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [rest @ .., last] => Some(format!("{} and {last}", rest.join(", "))),
    }
}

/// The candidate nearest to `word`, if near enough to be what was meant (an edit or two).
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if word.len() <= 4 { 1 } else { 2 };
    candidates
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    fn message(args: &[&str]) -> Option<String> {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let e = crate::args::Cli::try_parse_from(&argv).unwrap_err();
        better(&e, &argv)
    }

    #[test]
    fn prefers_what_works() {
        assert!(message(&["sockscope", "--tpc"]).unwrap().contains("'--tcp'"));
        assert!(message(&["sockscope", "watc", "--once"]).unwrap().contains("'sockscope watch'"));
        assert!(message(&["sockscope", "events", "--durration", "1"]).unwrap().contains("'--duration'"));
        assert_eq!(message(&["sockscope", "--zzzzzzzz"]), None);
    }
}
