//! Kernel counters of the calling thread's network namespace (/proc/thread-self/net/netstat
//! and snmp): the evidence a scenario changes.

use std::collections::HashMap;

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

/// TcpExt and IpExt counters (netstat) merged with Tcp, Udp, Ip … (snmp).
pub fn read() -> HashMap<String, u64> {
    let mut all = HashMap::new();
    for file in ["netstat", "snmp"] {
        if let Ok(t) = std::fs::read_to_string(format!("/proc/thread-self/net/{file}")) {
            all.extend(parse_pairs(&t));
        }
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
    fn pairs() {
        let c = parse_pairs("TcpExt: SyncookiesSent ListenOverflows\nTcpExt: 0 7\nIpExt: InNoRoutes\nIpExt: 3\n");
        assert_eq!(get(&c, "TcpExt.ListenOverflows"), 7);
        assert_eq!(get(&c, "IpExt.InNoRoutes"), 3);
        assert!(read().contains_key("TcpExt.ListenDrops"));
    }
}
