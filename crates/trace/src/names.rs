//! strace's names for constants (its xlat tables): address families, socket option levels
//! and option names, packet and hardware types. An unknown value is written as strace
//! writes it: the number in hex with a comment naming the table (`0x3039 /* SO_??? */`).

/// `AF_*` by number (linux/socket.h), as strace spells them.
#[rustfmt::skip]
const FAMILIES: [&str; 46] = [
    "AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE",
    "AF_ATMPVC", "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI", "AF_SECURITY", "AF_KEY",
    "AF_NETLINK", "AF_PACKET", "AF_ASH", "AF_ECONET", "AF_ATMSVC", "AF_RDS", "AF_SNA", "AF_IRDA", "AF_PPPOX",
    "AF_WANPIPE", "AF_LLC", "AF_IB", "AF_MPLS", "AF_CAN", "AF_TIPC", "AF_BLUETOOTH", "AF_IUCV", "AF_RXRPC",
    "AF_ISDN", "AF_PHONET", "AF_IEEE802154", "AF_CAIF", "AF_ALG", "AF_NFC", "AF_VSOCK", "AF_KCM", "AF_QIPCRTR",
    "AF_SMC", "AF_XDP", "AF_MCTP",
];

/// A value of a table, or strace's words for one it does not know.
fn or_unknown(name: Option<&str>, value: u64, unknown: &str) -> String {
    match name {
        Some(n) => n.to_string(),
        None => format!("{value:#x} /* {unknown} */"),
    }
}

