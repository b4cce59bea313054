//! What a traced program passes the kernel, decoded as strace does: sockaddrs of any length
//! and family, control messages with lengths the program made up, any bytes as a string.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sockscope_trace::decode::sockaddr_bytes(data);
    let _ = sockscope_trace::args::cmsgs_bytes(data, 32, &mut |fd| fd.to_string());
    let limit = data.first().map_or(0, |b| usize::from(*b));
    let quoted = sockscope_trace::decode::quoted(data, limit);
    assert!(quoted.bytes().all(|c| (0x20..0x7f).contains(&c)));
});
