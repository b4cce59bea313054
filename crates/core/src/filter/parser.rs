//! Tokens → `Filter`. Grammar, loosest binding first:
//!
//! ```text
//! filter := ('state' STATE | 'exclude' STATE)* expr?
//! expr   := and (('or' | '||' | '|') and)*
//! and    := unary (('and' | '&&' | '&')? unary)*      -- adjacency means and
//! unary  := ('not' | '!') unary | '(' expr ')' | atom
//! atom   := ('src' | 'dst') HOST
//!         | ('sport' | 'dport') [OP] PORTSPEC
//!         | 'dev' [OP] NAME | 'fwmark' [OP] MARK[/MASK] | 'cgroup' [OP] PATH
//!         | 'autobound' | 'state' STATE
//! ```

use super::FilterError;
use super::ast::{Cmp, Device, Expr, HostMatch, MAX_DEPTH, Pred, Side};
use super::lexer::{Tok, Token, lex};
use crate::model::{SockState, StateSet};
use crate::names::{Proto, Services};
use std::net::IpAddr;

/// A parsed filter: the states named by leading `state`/`exclude` clauses, and the expression.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// `None` when no `state`/`exclude` clause was given (the flags decide).
    pub states: Option<StateSet>,
    pub expr: Option<Expr>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.states.is_none() && self.expr.is_none()
    }

    /// Adds a condition that must also hold (the friendly flags compile into this).
    pub fn and(&mut self, e: Expr) {
        self.expr = Some(match self.expr.take() {
            Some(x) => Expr::and(x, e),
            None => e,
        });
    }
}

/// Parses filter text. Port names are looked up in `services` (`:http`).
pub fn parse(text: &str, services: &Services) -> Result<Filter, FilterError> {
    let tokens = lex(text);
    let mut p = Parser { tokens, pos: 0, depth: 0, services };
    let mut filter = Filter::default();
    // Leading state clauses, as ss reads them: the first `state` replaces the default set,
    // later ones add to it; `exclude` removes.
    loop {
        match p.peek_word() {
            Some("state") => {
                p.pos += 1;
                let set = p.state_set()?;
                filter.states = Some(filter.states.map_or(set, |s| s | set));
            }
            Some("exclude" | "excl") => {
                p.pos += 1;
                let set = p.state_set()?;
                filter.states = Some(StateSet(filter.states.unwrap_or(StateSet::ALL).0 & !set.0));
            }
            _ => break,
        }
    }
    if p.pos < p.tokens.len() {
        let e = p.or()?;
        if let Some(t) = p.tokens.get(p.pos) {
            return Err(p.error_at(t, if t.tok == Tok::RParen { "unmatched ')'" } else { "unexpected token" }));
        }
        filter.expr = Some(e);
    }
    Ok(filter)
}

