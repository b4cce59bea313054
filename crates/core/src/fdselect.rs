//! lsof's selection options for `sockscope fds`: `-i [46][proto][@host][:port]`, `-U`,
//! `-p PIDS` (`^` excludes), `-c NAME` (prefix; `^` excludes) and `-a`. Kinds of selection
//! are ORed, as lsof does, unless `-a` ANDs them; exclusions always apply.

use crate::fdview::{FdRow, ProcessFds};
use crate::model::{Endpoint, Family, FdKind, Netid};
use crate::names::{Proto, Services};
use crate::text::Untrusted;
use std::net::IpAddr;

/// A selection option that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("-i {}: '[' without ']'", Untrusted(spec))]
    UnclosedBracket { spec: String },
    #[error("-i {}: '{}' is not an IP address (host names are not resolved)", Untrusted(spec), Untrusted(host))]
    NotAnAddress { spec: String, host: String },
    #[error("-i {}: '{}' is not a port or service name", Untrusted(spec), Untrusted(port))]
    NotAPort { spec: String, port: String },
    #[error("-i {}: cannot read '{}' (expected [46][tcp|udp][@address][:port])", Untrusted(spec), Untrusted(rest))]
    Unreadable { spec: String, rest: String },
    #[error("-p: '{}' is not a pid", Untrusted(.0))]
    NotAPid(String),
}

/// One `-i` argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InetSpec {
    pub family: Option<Family>,
    pub proto: Option<Netid>,
    pub host: Option<IpAddr>,
    /// Ports as inclusive ranges (`:80`, `:1-1024`, `:http,https`).
    pub ports: Vec<(u16, u16)>,
}

impl InetSpec {
    /// `[46][tcp|udp][@host][:port[-port][,…]]`; the empty string is "any inet socket".
    pub fn parse(spec: &str, services: &Services) -> Result<InetSpec, SelectError> {
        let mut s = spec;
        let mut out = InetSpec::default();
        if let Some(r) = s.strip_prefix('4') {
            out.family = Some(Family::Inet);
            s = r;
        } else if let Some(r) = s.strip_prefix('6') {
            out.family = Some(Family::Inet6);
            s = r;
        }
        let lower = s.to_ascii_lowercase();
        for (name, netid) in [("tcp", Netid::Tcp), ("udp", Netid::Udp)] {
            if lower.starts_with(name) {
                out.proto = Some(netid);
                s = &s[name.len()..];
            }
        }
        if let Some(r) = s.strip_prefix('@') {
            let (host, rest) = if let Some(inner) = r.strip_prefix('[') {
                let close = inner.find(']').ok_or_else(|| SelectError::UnclosedBracket { spec: spec.into() })?;
                (&inner[..close], &inner[close + 1..])
            } else {
                match r.find(':') {
                    Some(i) => (&r[..i], &r[i..]),
                    None => (r, ""),
                }
            };
            out.host =
                Some(host.parse().map_err(|_| SelectError::NotAnAddress { spec: spec.into(), host: host.into() })?);
            s = rest;
        }
        if let Some(r) = s.strip_prefix(':') {
            for part in r.split(',') {
                let proto = if out.proto == Some(Netid::Udp) { Proto::Udp } else { Proto::Tcp };
                let port = |p: &str| -> Result<u16, SelectError> {
                    p.parse()
                        .ok()
                        .or_else(|| services.name_to_port(p, proto))
                        .ok_or_else(|| SelectError::NotAPort { spec: spec.into(), port: p.into() })
                };
                out.ports.push(match part.split_once('-') {
                    Some((a, b)) => (port(a)?, port(b)?),
                    None => {
                        let p = port(part)?;
                        (p, p)
                    }
                });
            }
            s = "";
        }
        if !s.is_empty() {
            return Err(SelectError::Unreadable { spec: spec.into(), rest: s.into() });
        }
        Ok(out)
    }

    fn matches(&self, row: &FdRow) -> bool {
        /// lsof -i counts an MPTCP socket as TCP (its type is SOCK_STREAM over IP).
        fn as_lsof_sees(n: Netid) -> Netid {
            if n == Netid::Mptcp { Netid::Tcp } else { n }
        }
        if row.entry.kind != FdKind::Socket {
            return false;
        }
        let Some(s) = &row.socket else {
            // A socket of another namespace: only its protocol is known.
            let Some((netid, family)) = Netid::of_protocol_name(row.protocol().unwrap_or(""))
                .filter(|(n, _)| matches!(n, Netid::Tcp | Netid::Udp | Netid::Mptcp))
            else {
                return false;
            };
            let proto_ok = self.proto.is_none_or(|p| p == as_lsof_sees(netid));
            let family_ok = self.family.is_none_or(|f| (f == Family::Inet6) == (family == Family::Inet6));
            return proto_ok && family_ok && self.host.is_none() && self.ports.is_empty();
        };
        if !matches!(s.netid, Netid::Tcp | Netid::Udp | Netid::Mptcp)
            || self.proto.is_some_and(|p| p != as_lsof_sees(s.netid))
        {
            return false;
        }
        if self.family.is_some_and(|f| f != s.family) {
            return false;
        }
        let ends = [&s.local, &s.peer];
        if let Some(h) = self.host
            && !ends.iter().any(|e| matches!(e, Endpoint::Inet { address, .. } if *address == h))
        {
            return false;
        }
        self.ports.is_empty()
            || ends
                .iter()
                .any(|e| e.port().is_some_and(|p| p != 0 && self.ports.iter().any(|(lo, hi)| *lo <= p && p <= *hi)))
    }
}

