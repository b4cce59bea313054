//! Names for numbers: service names for ports (/etc/services), user names for uids
//! (NSS), commands for pids, interface names for indexes, netlink protocols and ethertypes.

use std::collections::HashMap;
use std::path::Path;

/// Port → service name, per protocol, from an /etc/services-format file.
#[derive(Debug, Default, Clone)]
pub struct Services {
    by_port: HashMap<(u16, Proto), Box<str>>,
    /// Names and aliases → port, for filters (`:http`, `:www`).
    by_name: HashMap<(Box<str>, Proto), u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Services {
    /// Reads /etc/services; a missing or unreadable file gives an empty table (numbers are
    /// shown instead), as getservbyport would.
    pub fn load() -> Services {
        Services::from_file(Path::new("/etc/services"))
    }

    pub fn from_file(path: &Path) -> Services {
        std::fs::read_to_string(path).map(|t| Services::parse(&t)).unwrap_or_default()
    }

    /// `name port/proto [aliases…] [# comment]`; the first name listed for a port wins.
    pub fn parse(text: &str) -> Services {
        let mut by_port = HashMap::new();
        let mut by_name = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_ascii_whitespace();
            let (Some(name), Some(port_proto)) = (fields.next(), fields.next()) else { continue };
            let Some((port, proto)) = port_proto.split_once('/') else { continue };
            let Ok(port) = port.parse::<u16>() else { continue };
            let proto = match proto {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                _ => continue,
            };
            by_port.entry((port, proto)).or_insert_with(|| name.into());
            for alias in std::iter::once(name).chain(fields) {
                by_name.entry((alias.into(), proto)).or_insert(port);
            }
        }
        Services { by_port, by_name }
    }

    pub fn name(&self, port: u16, proto: Proto) -> Option<&str> {
        self.by_port.get(&(port, proto)).map(|s| &**s)
    }

    /// The port of a service name or alias (`http`, `www` → 80).
    pub fn name_to_port(&self, name: &str, proto: Proto) -> Option<u16> {
        self.by_name.get(&(Box::from(name), proto)).copied()
    }
}

/// IP protocol number → name, from /etc/protocols (`icmp 1 ICMP`): how ss names the "port"
/// of a raw socket.
#[derive(Debug, Default, Clone)]
pub struct Protocols {
    by_number: HashMap<u8, Box<str>>,
}

impl Protocols {
    pub fn load() -> Protocols {
        std::fs::read_to_string("/etc/protocols").map(|t| Protocols::parse(&t)).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Protocols {
        let mut by_number = HashMap::new();
        for line in text.lines() {
            let mut f = line.split('#').next().unwrap_or("").split_ascii_whitespace();
            if let (Some(name), Some(Ok(n))) = (f.next(), f.next().map(str::parse::<u8>)) {
                by_number.entry(n).or_insert_with(|| name.into());
            }
        }
        Protocols { by_number }
    }

    pub fn name(&self, number: u8) -> Option<&str> {
        self.by_number.get(&number).map(|s| &**s)
    }
}

/// User names by uid, asked of the C library (getpwuid_r, so NSS: LDAP and sssd users
/// resolve as they do for `ls` and `ps`), each uid once.
#[derive(Clone, Debug, Default)]
pub struct Users {
    by_uid: HashMap<u32, Option<Box<str>>>,
}

impl Users {
    pub fn new() -> Users {
        Users::default()
    }

    /// The user's name, or `None` when no user has this uid.
    pub fn name(&mut self, uid: u32) -> Option<&str> {
        self.by_uid
            .entry(uid)
            .or_insert_with(|| {
                let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok().flatten()?;
                Some(user.name.into_boxed_str())
            })
            .as_deref()
    }
}

/// Process names by pid (/proc/PID/comm), each pid read once: who bound a netlink port.
#[derive(Clone, Debug, Default)]
pub struct Commands {
    by_pid: HashMap<u32, Option<Box<str>>>,
}

impl Commands {
    /// The command of process `pid`, or `None` when there is no such process.
    pub fn name(&mut self, pid: u32) -> Option<&str> {
        self.by_pid
            .entry(pid)
            .or_insert_with(|| crate::procfs::process::comm(Path::new("/proc"), pid).ok().map(String::into_boxed_str))
            .as_deref()
    }
}

/// SELinux contexts of processes and of the sockets they hold, as `ss -Z` and `-z` show
/// them: `-` when SELinux is off, `unavailable` when one cannot be read. Each process once.
#[derive(Debug, Default)]
pub struct SecurityContexts {
    enabled: Option<bool>,
    by_pid: HashMap<u32, Box<str>>,
}

impl SecurityContexts {
    fn enabled(&mut self) -> bool {
        *self.enabled.get_or_insert_with(crate::procfs::process::selinux_enabled)
    }

    pub fn process(&mut self, pid: u32) -> &str {
        if !self.enabled() {
            return "-";
        }
        self.by_pid.entry(pid).or_insert_with(|| {
            crate::procfs::process::security_context(Path::new("/proc"), pid)
                .map_or_else(|_| "unavailable".into(), String::into_boxed_str)
        })
    }

