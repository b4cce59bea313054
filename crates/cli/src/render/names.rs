//! How endpoints, states and owners read in the table: ss's notation.

use super::digits::{push_ipv4, push_u64};
use crate::escape::escape;
use sockscope_core::hosts::Host;
use sockscope_core::model::Owner;
use sockscope_core::names::{self, Commands, Interfaces, Proto, Protocols, SecurityContexts, Services, Users};
use sockscope_core::netns::Netns;
use sockscope_core::{Endpoint, Netid, Socket};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

/// A user name, escaped (user databases may be edited by tools that do not check names), or
/// the uid when no user has it.
pub fn user_text(users: &mut Users, uid: u32) -> String {
    users.name(uid).map_or_else(|| uid.to_string(), |n| escape(n).into_owned())
}

/// Interface names, each looked up in the namespace of the socket that has the index: with
/// `--netns`/`--all-netns`, another namespace's `%eth0` is its own eth0, not the host's. The
/// host says which names it knows: a capture's indexes are another host's, so it names none
/// (the index is shown; JSON's `interface_name` is null).
#[derive(Default)]
pub struct InterfaceNames {
    host: Option<Arc<dyn Host>>,
    own: Option<Option<Interfaces>>,
    own_inode: Option<u64>,
    /// The other namespaces read, to open their interfaces on first use.
    namespaces: Vec<Netns>,
    others: HashMap<u64, Option<Interfaces>>,
}

impl InterfaceNames {
    /// Names from `host`, for its sockets of `namespaces` too.
    pub fn read_in(&mut self, host: &Arc<dyn Host>, namespaces: &[Netns]) {
        self.own_inode = host.own_netns();
        self.namespaces = namespaces.to_vec();
        self.host = Some(Arc::clone(host));
    }

    /// The same host and namespaces, with empty caches, for another thread.
    fn fork(&self) -> InterfaceNames {
        InterfaceNames {
            host: self.host.clone(),
            own_inode: self.own_inode,
            namespaces: self.namespaces.clone(),
            ..InterfaceNames::default()
        }
    }

    /// The name of interface `index` in `socket`'s namespace; `None` when it has none by
    /// that index, or the namespace cannot be entered (the number is shown instead).
    pub fn name(&mut self, socket: &Socket, index: u32) -> Option<&str> {
        let host = self.host.as_ref()?;
        let theirs = socket.netns.map(|n| n.get()).filter(|n| Some(*n) != self.own_inode);
        let Some(ns) = theirs.and_then(|n| self.namespaces.iter().find(|ns| ns.inode == n)) else {
            return self.own.get_or_insert_with(|| host.interfaces(None)).as_mut()?.name(index);
        };
        self.others.entry(ns.inode).or_insert_with(|| host.interfaces(Some(ns))).as_mut()?.name(index)
    }
}

/// Turns numbers into names as the flags ask: services unless -n, hosts only with -r.
pub struct Namer {
    numeric: bool,
    services: Option<Services>,
    /// The ephemeral port range (ip_local_port_range), whose ports ss never names: a
    /// client's port 57000 is not `dircproxy`. None: every port is named.
    ephemeral: Option<(u16, u16)>,
    protocols: Option<Protocols>,
    resolve: bool,
    hosts: HashMap<IpAddr, String>,
    pub interfaces: InterfaceNames,
    users: Option<Users>,
    commands: Commands,
    pub contexts: SecurityContexts,
}

impl Namer {
    /// `services` names ports unless `numeric`.
    pub fn new(numeric: bool, resolve: bool, services: Services) -> Namer {
        Namer {
            numeric,
            services: (!numeric).then_some(services),
            ephemeral: None,
            protocols: None,
            resolve,
            hosts: HashMap::new(),
            interfaces: InterfaceNames::default(),
            users: None,
            commands: Commands::default(),
            contexts: SecurityContexts::default(),
        }
    }

    /// A namer with the same settings and empty caches, for another thread.
    pub fn fork(&self) -> Namer {
        Namer {
            numeric: self.numeric,
            services: self.services.clone(),
            ephemeral: self.ephemeral,
            protocols: self.protocols.clone(),
            resolve: self.resolve,
            hosts: HashMap::new(),
            interfaces: self.interfaces.fork(),
            users: None,
            commands: Commands::default(),
            contexts: SecurityContexts::default(),
        }
    }

    /// A user name for a uid (numeric when /etc/passwd does not list it).
    pub fn user(&mut self, uid: u32) -> Option<&str> {
        self.users.get_or_insert_with(Users::new).name(uid)
    }

