//! Deciding a socket in user space. Three-valued: a condition the socket's data cannot
//! answer (`autobound`, or a mark the kernel did not report) is `Unknown`, and a socket is
//! dropped only when the filter is certainly false — the kernel's bytecode has already
//! decided those conditions.

use super::ast::{Cmp, Device, Expr, HostMatch, Pred, Side};
use super::glob;
use crate::model::{Endpoint, OwnerIndex, Socket};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    False,
    True,
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    fn and(self, other: impl FnOnce() -> Truth) -> Truth {
        match self {
            Truth::False => Truth::False,
            Truth::True => other(),
            Truth::Unknown => match other() {
                Truth::False => Truth::False,
                _ => Truth::Unknown,
            },
        }
    }

    fn or(self, other: impl FnOnce() -> Truth) -> Truth {
        match self {
            Truth::True => Truth::True,
            Truth::False => other(),
            Truth::Unknown => match other() {
                Truth::True => Truth::True,
                _ => Truth::Unknown,
            },
        }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// What evaluation may need beyond the socket: who holds it (for `--pid`/`--comm`), and the
/// ephemeral port range (for `autobound`).
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    pub owners: Option<&'a OwnerIndex>,
    /// net.ipv4.ip_local_port_range of the socket's namespace.
    pub local_port_range: Option<(u16, u16)>,
    /// The cookies of the sockets the kernel calls autobound (its own test, asked of it):
    /// the exact answer, where the port range is a guess.
    pub autobound: Option<&'a std::collections::HashSet<u64>>,
    /// The namespaces read, for `netns = NAME`.
    pub namespaces: &'a [crate::model::Netns],
}

impl Expr {
    pub fn eval(&self, s: &Socket, ctx: Context<'_>) -> Truth {
        match self {
            Expr::And(xs) => xs.iter().fold(Truth::True, |acc, x| acc.and(|| x.eval(s, ctx))),
            Expr::Or(xs) => xs.iter().fold(Truth::False, |acc, x| acc.or(|| x.eval(s, ctx))),
            Expr::Not(a) => a.eval(s, ctx).not(),
            Expr::Pred(p) => p.eval(s, ctx),
        }
    }

    /// Keep the socket unless the expression is certainly false for it.
    pub fn keeps(&self, s: &Socket, ctx: Context<'_>) -> bool {
        self.eval(s, ctx) != Truth::False
    }
}

impl Pred {
    pub fn eval(&self, s: &Socket, ctx: Context<'_>) -> Truth {
        let end = |side: Side| if side == Side::Src { &s.local } else { &s.peer };
        match self {
            Pred::Host { side, host } => Truth::from_bool(host_matches(host, end(*side))),
            Pred::Port { side, cmp, port } => Truth::from_bool(match end(*side) {
                Endpoint::Inet { port: p, .. } => match cmp {
                    Cmp::Lt => p < port,
                    Cmp::Le => p <= port,
                    Cmp::Gt => p > port,
                    Cmp::Ge => p >= port,
                },
                _ => false,
            }),
            Pred::Dev(Device::Index(i)) => Truth::from_bool(s.interface == *i),
            // Names are resolved to indexes before evaluation; one that is not matches nothing.
            Pred::Dev(Device::Name(_)) => Truth::False,
            // An index means something only in its own namespace.
            Pred::Dev(Device::PerNetns(_, at)) => {
                Truth::from_bool(s.netns.is_some_and(|n| at.iter().any(|(ns, i)| *ns == n.get() && *i == s.interface)))
            }
            Pred::Fwmark { mark, mask } => s.mark.map_or(Truth::Unknown, |m| Truth::from_bool(m & mask == *mark)),
            Pred::Cgroup { id: Some(id), .. } => {
                s.cgroup_id.map_or(Truth::Unknown, |c| Truth::from_bool(c.get() == *id))
            }
            Pred::Cgroup { id: None, .. } => Truth::Unknown,
            // ss's rule, in the kernel and again in user space: the kernel's flag (no
            // explicit bind to a port, which accepted sockets also have) and a local port in
            // the ephemeral range. The flag is asked of the kernel when it can be.
            Pred::Autobound => {
                let in_range = match (ctx.local_port_range, s.local.port()) {
                    (Some((lo, hi)), Some(p)) => Truth::from_bool(lo <= p && p <= hi),
                    (Some(_), None) => Truth::False,
                    (None, _) => Truth::Unknown,
                };
                match (ctx.autobound, s.cookie) {
                    (Some(set), Some(cookie)) => in_range.and(|| Truth::from_bool(set.contains(&cookie.get()))),
                    _ => in_range,
                }
            }
            Pred::State(set) => Truth::from_bool(set.contains(s.state)),
            Pred::Pid(pid) => match ctx.owners {
                Some(idx) => Truth::from_bool(idx.owners(s.inode).any(|o| o.process.pid == *pid)),
                None => Truth::Unknown,
            },
            Pred::Comm(comm) => match ctx.owners {
                Some(idx) => Truth::from_bool(idx.owners(s.inode).any(|o| &*o.process.command == comm)),
                None => Truth::Unknown,
            },
            Pred::Netns(word) => {
                let ns = s.netns.and_then(|n| ctx.namespaces.iter().find(|ns| ns.inode == n.get()));
                Truth::from_bool(ns.is_some_and(|ns| ns.matches(word)))
            }
            Pred::Container(prefix) => Truth::from_bool(s.container.as_ref().is_some_and(|c| c.matches(prefix))),
        }
    }
}

/// The kernel's S_COND/D_COND semantics (net/ipv4/inet_diag.c), so both paths agree: the
/// port must match when given; then the family (an IPv4 condition also matches IPv4-mapped
/// IPv6 addresses), and only then the prefix — so `src [::]/0` is every IPv6 socket, not
/// every socket. A condition with no address (`*`, `:80`) matches every family.
fn host_matches(host: &HostMatch, ep: &Endpoint) -> bool {
    match (host, ep) {
        (HostMatch::Inet { net, port }, Endpoint::Inet { address, port: p }) => {
            if port.is_some_and(|want| want != *p) {
                return false;
            }
            match net {
                None => true,
                Some((want, len)) => prefix_match(*want, *len, *address),
            }
        }
        (HostMatch::Unix(pattern), Endpoint::Unix { name, .. }) => {
            glob::matches(pattern, name.as_ref().map_or("", |n| &n.path))
        }
        _ => false,
    }
}

fn prefix_match(want: IpAddr, len: u8, have: IpAddr) -> bool {
    match (want, have) {
        (IpAddr::V4(w), IpAddr::V4(h)) => bits_match(&w.octets(), &h.octets(), len),
        (IpAddr::V6(w), IpAddr::V6(h)) => bits_match(&w.octets(), &h.octets(), len),
        (IpAddr::V4(w), IpAddr::V6(h)) => {
            h.to_ipv4_mapped().is_some_and(|h4| bits_match(&w.octets(), &h4.octets(), len))
        }
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

pub(crate) fn bits_match(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    let full = len / 8;
    if a.len() < full || b.len() < full || a[..full] != b[..full] {
        return false;
    }
    let rest = len % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}