    pub fn socket(&mut self, pid: u32, fd: u32) -> String {
        if !self.enabled() {
            return "-".to_string();
        }
        crate::procfs::process::fd_security_context(Path::new("/proc"), pid, fd)
            .unwrap_or_else(|_| "unavailable".to_string())
    }
}

/// Interface index → name in the caller's network namespace, cached.
#[derive(Debug, Default)]
pub struct Interfaces {
    socket: Option<rustix::fd::OwnedFd>,
    cache: HashMap<u32, Option<Box<str>>>,
}

impl Interfaces {
    pub fn new() -> Interfaces {
        Interfaces::default()
    }

    /// Interfaces as the namespace of `socket` has them (any socket: ioctls on it resolve
    /// names in its namespace). `netns::interfaces_in` makes one inside another namespace.
    pub fn with_socket(socket: rustix::fd::OwnedFd) -> Interfaces {
        Interfaces { socket: Some(socket), cache: HashMap::new() }
    }

    /// The index of an interface name in this namespace.
    pub fn index(&mut self, name: &str) -> Option<u32> {
        rustix::net::netdevice::name_to_index(self.ioctl_socket()?, name).ok()
    }

    /// Any socket will do for the SIOCGIFNAME/SIOCGIFINDEX ioctls; opened once, on first use.
    fn ioctl_socket(&mut self) -> Option<&rustix::fd::OwnedFd> {
        if self.socket.is_none() {
            self.socket = rustix::net::socket_with(
                rustix::net::AddressFamily::UNIX,
                rustix::net::SocketType::DGRAM,
                rustix::net::SocketFlags::CLOEXEC,
                None,
            )
            .ok();
        }
        self.socket.as_ref()
    }

    /// The interface's name, or `None` if the index does not exist (any more).
    pub fn name(&mut self, index: u32) -> Option<&str> {
        if index == 0 {
            return None;
        }
        if !self.cache.contains_key(&index) {
            let name = self
                .ioctl_socket()
                .and_then(|s| rustix::net::netdevice::index_to_name(s, index).ok())
                .map(String::into_boxed_str);
            self.cache.insert(index, name);
        }
        self.cache.get(&index).and_then(|n| n.as_deref())
    }
}

/// cgroup v2 id (the directory's inode) → path below `root` (normally /sys/fs/cgroup), for
/// every cgroup on the host. A walk of the cgroup tree: only done for --cgroup.
pub fn cgroup_paths(root: &Path) -> HashMap<u64, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&dir) else { continue };
        let rel = dir.strip_prefix(root).map(|p| format!("/{}", p.display())).unwrap_or_default();
        out.insert(meta.ino(), rel);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
    out
}

/// The short netlink protocol names ss uses.
pub fn netlink_protocol(protocol: u8) -> Option<&'static str> {
    Some(match protocol {
        0 => "rtnl",
        1 => "unused",
        2 => "usersock",
        3 => "fw",
        4 => "tcpdiag",
        5 => "nflog",
        6 => "xfrm",
        7 => "selinux",
        8 => "iscsi",
        9 => "audit",
        10 => "fiblookup",
        11 => "connector",
        12 => "nft",
        13 => "ip6fw",
        14 => "dec-rt",
        15 => "uevent",
        16 => "genl",
        18 => "scsi-trans",
        19 => "ecryptfs",
        20 => "rdma",
        21 => "crypto",
        22 => "smc",
        _ => return None,
    })
}

/// Names of common ethertypes a packet socket may be bound to.
pub fn ethertype(protocol: u16) -> Option<&'static str> {
    Some(match protocol {
        0x0003 => "*",
        0x0800 => "ip",
        0x0806 => "arp",
        0x8035 => "rarp",
        0x86dd => "ipv6",
        0x8100 => "802.1Q",
        0x88a8 => "802.1ad",
        0x88cc => "LLDP",
        0x8847 => "mpls_uc",
        0x8848 => "mpls_mc",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse_first_name_wins_and_comments_are_ignored() {
        let s = Services::parse("# x\nhttp 80/tcp www # web\nhttp-alt 80/tcp\ndomain 53/udp\nbad line\nx 99999/tcp\n");
        assert_eq!(s.name(80, Proto::Tcp), Some("http"));
        assert_eq!(s.name(80, Proto::Udp), None);
        assert_eq!(s.name(53, Proto::Udp), Some("domain"));
        assert_eq!(s.name_to_port("www", Proto::Tcp), Some(80));
        assert_eq!(s.name_to_port("http-alt", Proto::Tcp), Some(80));
        assert_eq!(s.name_to_port("domain", Proto::Tcp), None);
    }

    #[test]
    fn protocols_parse() {
        let p = Protocols::parse("ip 0 IP # internet\nicmp 1 ICMP\nipv6-icmp 58 IPv6-ICMP\nbogus x\n");
        assert_eq!(p.name(1), Some("icmp"));
        assert_eq!(p.name(58), Some("ipv6-icmp"));
        assert_eq!(p.name(2), None);
    }

    /// Issue 11: user names came from parsing /etc/passwd, so LDAP and sssd users had none.
    #[test]
    fn users_come_from_nss() {
        let mut u = Users::new();
        assert_eq!(u.name(0), Some("root"));
        assert_eq!(u.name(4_000_000_000), None, "no such user");
        assert_eq!(u.name(0), Some("root"), "cached");
    }

    #[test]
    fn loopback_is_named() {
        let mut ifs = Interfaces::new();
        assert_eq!(ifs.name(1), Some("lo"));
        assert_eq!(ifs.name(0), None);
    }
}
