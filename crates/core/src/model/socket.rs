//! One socket as the kernel reports it, whatever reader produced it.

use super::{Details, Endpoint, SockState, TcpVitals, Timer};
use serde::Serialize;
use std::num::NonZeroU64;

/// Address family of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Family {
    Inet,
    Inet6,
    Unix,
    Packet,
    Netlink,
}

impl Family {
    pub const ALL: [Family; 5] = [Family::Inet, Family::Inet6, Family::Unix, Family::Packet, Family::Netlink];

    /// The name `ss -f` accepts and we print.
    pub fn name(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
            Family::Unix => "unix",
            Family::Packet => "link",
            Family::Netlink => "netlink",
        }
    }

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The socket table a socket belongs to: ss's "Netid" column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Netid {
    Tcp,
    Udp,
    Raw,
    UnixStream,
    UnixDgram,
    UnixSeqpacket,
    PacketRaw,
    PacketDgram,
    Netlink,
    /// Multipath TCP (IPPROTO_MPTCP): the connection a program holds; its TCP subflows are
    /// listed in the TCP table.
    Mptcp,
}

impl Netid {
    /// The inet table and family of a socket from the protocol name the kernel gives its fd
    /// (system.sockprotoname: TCP, TCPv6, UDP, UDPLITEv6, RAW…), for sockets no dump lists
    /// (of another namespace, or not bound); None for other protocols.
    pub fn of_protocol_name(name: &str) -> Option<(Netid, Family)> {
        let netid = if name.starts_with("MPTCP") {
            Netid::Mptcp
        } else if name.starts_with("TCP") {
            Netid::Tcp
        } else if name.starts_with("UDP") {
            Netid::Udp
        } else if name.starts_with("RAW") {
            Netid::Raw
        } else {
            return None;
        };
        Some((netid, if name.ends_with("v6") { Family::Inet6 } else { Family::Inet }))
    }

    pub const ALL: [Netid; 10] = [
        Netid::Tcp,
        Netid::Udp,
        Netid::Raw,
        Netid::UnixStream,
        Netid::UnixDgram,
        Netid::UnixSeqpacket,
        Netid::PacketRaw,
        Netid::PacketDgram,
        Netid::Netlink,
        Netid::Mptcp,
    ];

    /// The abbreviation ss prints in its Netid column.
    pub fn ss_name(self) -> &'static str {
        match self {
            Netid::Tcp => "tcp",
            Netid::Udp => "udp",
            Netid::Raw => "raw",
            Netid::UnixStream => "u_str",
            Netid::UnixDgram => "u_dgr",
            Netid::UnixSeqpacket => "u_seq",
            Netid::PacketRaw => "p_raw",
            Netid::PacketDgram => "p_dgr",
            Netid::Netlink => "nl",
            Netid::Mptcp => "mptcp",
        }
    }

    /// The families a table can hold.
    pub fn families(self) -> &'static [Family] {
        match self {
            Netid::Tcp | Netid::Udp | Netid::Raw | Netid::Mptcp => &[Family::Inet, Family::Inet6],
            Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket => &[Family::Unix],
            Netid::PacketRaw | Netid::PacketDgram => &[Family::Packet],
            Netid::Netlink => &[Family::Netlink],
        }
    }

    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// One socket. Fields a reader cannot know are `None` (the /proc reader, for example, has no
/// cookies and no listen backlog).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Socket {
    pub netid: Netid,
    pub family: Family,
    pub state: SockState,
    /// Bytes waiting to be read; for a listener, connections waiting in the accept queue.
    pub recv_q: u32,
    /// Bytes not yet acknowledged by the peer; for a listener, the accept-queue limit (backlog).
    /// `None` where the reader cannot know it (a listener read from /proc).
    pub send_q: Option<u32>,
    pub local: Endpoint,
    pub peer: Endpoint,
    /// The socket's inode: what `/proc/PID/fd/N -> socket:[INODE]` names. 0 for sockets no
    /// file refers to (TIME-WAIT, request sockets).
    pub inode: u64,
    pub uid: Option<u32>,
    /// The kernel's unique socket cookie (SO_COOKIE); sock_diag only. Never 0, which lets
    /// `Option` cost no space.
    pub cookie: Option<NonZeroU64>,
    /// Index of the interface the socket is bound to (SO_BINDTODEVICE / scope id), 0 for none.
    pub interface: u32,
    /// For IPv6 listeners and unconnected sockets: IPV6_V6ONLY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v6only: Option<bool>,
    /// shutdown() state: bit 0 = no more receives, bit 1 = no more sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<u8>,
    /// The pending timer (TCP), when the kernel reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timer: Option<Timer>,
    /// SO_MARK; the kernel reports it only to CAP_NET_ADMIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<u32>,
    /// cgroup v2 id (the inode of the cgroup directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_id: Option<NonZeroU64>,
    /// The network namespace's inode, when sockets of more than the caller's were asked
    /// for (`--netns`, `--all-netns`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<NonZeroU64>,
    /// The container that holds it (its owner's cgroup, else its own, else its namespace's),
    /// when namespaces were asked for. Written to JSON beside the socket, not by it.
    #[serde(skip)]
    pub container: Option<std::sync::Arc<crate::model::Container>>,
    /// Memory, tcp_info, congestion control, TOS — when asked for (-m, -i, --tos).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<Details>>,
    /// The few tcp_info numbers diagnosis and rates judge by, when tcp_info was asked for
    /// them only (`Extensions::vitals`): boxed apart from `details`, whose box is twice the
    /// size (48 MB at a million connections).
    #[serde(skip)]
    pub vitals: Option<Box<TcpVitals>>,
}