fn find(table: &[(u32, &'static str)], value: u32) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}

pub fn family(af: u64) -> String {
    let name = usize::try_from(af).ok().and_then(|i| FAMILIES.get(i).copied());
    or_unknown(name, af, "AF_???")
}

#[rustfmt::skip]
const LEVELS: [(u32, &str); 40] = [
    (0, "SOL_IP"), (1, "SOL_SOCKET"), (6, "SOL_TCP"), (17, "SOL_UDP"), (41, "SOL_IPV6"), (58, "SOL_ICMPV6"),
    (132, "SOL_SCTP"), (136, "SOL_UDPLITE"), (255, "SOL_RAW"), (256, "SOL_IPX"), (257, "SOL_AX25"),
    (258, "SOL_ATALK"), (259, "SOL_NETROM"), (260, "SOL_ROSE"), (261, "SOL_DECNET"), (262, "SOL_X25"),
    (263, "SOL_PACKET"), (264, "SOL_ATM"), (265, "SOL_AAL"), (266, "SOL_IRDA"), (267, "SOL_NETBEUI"),
    (268, "SOL_LLC"), (269, "SOL_DCCP"), (270, "SOL_NETLINK"), (271, "SOL_TIPC"), (272, "SOL_RXRPC"),
    (273, "SOL_PPPOL2TP"), (274, "SOL_BLUETOOTH"), (275, "SOL_PNPIPE"), (276, "SOL_RDS"), (277, "SOL_IUCV"),
    (278, "SOL_CAIF"), (279, "SOL_ALG"), (280, "SOL_NFC"), (281, "SOL_KCM"), (282, "SOL_TLS"), (283, "SOL_XDP"),
    (284, "SOL_MPTCP"), (285, "SOL_MCTP"), (286, "SOL_SMC"),
];

/// A socket option level (a 32-bit int to the kernel).
pub fn sockopt_level(level: u32) -> String {
    or_unknown(find(&LEVELS, level), u64::from(level), "SOL_??")
}

#[rustfmt::skip]
const SOCKET_OPTIONS: [(u32, &str); 76] = [
    (1, "SO_DEBUG"), (2, "SO_REUSEADDR"), (3, "SO_TYPE"), (4, "SO_ERROR"), (5, "SO_DONTROUTE"),
    (6, "SO_BROADCAST"), (7, "SO_SNDBUF"), (8, "SO_RCVBUF"), (9, "SO_KEEPALIVE"), (10, "SO_OOBINLINE"),
    (11, "SO_NO_CHECK"), (12, "SO_PRIORITY"), (13, "SO_LINGER"), (14, "SO_BSDCOMPAT"), (15, "SO_REUSEPORT"),
    (16, "SO_PASSCRED"), (17, "SO_PEERCRED"), (18, "SO_RCVLOWAT"), (19, "SO_SNDLOWAT"), (20, "SO_RCVTIMEO_OLD"),
    (21, "SO_SNDTIMEO_OLD"), (22, "SO_SECURITY_AUTHENTICATION"), (23, "SO_SECURITY_ENCRYPTION_TRANSPORT"),
    (24, "SO_SECURITY_ENCRYPTION_NETWORK"), (25, "SO_BINDTODEVICE"), (26, "SO_ATTACH_FILTER"),
    (27, "SO_DETACH_FILTER"), (28, "SO_PEERNAME"), (29, "SO_TIMESTAMP_OLD"), (30, "SO_ACCEPTCONN"),
    (31, "SO_PEERSEC"), (32, "SO_SNDBUFFORCE"), (33, "SO_RCVBUFFORCE"), (34, "SO_PASSSEC"),
    (35, "SO_TIMESTAMPNS_OLD"), (36, "SO_MARK"), (37, "SO_TIMESTAMPING_OLD"), (38, "SO_PROTOCOL"),
    (39, "SO_DOMAIN"), (40, "SO_RXQ_OVFL"), (41, "SO_WIFI_STATUS"), (42, "SO_PEEK_OFF"), (43, "SO_NOFCS"),
    (44, "SO_LOCK_FILTER"), (45, "SO_SELECT_ERR_QUEUE"), (46, "SO_BUSY_POLL"), (47, "SO_MAX_PACING_RATE"),
    (48, "SO_BPF_EXTENSIONS"), (49, "SO_INCOMING_CPU"), (50, "SO_ATTACH_BPF"), (51, "SO_ATTACH_REUSEPORT_CBPF"),
    (52, "SO_ATTACH_REUSEPORT_EBPF"), (53, "SO_CNX_ADVICE"), (55, "SO_MEMINFO"), (56, "SO_INCOMING_NAPI_ID"),
    (57, "SO_COOKIE"), (59, "SO_PEERGROUPS"), (60, "SO_ZEROCOPY"), (61, "SO_TXTIME"), (62, "SO_BINDTOIFINDEX"),
    (63, "SO_TIMESTAMP_NEW"), (64, "SO_TIMESTAMPNS_NEW"), (65, "SO_TIMESTAMPING_NEW"), (66, "SO_RCVTIMEO_NEW"),
    (67, "SO_SNDTIMEO_NEW"), (68, "SO_DETACH_REUSEPORT_BPF"), (69, "SO_PREFER_BUSY_POLL"),
    (70, "SO_BUSY_POLL_BUDGET"), (71, "SO_NETNS_COOKIE"), (72, "SO_BUF_LOCK"), (73, "SO_RESERVE_MEM"),
    (74, "SO_TXREHASH"), (75, "SO_RCVMARK"), (76, "SO_PASSPIDFD"), (77, "SO_PEERPIDFD"), (78, "SO_DEVMEM_LINEAR"),
];

#[rustfmt::skip]
const IP_OPTIONS: [(u32, &str); 45] = [
    (1, "IP_TOS"), (2, "IP_TTL"), (3, "IP_HDRINCL"), (4, "IP_OPTIONS"), (5, "IP_ROUTER_ALERT"),
    (6, "IP_RECVOPTS"), (7, "IP_RETOPTS"), (8, "IP_PKTINFO"), (9, "IP_PKTOPTIONS"), (10, "IP_MTU_DISCOVER"),
    (11, "IP_RECVERR"), (12, "IP_RECVTTL"), (13, "IP_RECVTOS"), (14, "IP_MTU"), (15, "IP_FREEBIND"),
    (16, "IP_IPSEC_POLICY"), (17, "IP_XFRM_POLICY"), (18, "IP_PASSSEC"), (19, "IP_TRANSPARENT"),
    (20, "IP_ORIGDSTADDR"), (21, "IP_MINTTL"), (22, "IP_NODEFRAG"), (23, "IP_CHECKSUM"),
    (24, "IP_BIND_ADDRESS_NO_PORT"), (25, "IP_RECVFRAGSIZE"), (26, "IP_RECVERR_RFC4884"),
    (32, "IP_MULTICAST_IF"), (33, "IP_MULTICAST_TTL"), (34, "IP_MULTICAST_LOOP"), (35, "IP_ADD_MEMBERSHIP"),
    (36, "IP_DROP_MEMBERSHIP"), (37, "IP_UNBLOCK_SOURCE"), (38, "IP_BLOCK_SOURCE"),
    (39, "IP_ADD_SOURCE_MEMBERSHIP"), (40, "IP_DROP_SOURCE_MEMBERSHIP"), (41, "IP_MSFILTER"),
    (42, "MCAST_JOIN_GROUP"), (43, "MCAST_BLOCK_SOURCE"), (44, "MCAST_UNBLOCK_SOURCE"),
    (45, "MCAST_LEAVE_GROUP"), (46, "MCAST_JOIN_SOURCE_GROUP"), (47, "MCAST_LEAVE_SOURCE_GROUP"),
    (48, "MCAST_MSFILTER"), (49, "IP_MULTICAST_ALL"), (50, "IP_UNICAST_IF"),
];

const IPV6_OPTIONS: [(u32, &str); 58] = [
    (1, "IPV6_ADDRFORM"),
    (2, "IPV6_2292PKTINFO"),
    (3, "IPV6_2292HOPOPTS"),
    (4, "IPV6_2292DSTOPTS"),
    (5, "IPV6_2292RTHDR"),
    (6, "IPV6_2292PKTOPTIONS"),
    (7, "IPV6_CHECKSUM"),
    (8, "IPV6_2292HOPLIMIT"),
    (9, "IPV6_NEXTHOP"),
    (10, "IPV6_AUTHHDR"),
    (11, "IPV6_FLOWINFO"),
    (16, "IPV6_UNICAST_HOPS"),
    (17, "IPV6_MULTICAST_IF"),
    (18, "IPV6_MULTICAST_HOPS"),
    (19, "IPV6_MULTICAST_LOOP"),
    (20, "IPV6_ADD_MEMBERSHIP"),
    (21, "IPV6_DROP_MEMBERSHIP"),
    (22, "IPV6_ROUTER_ALERT"),
    (23, "IPV6_MTU_DISCOVER"),
    (24, "IPV6_MTU"),
    (25, "IPV6_RECVERR"),
    (26, "IPV6_V6ONLY"),
    (27, "IPV6_JOIN_ANYCAST"),
    (28, "IPV6_LEAVE_ANYCAST"),
    (29, "IPV6_MULTICAST_ALL"),
    (30, "IPV6_ROUTER_ALERT_ISOLATE"),
    (31, "IPV6_RECVERR_RFC4884"),
    (32, "IPV6_FLOWLABEL_MGR"),
    (33, "IPV6_FLOWINFO_SEND"),
    (34, "IPV6_IPSEC_POLICY"),
    (35, "IPV6_XFRM_POLICY"),
    (36, "IPV6_HDRINCL"),
    (42, "MCAST_JOIN_GROUP"),
    (43, "MCAST_BLOCK_SOURCE"),
    (44, "MCAST_UNBLOCK_SOURCE"),
    (45, "MCAST_LEAVE_GROUP"),
    (46, "MCAST_JOIN_SOURCE_GROUP"),
    (47, "MCAST_LEAVE_SOURCE_GROUP"),
    (48, "MCAST_MSFILTER"),
    (49, "IPV6_RECVPKTINFO"),
    (50, "IPV6_PKTINFO"),
    (51, "IPV6_RECVHOPLIMIT"),
    (52, "IPV6_HOPLIMIT"),
    (53, "IPV6_RECVHOPOPTS"),
    (54, "IPV6_HOPOPTS"),
    (55, "IPV6_RTHDRDSTOPTS"),
    (56, "IPV6_RECVRTHDR"),
    (57, "IPV6_RTHDR"),
    (58, "IPV6_RECVDSTOPTS"),
    (59, "IPV6_DSTOPTS"),
    (60, "IPV6_RECVPATHMTU"),
    (61, "IPV6_PATHMTU"),
    (62, "IPV6_DONTFRAG"),
    (66, "IPV6_RECVTCLASS"),
    (67, "IPV6_TCLASS"),
    (72, "IPV6_AUTOFLOWLABEL"),
    (76, "IPV6_TRANSPARENT"),
    (77, "IPV6_UNICAST_IF"),
];

#[rustfmt::skip]
const TCP_OPTIONS: [(u32, &str); 37] = [
    (1, "TCP_NODELAY"), (2, "TCP_MAXSEG"), (3, "TCP_CORK"), (4, "TCP_KEEPIDLE"), (5, "TCP_KEEPINTVL"),
    (6, "TCP_KEEPCNT"), (7, "TCP_SYNCNT"), (8, "TCP_LINGER2"), (9, "TCP_DEFER_ACCEPT"),
    (10, "TCP_WINDOW_CLAMP"), (11, "TCP_INFO"), (12, "TCP_QUICKACK"), (13, "TCP_CONGESTION"),
    (14, "TCP_MD5SIG"), (15, "TCP_COOKIE_TRANSACTIONS"), (16, "TCP_THIN_LINEAR_TIMEOUTS"),
    (17, "TCP_THIN_DUPACK"), (18, "TCP_USER_TIMEOUT"), (19, "TCP_REPAIR"), (20, "TCP_REPAIR_QUEUE"),
    (21, "TCP_QUEUE_SEQ"), (22, "TCP_REPAIR_OPTIONS"), (23, "TCP_FASTOPEN"), (24, "TCP_TIMESTAMP"),
    (25, "TCP_NOTSENT_LOWAT"), (26, "TCP_CC_INFO"), (27, "TCP_SAVE_SYN"), (28, "TCP_SAVED_SYN"),
    (29, "TCP_REPAIR_WINDOW"), (30, "TCP_FASTOPEN_CONNECT"), (31, "TCP_ULP"), (32, "TCP_MD5SIG_EXT"),
    (33, "TCP_FASTOPEN_KEY"), (34, "TCP_FASTOPEN_NO_COOKIE"), (35, "TCP_ZEROCOPY_RECEIVE"), (36, "TCP_INQ"),
    (37, "TCP_TX_DELAY"),
];

#[rustfmt::skip]
const UDP_OPTIONS: [(u32, &str); 6] = [
    (1, "UDP_CORK"), (100, "UDP_ENCAP"), (101, "UDP_NO_CHECK6_TX"), (102, "UDP_NO_CHECK6_RX"),
    (103, "UDP_SEGMENT"), (104, "UDP_GRO"),
];

#[rustfmt::skip]
const RAW_OPTIONS: [(u32, &str); 1] = [(1, "ICMP_FILTER")];

#[rustfmt::skip]
const PACKET_OPTIONS: [(u32, &str); 23] = [
    (1, "PACKET_ADD_MEMBERSHIP"), (2, "PACKET_DROP_MEMBERSHIP"), (3, "PACKET_RECV_OUTPUT"),
    (5, "PACKET_RX_RING"), (6, "PACKET_STATISTICS"), (7, "PACKET_COPY_THRESH"), (8, "PACKET_AUXDATA"),
    (9, "PACKET_ORIGDEV"), (10, "PACKET_VERSION"), (11, "PACKET_HDRLEN"), (12, "PACKET_RESERVE"),
    (13, "PACKET_TX_RING"), (14, "PACKET_LOSS"), (15, "PACKET_VNET_HDR"), (16, "PACKET_TX_TIMESTAMP"),
    (17, "PACKET_TIMESTAMP"), (18, "PACKET_FANOUT"), (19, "PACKET_TX_HAS_OFF"), (20, "PACKET_QDISC_BYPASS"),
    (21, "PACKET_ROLLOVER_STATS"), (22, "PACKET_FANOUT_DATA"), (23, "PACKET_IGNORE_OUTGOING"),
    (24, "PACKET_VNET_HDR_SZ"),
];

#[rustfmt::skip]
const NETLINK_OPTIONS: [(u32, &str); 12] = [
    (1, "NETLINK_ADD_MEMBERSHIP"), (2, "NETLINK_DROP_MEMBERSHIP"), (3, "NETLINK_PKTINFO"),
    (4, "NETLINK_BROADCAST_ERROR"), (5, "NETLINK_NO_ENOBUFS"), (6, "NETLINK_RX_RING"), (7, "NETLINK_TX_RING"),
    (8, "NETLINK_LISTEN_ALL_NSID"), (9, "NETLINK_LIST_MEMBERSHIPS"), (10, "NETLINK_CAP_ACK"),
    (11, "NETLINK_EXT_ACK"), (12, "NETLINK_GET_STRICT_CHK"),
];

/// An option name of a level (both 32-bit ints to the kernel): its name, strace's unknown
/// form for a level with a table, or the number for a level without one.
pub fn sockopt_name(level: u32, name: u32) -> String {
    let (table, unknown): (&[(u32, &str)], &str) = match level {
        1 => (&SOCKET_OPTIONS, "SO_???"),
        0 => (&IP_OPTIONS, "IP_???"),
        41 => (&IPV6_OPTIONS, "IPV6_???"),
        6 => (&TCP_OPTIONS, "TCP_???"),
        17 => (&UDP_OPTIONS, "UDP_???"),
        255 => (&RAW_OPTIONS, "ICMP_???"),
        263 => (&PACKET_OPTIONS, "PACKET_???"),
        270 => (&NETLINK_OPTIONS, "NETLINK_???"),
        _ => return name.to_string(),
    };
    or_unknown(find(table, name), u64::from(name), unknown)
}

#[rustfmt::skip]
const ETHERNET_PROTOCOLS: [(u32, &str); 8] = [
    (0x0003, "ETH_P_ALL"), (0x0004, "ETH_P_802_2"), (0x0800, "ETH_P_IP"), (0x0806, "ETH_P_ARP"),
    (0x8100, "ETH_P_8021Q"), (0x86dd, "ETH_P_IPV6"), (0x88cc, "ETH_P_LLDP"), (0x0001, "ETH_P_802_3"),
];

/// An AF_PACKET protocol, as the number inside `htons()`.
pub fn ethernet_protocol(p: u16) -> String {
    find(&ETHERNET_PROTOCOLS, u32::from(p)).map_or_else(|| format!("{p:#x} /* ETH_P_??? */"), str::to_string)
}

#[rustfmt::skip]
const HARDWARE_TYPES: [(u32, &str); 8] = [
    (0, "ARPHRD_NETROM"), (1, "ARPHRD_ETHER"), (24, "ARPHRD_IEEE1394"), (512, "ARPHRD_PPP"),
    (768, "ARPHRD_TUNNEL"), (772, "ARPHRD_LOOPBACK"), (776, "ARPHRD_SIT"), (65534, "ARPHRD_NONE"),
];

pub fn hardware_type(t: u16) -> String {
    or_unknown(find(&HARDWARE_TYPES, u32::from(t)), u64::from(t), "ARPHRD_???")
}

#[rustfmt::skip]
const PACKET_TYPES: [(u32, &str); 8] = [
    (0, "PACKET_HOST"), (1, "PACKET_BROADCAST"), (2, "PACKET_MULTICAST"), (3, "PACKET_OTHERHOST"),
    (4, "PACKET_OUTGOING"), (5, "PACKET_LOOPBACK"), (6, "PACKET_USER"), (7, "PACKET_KERNEL"),
];

pub fn packet_type(t: u8) -> String {
    or_unknown(find(&PACKET_TYPES, u32::from(t)), u64::from(t), "PACKET_???")
}

#[rustfmt::skip]
const PACKET_MEMBERSHIPS: [(u32, &str); 4] = [
    (0, "PACKET_MR_MULTICAST"), (1, "PACKET_MR_PROMISC"), (2, "PACKET_MR_ALLMULTI"), (3, "PACKET_MR_UNICAST"),
];

/// packet_mreq's `mr_type`.
pub fn packet_membership(t: u16) -> String {
    or_unknown(find(&PACKET_MEMBERSHIPS, u32::from(t)), u64::from(t), "PACKET_MR_???")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_as_strace_writes_them() {
        assert_eq!(family(10), "AF_INET6");
        assert_eq!(family(3), "AF_AX25");
        assert_eq!(family(46), "0x2e /* AF_??? */");
        assert_eq!(sockopt_level(263), "SOL_PACKET");
        assert_eq!(sockopt_level(9999), "0x270f /* SOL_?? */");
        assert_eq!(sockopt_name(1, 29), "SO_TIMESTAMP_OLD");
        assert_eq!(sockopt_name(1, 12345), "0x3039 /* SO_??? */");
        assert_eq!(sockopt_name(0, 35), "IP_ADD_MEMBERSHIP");
        assert_eq!(sockopt_name(9999, 7), "7");
        assert_eq!(ethernet_protocol(0x800), "ETH_P_IP");
        assert_eq!(hardware_type(772), "ARPHRD_LOOPBACK");
        assert_eq!(packet_type(9), "0x9 /* PACKET_??? */");
    }
}
