//! The /proc/net tables (tcp, udp, raw, unix, packet, netlink, in both families) and the
//! counter files (netstat, snmp, snmp6) a fallback or the doctor reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope_core::model::Family;
use sockscope_core::procfs::{counters, net};

const FILES: [(&str, Family); 9] = [
    ("tcp", Family::Inet),
    ("tcp6", Family::Inet6),
    ("udp", Family::Inet),
    ("udp6", Family::Inet6),
    ("raw", Family::Inet),
    ("raw6", Family::Inet6),
    ("unix", Family::Unix),
    ("packet", Family::Packet),
    ("netlink", Family::Netlink),
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let (file, family) = FILES[usize::from(which) % FILES.len()];
    let _ = net::parse_file(file, family, &text);
    let _ = counters::parse_pairs(&text);
    let _ = counters::parse_lines(&text);
});