    /// Writes the address part and the port part of an endpoint, ss-style: `127.0.0.1` and
    /// `http`, `[::1]` and `8080`, `*` for wildcards, `/run/x.sock` and an inode for Unix.
    /// `socket` supplies what the endpoint alone does not (v6only, bound interface).
    pub fn endpoint(&mut self, socket: &Socket, ep: &Endpoint, is_local: bool, addr: &mut String, port: &mut String) {
        match ep {
            Endpoint::Inet { address, port: p } => {
                self.host(*address, socket.v6only == Some(true), addr);
                if is_local && socket.interface != 0 {
                    addr.push('%');
                    match self.interfaces.name(socket, socket.interface) {
                        Some(n) => addr.push_str(&escape(n)),
                        None => {
                            let _ = write!(addr, "{}", socket.interface);
                        }
                    }
                }
                self.port(*p, socket.netid, port);
            }
            Endpoint::Unix { name, inode } => {
                // Like ss, the peer end shows only its inode; JSON also carries its name.
                match name {
                    Some(n) if is_local => addr.push_str(&escape(&n.path)),
                    _ => addr.push('*'),
                }
                push_u64(port, *inode);
            }
            Endpoint::Packet { protocol, interface } => {
                match names::ethertype(*protocol) {
                    Some(n) if !self.numeric || n == "*" => addr.push_str(n),
                    _ => {
                        let _ = write!(addr, "[{protocol}]");
                    }
                }
                match self.interfaces.name(socket, *interface) {
                    Some(n) if *interface != 0 => port.push_str(&escape(n)),
                    _ if *interface == 0 => port.push('*'),
                    _ => {
                        let _ = write!(port, "{interface}");
                    }
                }
            }
            Endpoint::Netlink { protocol, port_id, group } => {
                if !is_local && *port_id == 0 && *group == 0 {
                    addr.push('*');
                    return;
                }
                match names::netlink_protocol(*protocol) {
                    Some(n) if !self.numeric => addr.push_str(n),
                    _ => {
                        let _ = write!(addr, "{protocol}");
                    }
                }
                let signed = *port_id as i32;
                if self.numeric || signed < 0 {
                    // Auto-bound port ids are negative numbers, as ss prints them.
                    let _ = write!(port, "{signed}");
                } else if signed == 0 {
                    port.push_str("kernel");
                } else {
                    // A positive port id is normally the pid of the process that bound it.
                    match self.commands.name(*port_id) {
                        Some(comm) => {
                            let _ = write!(port, "{}/{port_id}", escape(comm));
                        }
                        None => {
                            let _ = write!(port, "{port_id}");
                        }
                    }
                }
            }
            Endpoint::None => addr.push('*'),
            _ => addr.push('?'),
        }
    }

    fn host(&mut self, ip: IpAddr, v6only: bool, out: &mut String) {
        if self.resolve && !ip.is_unspecified() {
            // An IPv4-mapped IPv6 address is its IPv4 address for the resolver, as in ss.
            let name = self
                .hosts
                .entry(ip)
                .or_insert_with(|| dns_lookup::lookup_addr(&ip.to_canonical()).unwrap_or_else(|_| bracketed(ip)));
            // A PTR record is whoever controls the address's reverse zone.
            out.push_str(&escape(name));
            return;
        }
        match ip {
            IpAddr::V4(v4) => push_ipv4(out, v4),
            // ss: an IPv6 wildcard that also accepts IPv4 is `*`; a v6-only one is `[::]`.
            IpAddr::V6(v6) if v6.is_unspecified() && !v6only => out.push('*'),
            IpAddr::V6(v6) => {
                let _ = write!(out, "[{v6}]");
            }
        }
    }

    /// Leaves the host's ephemeral ports unnamed, as ss does (it reads the same sysctl of the
    /// namespace it lists; a capture keeps its host's). Without the sysctl, ss's fallback.
    pub fn skip_ephemeral(&mut self, host: &dyn sockscope_core::hosts::Host) {
        self.ephemeral = Some(sockscope_core::host::port_range_of(host).unwrap_or((1024, 4999)));
    }

    fn port(&mut self, port: u16, netid: Netid, out: &mut String) {
        if port == 0 {
            out.push('*');
            return;
        }
        if netid == Netid::Raw && !self.numeric {
            // A raw socket's "port" is its IP protocol; ss names it from /etc/protocols.
            let protocols = self.protocols.get_or_insert_with(Protocols::load);
            match u8::try_from(port).ok().and_then(|p| protocols.name(p)) {
                Some(name) => out.push_str(&escape(name)),
                // A protocol /etc/protocols does not name, as ss writes it.
                None => {
                    let _ = write!(out, "ipproto-{port}");
                }
            }
            return;
        }
        let proto = match netid {
            Netid::Tcp => Some(Proto::Tcp),
            Netid::Udp => Some(Proto::Udp),
            _ => None,
        };
        let ephemeral = self.ephemeral.is_some_and(|(low, high)| (low..=high).contains(&port));
        if let (Some(services), Some(proto), false) = (&self.services, proto, ephemeral)
            && let Some(name) = services.name(port, proto)
        {
            out.push_str(&escape(name));
            return;
        }
        push_u64(out, port.into());
    }
}

fn bracketed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `users:(("nginx",pid=1234,fd=6),("nginx",pid=1235,fd=6))`, as ss -p prints owners.
/// `contexts`: with -Z, each owner's process context; with -z, the socket's too (as ss).
pub fn owners<'a>(
    owners: impl Iterator<Item = Owner<'a>>,
    contexts: Option<(&mut SecurityContexts, bool)>,
    out: &mut String,
) {
    let mut first = true;
    let mut contexts = contexts;
    for o in owners {
        out.push_str(if first { "users:((\"" } else { ",(\"" });
        first = false;
        out.push_str(&escape(&o.process.command));
        out.push_str("\",pid=");
        push_u64(out, o.process.pid.into());
        if let Some(tid) = o.process.tid {
            let _ = write!(out, ",tid={tid}");
        }
        if let Some((ctx, _)) = contexts.as_mut() {
            let _ = write!(out, ",proc_ctx={}", escape(ctx.process(o.process.pid)));
        }
        out.push_str(",fd=");
        push_u64(out, o.fd.into());
        if let Some((ctx, true)) = contexts.as_mut() {
            let _ = write!(out, ",sock_ctx={}", escape(&ctx.socket(o.process.pid, o.fd)));
        }
        out.push(')');
    }
    if !first {
        out.push(')');
    }
}
