//! ss's filter language: `state S`, `exclude S`, `src|dst HOST[/prefix][:port]`,
//! `sport|dport OP PORT`, `dev`, `fwmark`, `cgroup`, `autobound`, `not`, `and`, `or` and
//! parentheses — with `and` binding tighter than `or`, as ss's manual says (ss itself
//! evaluates left to right; docs/filter.md shows the difference).
//!
//! `lexer` splits the text keeping positions, `parser` builds an `Expr`, `eval` decides a
//! socket in user space, `bytecode` compiles to inet_diag bytecode so the kernel drops
//! non-matching sockets before they are sent. Every socket the kernel passes is checked
//! again in user space, so both paths give the same answer.

pub mod ast;
pub mod bytecode;
pub mod eval;
pub mod glob;
pub mod lexer;
pub mod parser;
pub mod resolve;

pub use ast::{Cmp, Expr, HostMatch, Pred, Side};
pub use parser::{Filter, parse};
pub use resolve::{resolve, resolve_per_netns};

/// A filter that cannot be parsed or resolved: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter: {message} {}", location(*.column, token))]
pub struct FilterError {
    /// 1-based column of the offending token in the filter text (0: at its end).
    pub column: usize,
    pub token: String,
    pub message: String,
}

fn location(column: usize, token: &str) -> String {
    // The token is the user's text (or an -F file's): escaped like any untrusted text.
    let token = crate::text::Untrusted(token);
    match (column, token.0.is_empty()) {
        (0, true) => "at the end of the filter".to_string(),
        (0, false) => format!("('{token}')"),
        _ => format!("at column {column} ('{token}')"),
    }
}
