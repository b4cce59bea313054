//! /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix,packet,netlink} → `Socket`.
//!
//! These files lack some of what sock_diag gives: socket cookies, the listen backlog
//! (Send-Q of a listener), Unix peers and queues, bound interfaces. Those fields come out as
//! `None`/0; everything that identifies a socket is the same as from sock_diag.

use super::ProcError;
use crate::model::{Endpoint, Family, Netid, SockState, Socket, UnixName};
use crate::select::Selection;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Whether a Unix socket in a network namespace other than ours is bound to the path `want`
/// (its bytes as /proc/net/unix has them), read from /proc/PID/net/unix of one process per
/// namespace. A namespace is told by the inode of its /proc/…/net/unix, which any user may
/// stat (/proc/PID/ns/net needs ptrace access). `None` when it cannot be told: some table
/// could not be read, and no table that could be has the path.
pub fn unix_bound_in_other_namespaces(want: &[u8], proc_root: &Path) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata(proc_root.join("thread-self/net/unix")).map(|m| m.ino()).ok();
    let mut seen = std::collections::HashSet::new();
    let mut unseen = false;
    let gone = |e: &std::io::Error| matches!(super::process::classify(e), super::process::Unreadable::Gone);
    for pid in super::process::pids(proc_root).unwrap_or_default() {
        let file = proc_root.join(pid.to_string()).join("net/unix");
        let ns = match std::fs::metadata(&file) {
            Ok(m) => m.ino(),
            Err(e) => {
                unseen |= !gone(&e);
                continue;
            }
        };
        if Some(ns) == ours || !seen.insert(ns) {
            continue;
        }
        match std::fs::read(&file) {
            Ok(table) => {
                if table.split(|b| *b == b'\n').any(|l| l.strip_suffix(want).is_some_and(|l| l.ends_with(b" "))) {
                    return Some(true);
                }
            }
            Err(e) => unseen |= !gone(&e),
        }
    }
    (!unseen).then_some(false)
}

/// The files that hold each table, per family.
pub(crate) fn files(netid: Netid) -> &'static [(&'static str, Family)] {
    match netid {
        Netid::Tcp => &[("tcp", Family::Inet), ("tcp6", Family::Inet6)],
        Netid::Udp => &[("udp", Family::Inet), ("udp6", Family::Inet6)],
        Netid::Raw => &[("raw", Family::Inet), ("raw6", Family::Inet6)],
        Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket => &[("unix", Family::Unix)],
        Netid::PacketRaw | Netid::PacketDgram => &[("packet", Family::Packet)],
        Netid::Netlink => &[("netlink", Family::Netlink)],
        // The kernel writes no /proc/net file of MPTCP sockets.
        Netid::Mptcp => &[],
    }
}

/// Reads the selected tables from `net_dir` (normally /proc/net, i.e. the caller's network
/// namespace) and appends the sockets that match `sel`. `only` restricts to some tables (used
/// when sock_diag failed for just those). A file that does not exist means the protocol is
/// not built into the kernel and contributes no sockets.
pub fn collect(
    net_dir: &Path,
    sel: &Selection,
    only: Option<&[Netid]>,
    out: &mut Vec<Socket>,
) -> Result<(), ProcError> {
    let dir = rustix::fs::open(
        net_dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| ProcError::Read { path: net_dir.to_path_buf(), cause: e.into() })?;
    super::ensure_procfs(&dir, net_dir)?;
    let mut read: Vec<&str> = Vec::new();
    for netid in sel.netids() {
        if only.is_some_and(|o| !o.contains(&netid)) {
            continue;
        }
        for &(file, family) in files(netid) {
            if !sel.has_family(family) || read.contains(&file) {
                continue;
            }
            read.push(file);
            let path = net_dir.join(file);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(cause) => return Err(ProcError::Read { path, cause }),
            };
            let parsed = parse_file(file, family, &text).map_err(|(line, what)| ProcError::Parse {
                path: PathBuf::from(&path),
                line,
                what,
            })?;
            out.extend(parsed.into_iter().filter(|s| sel.matches(s) && only.is_none_or(|o| o.contains(&s.netid))));
        }
    }
    Ok(())
}

/// Parses one whole file. Errors carry the 1-based line number and what was malformed.
pub fn parse_file(file: &str, family: Family, text: &str) -> Result<Vec<Socket>, (usize, &'static str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = match file {
            "tcp" | "tcp6" => parse_inet_line(line, family, Netid::Tcp),
            "udp" | "udp6" => parse_inet_line(line, family, Netid::Udp),
            "raw" | "raw6" => parse_inet_line(line, family, Netid::Raw),
            "unix" => parse_unix_line(line),
            "packet" => parse_packet_line(line),
            "netlink" => parse_netlink_line(line),
            _ => Err("unknown table"),
        };
        match parsed {
            Ok(Some(s)) => out.push(s),
            Ok(None) => {}
            Err(what) => return Err((i + 1, what)),
        }
    }
    Ok(out)
}

/// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`
fn parse_inet_line(line: &str, family: Family, netid: Netid) -> Result<Option<Socket>, &'static str> {
    let f: Vec<&str> = line.split_ascii_whitespace().collect();
    if f.len() < 10 {
        return Err("socket line (too few fields)");
    }
    let local = parse_hex_endpoint(f[1], family).ok_or("local address")?;
    let peer = parse_hex_endpoint(f[2], family).ok_or("remote address")?;
    let state = SockState::from_kernel(u8::from_str_radix(f[3], 16).map_err(|_| "state")?);
    let (tx, rx) = f[4].split_once(':').ok_or("tx_queue:rx_queue")?;
    let tx = u32::from_str_radix(tx, 16).map_err(|_| "tx_queue")?;
    let rx = u32::from_str_radix(rx, 16).map_err(|_| "rx_queue")?;
    let mut s = Socket::new(netid, family, state, local, peer);
    s.recv_q = rx;
    // A listener's backlog is not in /proc/net/tcp; its tx_queue column is always 0.
    s.send_q = if state == SockState::Listen { None } else { Some(tx) };
    s.uid = Some(f[7].parse().map_err(|_| "uid")?);
    s.inode = f[9].parse().map_err(|_| "inode")?;
    Ok(Some(s))
}

/// `0100007F:0050` (IPv4) or 32 hex digits `:port` (IPv6): each 32-bit word printed in host
/// byte order by the kernel.
fn parse_hex_endpoint(field: &str, family: Family) -> Option<Endpoint> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let address = match (family, addr.len()) {
        (Family::Inet, 8) => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        (Family::Inet6, 32) => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(Endpoint::Inet { address, port })
}

const SO_ACCEPTCON: u32 = 1 << 16;

/// `Num RefCount Protocol Flags Type St Inode [Path]`
fn parse_unix_line(line: &str) -> Result<Option<Socket>, &'static str> {
    let mut rest = line.trim_start();
    let mut f = [""; 7];
    for slot in f.iter_mut() {
        let end = rest.find(' ').unwrap_or(rest.len());
        *slot = &rest[..end];
        rest = rest[end..].trim_start_matches(' ');
    }
    if f[6].is_empty() {
        return Err("unix socket line (too few fields)");
    }
    let flags = u32::from_str_radix(f[3], 16).map_err(|_| "flags")?;
    let netid = match u16::from_str_radix(f[4], 16).map_err(|_| "type")? {
        1 => Netid::UnixStream,
        2 => Netid::UnixDgram,
        5 => Netid::UnixSeqpacket,
        _ => return Ok(None),
    };
    let st = u8::from_str_radix(f[5], 16).map_err(|_| "state")?;
    let state = if flags & SO_ACCEPTCON != 0 {
        SockState::Listen
    } else {
        match st {
            2 => SockState::SynSent,
            3 => SockState::Established,
            _ => SockState::Close,
        }
    };
    let inode: u64 = f[6].parse().map_err(|_| "inode")?;
    if inode == 0 {
        // A connection not yet accept()ed: sock_diag does not list it either; it counts in
        // its listener's Recv-Q.
        return Ok(None);
    }
    // The kernel writes abstract names with '@' for every NUL byte, as we show them.
    let name = if rest.is_empty() {
        None
    } else if let Some(abstract_name) = rest.strip_prefix('@') {
        let mut raw = vec![0u8];
        raw.extend(abstract_name.bytes().map(|b| if b == b'@' { 0 } else { b }));
        UnixName::from_raw(&raw)
    } else {
        UnixName::from_raw(rest.as_bytes())
    };
    let mut s = Socket::new(
        netid,
        Family::Unix,
        state,
        Endpoint::Unix { name: name.map(Box::new), inode },
        Endpoint::Unix { name: None, inode: 0 },
    );
    s.inode = inode;
    s.send_q = None;
    Ok(Some(s))
}

/// `sk RefCnt Type Proto Iface R Rmem User Inode`
fn parse_packet_line(line: &str) -> Result<Option<Socket>, &'static str> {
    let f: Vec<&str> = line.split_ascii_whitespace().collect();
    if f.len() < 9 {
        return Err("packet socket line (too few fields)");
    }
    let netid = match f[2].parse::<u32>().map_err(|_| "type")? {
        3 => Netid::PacketRaw,
        2 => Netid::PacketDgram,
        _ => return Ok(None),
    };
    let protocol = u16::from_str_radix(f[3], 16).map_err(|_| "protocol")?;
    let interface: u32 = f[4].parse().map_err(|_| "interface")?;
    let mut s =
        Socket::new(netid, Family::Packet, SockState::Close, Endpoint::Packet { protocol, interface }, Endpoint::None);
    s.interface = interface;
    s.recv_q = f[6].parse().map_err(|_| "rmem")?;
    s.send_q = None;
    s.uid = Some(f[7].parse().map_err(|_| "user")?);
    s.inode = f[8].parse().map_err(|_| "inode")?;
    Ok(Some(s))
}

/// `sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode`
fn parse_netlink_line(line: &str) -> Result<Option<Socket>, &'static str> {
    let f: Vec<&str> = line.split_ascii_whitespace().collect();
    if f.len() < 10 {
        return Err("netlink socket line (too few fields)");
    }
    let protocol: u8 = f[1].parse().map_err(|_| "protocol")?;
    let port_id: u32 = f[2].parse::<i64>().map_err(|_| "port id")? as u32;
    let local = Endpoint::Netlink { protocol, port_id, group: 0 };
    let peer = Endpoint::Netlink { protocol, port_id: 0, group: 0 };
    let mut s = Socket::new(Netid::Netlink, Family::Netlink, SockState::Close, local, peer);
    s.recv_q = f[4].parse().map_err(|_| "rmem")?;
    s.send_q = Some(f[5].parse().map_err(|_| "wmem")?);
    s.inode = f[9].parse().map_err(|_| "inode")?;
    Ok(Some(s))
}

#[cfg(test)]
mod tests;