/// A state name or group, as ss accepts them (long and short forms, any case).
pub fn parse_state(word: &str) -> Option<StateSet> {
    let w = word.to_ascii_lowercase();
    let one = |s: SockState| Some(StateSet::of(&[s]));
    match w.as_str() {
        "all" => Some(StateSet::ALL),
        "connected" => Some(StateSet(StateSet::ALL.0 & !StateSet::of(&[SockState::Listen, SockState::Close]).0)),
        "synchronized" => Some(StateSet(
            StateSet::ALL.0 & !StateSet::of(&[SockState::Listen, SockState::Close, SockState::SynSent]).0,
        )),
        "bucket" => Some(StateSet::of(&[SockState::SynRecv, SockState::TimeWait])),
        "big" => Some(StateSet(StateSet::ALL.0 & !StateSet::of(&[SockState::SynRecv, SockState::TimeWait]).0)),
        "established" | "estab" => one(SockState::Established),
        "syn-sent" => one(SockState::SynSent),
        "syn-recv" | "syn-received" => one(SockState::SynRecv),
        "fin-wait-1" => one(SockState::FinWait1),
        "fin-wait-2" => one(SockState::FinWait2),
        "time-wait" => one(SockState::TimeWait),
        "closed" | "unconn" | "unconnected" | "close" => one(SockState::Close),
        "close-wait" => one(SockState::CloseWait),
        "last-ack" => one(SockState::LastAck),
        "listening" | "listen" => one(SockState::Listen),
        "closing" => one(SockState::Closing),
        "bound-inactive" => one(SockState::BoundInactive),
        _ => None,
    }
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    /// Parentheses and `not`s open around the current token.
    depth: usize,
    services: &'a Services,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn error_at(&self, t: &Token, message: &str) -> FilterError {
        FilterError { column: t.column, token: t.text.clone(), message: message.to_string() }
    }

    /// An error about the current token (or the end of the filter).
    fn error(&self, message: impl Into<String>) -> FilterError {
        match self.tokens.get(self.pos) {
            Some(t) => FilterError { column: t.column, token: t.text.clone(), message: message.into() },
            None => FilterError { column: 0, token: String::new(), message: message.into() },
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::or(left, right);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        loop {
            match self.peek() {
                Some(Tok::And) => self.pos += 1,
                // Adjacency: another operand follows directly.
                Some(Tok::Word(_) | Tok::Not | Tok::LParen) => {}
                _ => break,
            }
            let right = self.unary()?;
            left = Expr::and(left, right);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if matches!(self.peek(), Some(Tok::Not | Tok::LParen)) {
            if self.depth >= MAX_DEPTH {
                return Err(self.error(format!("parentheses and 'not' nest deeper than {MAX_DEPTH} levels")));
            }
            self.depth += 1;
            let e = self.nested();
            self.depth -= 1;
            return e;
        }
        match self.peek() {
            Some(Tok::Word(_)) => self.atom(),
            Some(Tok::RParen) => Err(self.error("unmatched ')'")),
            Some(Tok::And | Tok::Or) => Err(self.error("missing condition before this operator")),
            Some(Tok::Op(_)) => Err(self.error("comparison without a keyword (sport, dport, dev, fwmark, cgroup)")),
            _ => Err(self.error("missing condition")),
        }
    }

    /// `not X` or `( X )`.
    fn nested(&mut self) -> Result<Expr, FilterError> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::negate(self.unary()?))
            }
            _ => {
                let open = self.pos;
                self.pos += 1;
                if self.peek() == Some(&Tok::RParen) {
                    return Err(self.error("empty parentheses"));
                }
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    let t = self.tokens[open].clone();
                    return Err(match self.tokens.get(self.pos) {
                        Some(_) => self.error("expected ')' to close the '(' here"),
                        None => self.error_at(&t, "'(' is never closed"),
                    });
                }
                self.pos += 1;
                Ok(e)
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, FilterError> {
        let key_index = self.pos;
        let Some(Tok::Word(key)) = self.peek().cloned() else { return Err(self.error("expected a condition")) };
        self.pos += 1;
        let pred = match key.as_str() {
            "src" | "dst" => {
                let side = if key == "src" { Side::Src } else { Side::Dst };
                // ss accepts an optional '=' here too.
                if matches!(self.peek(), Some(Tok::Op("=" | "=="))) {
                    self.pos += 1;
                }
                let (w, _) = self.word("an address, address/prefix, :port or Unix path")?;
                Pred::Host { side, host: self.host(&w, false)? }
            }
            "sport" | "dport" => {
                let side = if key == "sport" { Side::Src } else { Side::Dst };
                let op = self.op();
                let (w, _) = self.word("a port (:80, :http, 10.0.0.1:80)")?;
                match op {
                    None | Some("=" | "==") => Pred::Host { side, host: self.host(&w, true)? },
                    Some("!=") => return Ok(Expr::negate(Expr::Pred(Pred::Host { side, host: self.host(&w, true)? }))),
                    Some(o) => {
                        let port = self.port_only(&w)?;
                        let cmp = match o {
                            "<" => Cmp::Lt,
                            "<=" => Cmp::Le,
                            ">" => Cmp::Gt,
                            _ => Cmp::Ge,
                        };
                        Pred::Port { side, cmp, port }
                    }
                }
            }
            "dev" => {
                let negate = self.eq_or_ne()?;
                let (w, _) = self.word("an interface name or index")?;
                let dev = w.parse::<u32>().map(Device::Index).unwrap_or(Device::Name(w));
                return Ok(negated(negate, Pred::Dev(dev)));
            }
            "fwmark" => {
                let negate = self.eq_or_ne()?;
                let (w, _) = self.word("a mark, MARK or MARK/MASK")?;
                let (m, mask) = w.split_once('/').map_or((w.as_str(), None), |(a, b)| (a, Some(b)));
                let mark = parse_u32(m).ok_or_else(|| self.prev_error("not a number (decimal or 0x hex)"))?;
                let mask = match mask {
                    Some(x) => parse_u32(x).ok_or_else(|| self.prev_error("mask is not a number"))?,
                    None => u32::MAX,
                };
                return Ok(negated(negate, Pred::Fwmark { mark: mark & mask, mask }));
            }
            "cgroup" => {
                let negate = self.eq_or_ne()?;
                let (w, _) = self.word("a cgroup path such as /system.slice/nginx.service")?;
                return Ok(negated(negate, Pred::Cgroup { path: w, id: None }));
            }
            "netns" => {
                let negate = self.eq_or_ne()?;
                let (w, _) = self.word("a namespace name, label or inode")?;
                return Ok(negated(negate, Pred::Netns(w)));
            }
            "container" => {
                let negate = self.eq_or_ne()?;
                let (w, _) = self.word("a container id prefix or a pod name")?;
                return Ok(negated(negate, Pred::Container(w)));
            }
            "autobound" => Pred::Autobound,
            "state" => Pred::State(self.state_set()?),
            "exclude" | "excl" => {
                let t = self.tokens[key_index].clone();
                return Err(self.error_at(&t, "'exclude' must come before the expression, with any 'state' clauses"));
            }
            _ => {
                let t = self.tokens[key_index].clone();
                return Err(self.error_at(
                    &t,
                    "unknown condition (expected src, dst, sport, dport, dev, fwmark, cgroup, netns, container, autobound, state, not, '(')",
                ));
            }
        };
        Ok(Expr::Pred(pred))
    }

    fn op(&mut self) -> Option<&'static str> {
        match self.peek() {
            Some(Tok::Op(o)) => {
                let o = *o;
                self.pos += 1;
                Some(o)
            }
            _ => None,
        }
    }

    /// `=`/`==` (or nothing) → false, `!=` → true; ordering operators are an error.
    fn eq_or_ne(&mut self) -> Result<bool, FilterError> {
        match self.op() {
            None | Some("=" | "==") => Ok(false),
            Some("!=") => Ok(true),
            Some(_) => {
                self.pos -= 1;
                Err(self.error("only = and != compare here"))
            }
        }
    }

    fn word(&mut self, what: &str) -> Result<(String, usize), FilterError> {
        match self.tokens.get(self.pos) {
            Some(Token { tok: Tok::Word(w), column, .. }) => {
                let out = (w.clone(), *column);
                self.pos += 1;
                Ok(out)
            }
            _ => Err(self.error(format!("expected {what}"))),
        }
    }

    fn prev_error(&self, message: &str) -> FilterError {
        let t = &self.tokens[self.pos - 1];
        self.error_at(t, message)
    }

    fn state_set(&mut self) -> Result<StateSet, FilterError> {
        let (w, _) = self.word("a state name (established, listening, time-wait, … or all, connected, bucket, big)")?;
        parse_state(&w).ok_or_else(|| {
            self.prev_error("unknown state (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, or all, connected, synchronized, bucket, big)")
        })
    }

    /// `:80`, `*:80`, `80` (after sport/dport), `:http`.
    fn port_only(&self, w: &str) -> Result<u16, FilterError> {
        let p = w.strip_prefix("*:").or_else(|| w.strip_prefix(':')).unwrap_or(w);
        self.port(p)
    }

    fn port(&self, p: &str) -> Result<u16, FilterError> {
        if let Ok(n) = p.parse::<u16>() {
            return Ok(n);
        }
        if p.parse::<u64>().is_ok() {
            return Err(self.prev_error("port out of range (0-65535)"));
        }
        self.services
            .name_to_port(p, Proto::Tcp)
            .or_else(|| self.services.name_to_port(p, Proto::Udp))
            .ok_or_else(|| self.prev_error("unknown port or service name"))
    }

    /// A host condition: `*`, `:80`, `*:80`, `1.2.3.4`, `1.2.3.0/24:80`, `[::1]:80`,
    /// `[2001:db8::]/32`, `::1`, a Unix path pattern (`/run/*.sock`, `@name`). After
    /// sport/dport a bare number is a port.
    fn host(&self, w: &str, port_context: bool) -> Result<HostMatch, FilterError> {
        if w.starts_with('/') || w.starts_with('@') {
            return Ok(HostMatch::Unix(w.to_string()));
        }
        if let Some(path) = w.strip_prefix("unix:") {
            return Ok(HostMatch::Unix(path.to_string()));
        }
        if w == "*" {
            return Ok(HostMatch::Inet { net: None, port: None });
        }
        if let Ok(ip) = w.parse::<IpAddr>() {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            return Ok(HostMatch::Inet { net: Some((ip, max)), port: None });
        }
        if port_context && w.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(HostMatch::Inet { net: None, port: Some(self.port(w)?) });
        }
        // `:80` is a port, but `::1/128` and `::/0` are IPv6 prefixes (ss takes them unbracketed).
        if let Some(p) = w.strip_prefix(':').filter(|_| !w.starts_with("::")).or_else(|| w.strip_prefix("*:")) {
            let port = if p == "*" { None } else { Some(self.port(p)?) };
            return Ok(HostMatch::Inet { net: None, port });
        }
        // [v6], [v6/len], [v6]/len, each with an optional :port
        let (addr_part, rest) = if let Some(inner) = w.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(|| self.prev_error("'[' without ']'"))?;
            (&inner[..close], &inner[close + 1..])
        } else if w.matches(':').count() >= 2 {
            // A bare IPv6 address or prefix (`::1/128`, `fe80::/10`), with a port only after
            // a prefix (`2001:db8::/32:443`).
            match w.split_once('/') {
                Some((_, after)) => match after.find(':') {
                    Some(i) => w.split_at(w.len() - after.len() + i),
                    None => (w, ""),
                },
                None => (w, ""),
            }
        } else {
            match w.split_once(':') {
                Some((a, p)) => (a, &w[a.len()..][..p.len() + 1]),
                None => (w, ""),
            }
        };
        let (addr_text, mut prefix) = match addr_part.split_once('/') {
            Some((a, len)) => (a, Some(len)),
            None => (addr_part, None),
        };
        let mut rest = rest;
        if let Some(r) = rest.strip_prefix('/') {
            let end = r.find(':').unwrap_or(r.len());
            prefix = Some(&r[..end]);
            rest = &r[end..];
        }
        let addr: IpAddr = addr_text.parse().map_err(|_| {
            self.prev_error(
                "not an IP address (host names are not resolved in filters; IPv6 goes in brackets: [::1]:80)",
            )
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match prefix {
            Some(l) => {
                l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| self.prev_error("bad prefix length"))?
            }
            None => max,
        };
        let port = match rest.strip_prefix(':') {
            Some("*") => None,
            Some(p) => Some(self.port(p)?),
            None if rest.is_empty() => None,
            None => return Err(self.prev_error("unexpected text after the address")),
        };
        Ok(HostMatch::Inet { net: Some((mask(addr, len), len)), port })
    }
}

fn negated(negate: bool, p: Pred) -> Expr {
    if negate { Expr::negate(Expr::Pred(p)) } else { Expr::Pred(p) }
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The address with host bits cleared, so `10.1.2.3/8` and `10.0.0.0/8` are one condition.
pub fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

#[cfg(test)]
mod tests;
