//! The parsed filter.

use crate::model::StateSet;
use std::net::IpAddr;

/// `and` and `or` hold flat lists: a chain of 100,000 `or` terms is one node with 100,000
/// children, not a tree 100,000 deep, so evaluating, compiling and dropping it never recurse
/// deeper than the parentheses and `not`s the text has (which the parser bounds by
/// `MAX_DEPTH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Pred(Pred),
}

/// How deeply parentheses and `not` may nest: far beyond any filter a person writes, far
/// below what the recursive parser, evaluator and compiler can take on a thread's stack.
pub const MAX_DEPTH: usize = 256;

impl Expr {
    /// `a and b`, joining into `a`'s list when `a` is already an `and`.
    pub fn and(a: Expr, b: Expr) -> Expr {
        match a {
            Expr::And(mut xs) => {
                xs.push(b);
                Expr::And(xs)
            }
            a => Expr::And(vec![a, b]),
        }
    }

    /// `a or b`, joining into `a`'s list when `a` is already an `or`.
    pub fn or(a: Expr, b: Expr) -> Expr {
        match a {
            Expr::Or(mut xs) => {
                xs.push(b);
                Expr::Or(xs)
            }
            a => Expr::Or(vec![a, b]),
        }
    }

    pub fn negate(a: Expr) -> Expr {
        Expr::Not(Box::new(a))
    }

    /// Every predicate, depth first.
    pub fn preds(&self) -> Vec<&Pred> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Or(xs) | Expr::And(xs) => stack.extend(xs.iter().rev()),
                Expr::Not(a) => stack.push(a),
                Expr::Pred(p) => out.push(p),
            }
        }
        out
    }
}

/// Which end of the socket a condition looks at: `src`/`sport` the local end, `dst`/`dport`
/// the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Src,
    Dst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// An address (with prefix length; `None` for any address) and/or a port.
    Inet { net: Option<(IpAddr, u8)>, port: Option<u16> },
    /// A Unix socket name pattern (`/run/*.sock`, `@abstract*`).
    Unix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    Name(String),
    Index(u32),
    /// A name resolved in each namespace read (`--netns`, `--all-netns`): its index there,
    /// by namespace inode. A namespace without it has no socket on it.
    PerNetns(String, Vec<(u64, u32)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pred {
    /// `src H`, `dst H`, `sport = H`, `dport == H`.
    Host {
        side: Side,
        host: HostMatch,
    },
    /// `sport < :N`, `dport >= :N`, …
    Port {
        side: Side,
        cmp: Cmp,
        port: u16,
    },
    /// `dev = NAME|INDEX`: the interface the socket is bound to.
    Dev(Device),
    /// `fwmark = MARK[/MASK]`.
    Fwmark {
        mark: u32,
        mask: u32,
    },
    /// `cgroup = PATH` (cgroup v2, relative to /sys/fs/cgroup); the id once resolved.
    Cgroup {
        path: String,
        id: Option<u64>,
    },
    /// Sockets whose local port the kernel chose (no explicit bind to a port).
    Autobound,
    /// `state S` used inside an expression.
    State(StateSet),
    /// Friendly flags: a process holding the socket.
    Pid(u32),
    Comm(String),
    /// `netns = NAME`: the socket's network namespace, by name, label or inode.
    Netns(String),
    /// `container = ID-PREFIX`: the container holding the socket, by id prefix or pod name.
    Container(String),
}
