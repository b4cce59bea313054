//! The parsed filter.

use crate::model::StateSet;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Pred(Pred),
}

impl Expr {
    pub fn and(a: Expr, b: Expr) -> Expr {
        Expr::And(Box::new(a), Box::new(b))
    }

    pub fn or(a: Expr, b: Expr) -> Expr {
        Expr::Or(Box::new(a), Box::new(b))
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
                Expr::Or(a, b) | Expr::And(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
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
}
