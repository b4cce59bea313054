//! `serve`'s request reader and its configuration file: what any client on the network, or
//! any file named by --config, can hand it. Any input is a request (or config) or an error,
//! never a panic, and the reader never takes more than its head limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let _ = sockscope_serve::http::read_request(&mut input);
    // A second request on what is left, as a keep-alive peer would send it.
    let _ = sockscope_serve::http::read_request(&mut input);
    // The reader stops at its head limit even on an endless stream.
    let mut endless = std::io::BufReader::new(data.chain(std::io::repeat(b'a')).take(1 << 20));
    let _ = sockscope_serve::http::read_request(&mut endless);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sockscope_serve::config::Config::parse("fuzz.toml", text);
    }
});
