//! A sock_diag reply as the kernel (or anything pretending to be it) may send: split into
//! netlink messages, each parsed as every socket family; and the same bytes read as a raw
//! TCP dump file (TCPDIAG_FILE, ss -D). Kernel data and dump files are untrusted input:
//! short, long or garbled structures must be skipped or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope_core::model::Netid;
use sockscope_core::netlink::{parse, rawdump, wire};

fuzz_target!(|data: &[u8]| {
    for m in wire::Messages::new(data) {
        let p = m.payload;
        let _ = parse::inet(p, Netid::Tcp);
        let _ = parse::inet(p, Netid::Udp);
        let _ = parse::inet(p, Netid::Mptcp);
        let _ = parse::unix(p);
        let _ = parse::packet(p);
        let _ = parse::netlink(p);
        let _ = parse::meminfo(p);
    }
    let mut sockets = Vec::new();
    let _ = rawdump::read_from(&mut &data[..], &sockscope_core::Selection::all(), &mut sockets);
    // The payload alone, too: the fixtures store payloads without netlink headers.
    let _ = parse::inet(data, Netid::Raw);
    let _ = parse::unix(data);
});