impl Socket {
    /// One of this socket's ends as ss writes it, numerically: an IPv6 wildcard that also
    /// accepts IPv4 (not v6only) is `*`, as in the table, so a dual-stack listener reads the
    /// same in every command.
    pub fn end_text(&self, ep: &Endpoint) -> String {
        match ep {
            Endpoint::Inet { address: std::net::IpAddr::V6(a), port }
                if a.is_unspecified() && self.v6only != Some(true) =>
            {
                if *port == 0 {
                    "*:*".to_string()
                } else {
                    format!("*:{port}")
                }
            }
            _ => ep.to_string(),
        }
    }

    /// A socket with only its identity set; readers fill the rest.
    pub fn new(netid: Netid, family: Family, state: SockState, local: Endpoint, peer: Endpoint) -> Socket {
        Socket {
            netid,
            family,
            state,
            recv_q: 0,
            send_q: Some(0),
            local,
            peer,
            inode: 0,
            uid: None,
            cookie: None,
            interface: 0,
            v6only: None,
            shutdown: None,
            timer: None,
            mark: None,
            cgroup_id: None,
            netns: None,
            container: None,
            details: None,
            vitals: None,
        }
    }
}

/// struct inet_diag_sockopt's flags, lowest bit first, as ss --inet-sockopt names them.
pub const INET_SOCKOPTS: [&str; 11] = [
    "recverr",
    "is_icsk",
    "freebind",
    "hdrincl",
    "mc_loop",
    "transparent",
    "mc_all",
    "nodefrag",
    "bind_addr_no_port",
    "recverr_rfc4884",
    "defer_connect",
];

impl Socket {
    /// The inet options the kernel reports set (INET_SOCKOPTS' names), when it reports them.
    pub fn inet_sockopts(&self) -> Option<impl Iterator<Item = &'static str>> {
        let bits = self.details.as_ref()?.extra.as_ref()?.inet_sockopt?;
        Some(INET_SOCKOPTS.iter().enumerate().filter(move |(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n))
    }

    /// The inet options' bits (`INET_SOCKOPTS`), when they were asked for and reported.
    pub fn inet_sockopt_bits(&self) -> Option<u16> {
        self.details.as_ref()?.extra.as_ref()?.inet_sockopt
    }

    /// Its vitals: from the whole tcp_info when that was kept, else those kept alone.
    pub fn vitals(&self) -> Option<TcpVitals> {
        self.details
            .as_ref()
            .and_then(|d| d.tcp_info.as_ref())
            .map(super::TcpInfo::vitals)
            .or(self.vitals.as_deref().copied())
    }

    /// Whether the kernel reported tcp_info for it (kept whole or as vitals).
    pub fn has_tcp_info(&self) -> bool {
        self.details.as_ref().is_some_and(|d| d.tcp_info.is_some()) || self.vitals.is_some()
    }

    /// Keeps only the vitals of its tcp_info (~48 bytes of the kernel's ~240), and drops its
    /// details when nothing else is left in them.
    pub fn keep_vitals_only(&mut self) {
        let Some(d) = &mut self.details else { return };
        self.vitals = d.tcp_info.take().map(|t| Box::new(t.vitals()));
        if **d == Details::default() {
            self.details = None;
        }
    }

    /// The details, created empty on first use.
    pub fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Default::default)
    }
}

#[cfg(test)]
mod size_tests {
    /// At 200k sockets each byte of `Socket` is 200 kB: its size is pinned, and
    /// docs/ARCHITECTURE.md says it. Growing it is a decision, made here and there: 144 to
    /// 152 for `vitals`, which took 48 bytes off each connection `doctor`, `watch` and
    /// `serve` hold (their details box, 112 bytes with the allocator's, became a 64-byte one).
    #[test]
    fn a_socket_is_152_bytes() {
        assert_eq!(std::mem::size_of::<super::Socket>(), 152);
    }
}