#[derive(Clone, Debug, Default)]
pub struct FdSelect {
    /// `-i` given (with or without specs).
    pub inet: Option<Vec<InetSpec>>,
    pub unix: bool,
    pub pids: Vec<u32>,
    pub not_pids: Vec<u32>,
    pub commands: Vec<String>,
    pub not_commands: Vec<String>,
    pub and: bool,
}

impl FdSelect {
    /// `-p 1,2,^3`
    pub fn add_pids(&mut self, list: &str) -> Result<(), SelectError> {
        for p in list.split(',').filter(|p| !p.is_empty()) {
            let (neg, n) = p.strip_prefix('^').map_or((false, p), |n| (true, n));
            let pid: u32 = n.parse().map_err(|_| SelectError::NotAPid(p.into()))?;
            if neg { self.not_pids.push(pid) } else { self.pids.push(pid) }
        }
        Ok(())
    }

    /// `-c nginx` or `-c ^nginx`
    pub fn add_command(&mut self, c: &str) {
        match c.strip_prefix('^') {
            Some(n) => self.not_commands.push(n.to_string()),
            None => self.commands.push(c.to_string()),
        }
    }

    /// Whether a process can have any fd selected at all (used to skip reading it).
    pub fn excludes_process(&self, pid: u32, command: &str) -> bool {
        self.not_pids.contains(&pid) || self.not_commands.iter().any(|c| command.starts_with(c.as_str()))
    }

    pub fn matches(&self, p: &ProcessFds, row: &FdRow) -> bool {
        if self.excludes_process(p.pid, &p.command) {
            return false;
        }
        let mut groups: Vec<bool> = Vec::new();
        if let Some(specs) = &self.inet {
            groups.push(if specs.is_empty() {
                InetSpec::default().matches(row)
            } else {
                specs.iter().any(|s| s.matches(row))
            });
        }
        if self.unix {
            groups
                .push(row.socket.as_ref().is_some_and(|s| s.family == Family::Unix) || row.protocol() == Some("UNIX"));
        }
        if !self.pids.is_empty() {
            groups.push(self.pids.contains(&p.pid));
        }
        if !self.commands.is_empty() {
            groups.push(self.commands.iter().any(|c| p.command.starts_with(c.as_str())));
        }
        if groups.is_empty() {
            return true;
        }
        if self.and { groups.iter().all(|g| *g) } else { groups.iter().any(|g| *g) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> Services {
        Services::parse("http 80/tcp\nhttps 443/tcp\ndomain 53/udp\n")
    }

    #[test]
    fn inet_specs() {
        let p = |s: &str| InetSpec::parse(s, &svc()).expect(s);
        assert_eq!(p(""), InetSpec::default());
        assert_eq!(p("4").family, Some(Family::Inet));
        assert_eq!(p("6tcp").proto, Some(Netid::Tcp));
        assert_eq!(p("TCP:80").ports, vec![(80, 80)]);
        assert_eq!(p(":http,https").ports, vec![(80, 80), (443, 443)]);
        assert_eq!(p("udp:domain").ports, vec![(53, 53)]);
        assert_eq!(p(":1-1024").ports, vec![(1, 1024)]);
        assert_eq!(p("@127.0.0.1:22").host, Some("127.0.0.1".parse().expect("ip")));
        assert_eq!(p("6@[::1]:22").host, Some("::1".parse().expect("ip")));
        for bad in ["@example.com", ":nosuch", "sctp", "@[::1", ":99999"] {
            assert!(InetSpec::parse(bad, &svc()).is_err(), "{bad}");
        }
    }

    #[test]
    fn pid_lists() {
        let mut s = FdSelect::default();
        s.add_pids("1,2,^3").expect("valid");
        assert_eq!((s.pids.clone(), s.not_pids.clone()), (vec![1, 2], vec![3]));
        assert!(s.add_pids("x").is_err());
    }
}
