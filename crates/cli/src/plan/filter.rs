//! The filter a command line asks for: the expression (arguments or -F FILE), plus the
//! friendly flags --port, --pid, --comm and --state, which compile into the same filter.

use crate::args::ListArgs;
use crate::usage::usage;
use anyhow::Context;
use sockscope_core::filter::{self, Expr, Filter, HostMatch, Pred, Side};
use sockscope_core::model::StateSet;
use sockscope_core::names::{Proto, Services};
use std::path::Path;

pub fn build(args: &ListArgs, services: &Services) -> anyhow::Result<Filter> {
    let text = match &args.filter_file {
        Some(path) => {
            if !args.filter.is_empty() {
                return Err(usage(anyhow::anyhow!("give the filter either as arguments or with -F, not both")));
            }
            let text = read_filter_file(path)?;
            // Comments and line breaks are allowed in a filter file.
            text.lines().map(|l| l.split('#').next().unwrap_or("")).collect::<Vec<_>>().join(" ")
        }
        None => args.filter.join(" "),
    };
    let mut f = match filter::parse(&text, services) {
        Ok(f) => f,
        Err(e) => {
            return Err(usage(
                mistyped_command(&args.filter).map_or_else(|| anyhow::Error::new(e), anyhow::Error::msg),
            ));
        }
    };

    for s in &args.state {
        let set = filter::parser::parse_state(s)
            .with_context(|| {
                format!("--state: unknown state '{s}' (established, listening, time-wait, close-wait, … or all, connected, bucket, big)")
            })
            .map_err(usage)?;
        f.states = Some(f.states.map_or(set, |old| old | set));
    }
    if let Some(e) = any_of(args.port.iter().map(|p| port_expr(p, services)).collect::<anyhow::Result<Vec<_>>>()?) {
        f.and(e);
    }
    if let Some(e) = any_of(args.pid.iter().map(|p| Expr::Pred(Pred::Pid(*p))).collect()) {
        f.and(e);
    }
    if let Some(e) = any_of(args.comm.iter().map(|c| Expr::Pred(Pred::Comm(c.clone()))).collect()) {
        f.and(e);
    }
    Ok(f)
}

/// `sockscope doctr` is parsed as a filter, and fails as one: when the first word is close to
/// a command's name, say so instead of "unknown condition".
fn mistyped_command(words: &[String]) -> Option<String> {
    use clap::CommandFactory;
    let first = words.first()?;
    let cli = crate::args::Cli::command();
    let names: Vec<&str> = cli.get_subcommands().filter(|c| !c.is_hide_set()).map(|c| c.get_name()).collect();
    let (best, distance) = names.iter().map(|n| (*n, edit_distance(first, n))).min_by_key(|&(_, d)| d)?;
    // One edit in four letters is a typo; a different word is a filter's business.
    (distance > 0 && distance <= 1 + best.len() / 4).then(|| {
        format!(
            "unknown command '{}' — did you mean '{best}'? (sockscope --help lists the commands)",
            crate::escape::escape(first)
        )
    })
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `-F FILE`, or `-F -` for standard input (as ss reads it).
fn read_filter_file(path: &Path) -> anyhow::Result<String> {
    crate::input::read_text(path, "filter file", true)
}

/// `( sport = :N or dport = :N )`
fn port_expr(p: &str, services: &Services) -> anyhow::Result<Expr> {
    let port = p
        .trim_start_matches(':')
        .parse::<u16>()
        .ok()
        .or_else(|| services.name_to_port(p, Proto::Tcp))
        .or_else(|| services.name_to_port(p, Proto::Udp))
        .with_context(|| format!("--port: '{p}' is not a port number (0-65535) or a service name"))
        .map_err(usage)?;
    let side = |side| Expr::Pred(Pred::Host { side, host: HostMatch::Inet { net: None, port: Some(port) } });
    Ok(Expr::or(side(Side::Src), side(Side::Dst)))
}

fn any_of(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(Expr::or)
}

/// The states to collect: the filter's state clauses when given, else the flags'.
pub fn states(f: &Filter, flags: StateSet) -> StateSet {
    f.states.unwrap_or(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: `sockscope doctr` said "unknown condition".
    #[test]
    fn a_mistyped_command_is_named_as_one() {
        let words = |w: &str| vec![w.to_string()];
        for typo in ["doctr", "fdss", "docter", "wh", "labb"] {
            assert!(mistyped_command(&words(typo)).is_some_and(|m| m.contains("did you mean")), "{typo}");
        }
        assert!(mistyped_command(&words("doctr")).is_some_and(|m| m.contains("'doctor'")));
        for filter_word in ["dport", "src", "state", "established", "sport", "not", "doctor"] {
            assert_eq!(mistyped_command(&words(filter_word)), None, "{filter_word}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
