//! The x86_64 system calls the tracer names, and strace's classes of them.

/// strace's `%net` class: the syscalls that act on sockets.
pub const NET: &[(u64, &str)] = &[
    (41, "socket"),
    (42, "connect"),
    (43, "accept"),
    (44, "sendto"),
    (45, "recvfrom"),
    (46, "sendmsg"),
    (47, "recvmsg"),
    (48, "shutdown"),
    (49, "bind"),
    (50, "listen"),
    (51, "getsockname"),
    (52, "getpeername"),
    (53, "socketpair"),
    (54, "setsockopt"),
    (55, "getsockopt"),
    (288, "accept4"),
    (299, "recvmmsg"),
    (307, "sendmmsg"),
];

/// The name of a `%net` syscall, by number.
pub fn net_name(nr: u64) -> Option<&'static str> {
    NET.iter().find(|(n, _)| *n == nr).map(|(_, name)| *name)
}

/// The set `-e trace=SET` asks for: syscall names and the classes `%net`/`%network`, comma
/// separated. Returns the numbers, or the first word it does not know.
pub fn parse_set(spec: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match word {
            "%net" | "%network" | "network" => out.extend(NET.iter().map(|(n, _)| *n)),
            name => match NET.iter().find(|(_, n)| *n == name) {
                Some((nr, _)) => out.push(*nr),
                None => return Err(word.to_string()),
            },
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        assert_eq!(net_name(42), Some("connect"));
        assert_eq!(net_name(0), None);
        assert_eq!(parse_set("%net").map(|v| v.len()), Ok(NET.len()));
        assert_eq!(parse_set("connect,socket"), Ok(vec![41, 42]));
        assert_eq!(parse_set("connect,bogus"), Err("bogus".to_string()));
    }
}
