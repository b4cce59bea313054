//! Protocol counters of a network namespace: /proc/…/net/netstat and snmp (`Prefix.Name`) and
//! snmp6 (`Name`).

use std::collections::HashMap;
use std::path::Path;

/// `Prefix: name name …` / `Prefix: value value …` line pairs → `Prefix.name` → value.
pub fn parse_pairs(text: &str) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((p1, n)), Some((p2, v))) = (names.split_once(':'), values.split_once(':')) else { continue };
        if p1 != p2 {
            continue;
        }
        for (name, value) in n.split_whitespace().zip(v.split_whitespace()) {
            if let Ok(v) = value.parse() {
                out.insert(format!("{p1}.{name}"), v);
            }
        }
    }
    out
}

/// `Name value` lines (snmp6).
pub fn parse_lines(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect()
}

/// `/proc/net/sockstat` lines, `PREFIX: key value key value …` → `PREFIX.key` → value
/// (`TCP.inuse`, `TCP.tw`, `FRAG6.inuse`).
pub fn parse_sockstat(text: &str) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some((prefix, rest)) = line.split_once(':') else { continue };
        let words: Vec<&str> = rest.split_whitespace().collect();
        for kv in words.chunks(2) {
            if let [k, v] = kv
                && let Ok(v) = v.parse()
            {
                out.insert(format!("{prefix}.{k}"), v);
            }
        }
    }
    out
}

/// sockstat and sockstat6 from `text_of(file name)` (a directory, or a capture's files).
pub fn sockstat_from(text_of: impl Fn(&str) -> Option<String>) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for file in ["sockstat", "sockstat6"] {
        if let Some(text) = text_of(file) {
            out.extend(parse_sockstat(&text));
        }
    }
    out
}

/// Every counter of the namespace whose /proc/…/net directory is `net_dir`.
pub fn read(net_dir: &Path) -> HashMap<String, u64> {
    read_from(|file| std::fs::read_to_string(net_dir.join(file)).ok())
}

/// Every counter, from `text_of(file name)` (a directory, or a capture's files).
pub fn read_from(text_of: impl Fn(&str) -> Option<String>) -> HashMap<String, u64> {
    let mut all = HashMap::new();
    for file in ["netstat", "snmp"] {
        if let Some(t) = text_of(file) {
            all.extend(parse_pairs(&t));
        }
    }
    if let Some(t) = text_of("snmp6") {
        all.extend(parse_lines(&t));
    }
    all
}

pub fn get(c: &HashMap<String, u64>, name: &str) -> u64 {
    c.get(name).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_lines() {
        let c = parse_pairs("TcpExt: SyncookiesSent ListenOverflows\nTcpExt: 0 7\nIpExt: InNoRoutes\nIpExt: 3\n");
        assert_eq!(get(&c, "TcpExt.ListenOverflows"), 7);
        assert_eq!(get(&c, "IpExt.InNoRoutes"), 3);
        let l = parse_lines("Udp6RcvbufErrors                \t5\nIp6InReceives 9\n");
        assert_eq!(get(&l, "Udp6RcvbufErrors"), 5);
        let live = read(Path::new("/proc/thread-self/net"));
        assert!(live.contains_key("TcpExt.ListenDrops") && live.contains_key("Tcp.RetransSegs"));
    }

    #[test]
    fn sockstat_lines_parse() {
        let text = "sockets: used 8\nTCP: inuse 1 orphan 0 tw 3 alloc 180013 mem 14\nFRAG: inuse 0 memory 0\n";
        let m = super::parse_sockstat(text);
        assert_eq!((m["TCP.inuse"], m["TCP.tw"], m["sockets.used"], m["FRAG.memory"]), (1, 3, 8, 0));
    }
}
