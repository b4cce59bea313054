//! Micro-benchmarks of the hot paths: `cargo bench -p sockscope-core`. Numbers, not tests:
//! nothing here asserts a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use sockscope_core::filter::{self, eval::Context};
use sockscope_core::model::{Endpoint, Family, Netid, SockState, Socket};
use sockscope_core::names::Services;
use sockscope_core::netlink::parse;
use std::net::{IpAddr, Ipv4Addr};

fn main() {
    divan::main();
}

/// The captured TCP reply payloads (tests/fixtures), repeated to `n` messages.
fn payloads(n: usize) -> Vec<Vec<u8>> {
    let bytes = include_bytes!("../tests/fixtures/tcp4_details.netlink");
    let mut recs = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 4 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        recs.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    recs.iter().cycle().take(n).cloned().collect()
}

/// Parsing sock_diag replies (with tcp_info, skmeminfo and congestion attributes).
#[divan::bench(args = [1_000, 100_000])]
fn netlink_parse(b: Bencher, n: usize) {
    let msgs = payloads(n);
    b.counter(divan::counter::ItemsCount::new(n))
        .bench(|| msgs.iter().filter_map(|m| parse::inet(black_box(m), Netid::Tcp)).count());
}

/// One owner scan of this machine's /proc (all processes, all fds).
#[divan::bench(sample_count = 20)]
fn proc_fd_scan() -> usize {
    sockscope_core::procfs::fdscan::scan(std::path::Path::new("/proc"), false, sockscope_core::OwnerWalk::Proc)
        .unwrap()
        .len()
}

fn sockets(n: u32) -> Vec<Socket> {
    (0..n)
        .map(|i| {
            let mut s = Socket::new(
                Netid::Tcp,
                Family::Inet,
                if i % 3 == 0 { SockState::Listen } else { SockState::Established },
                Endpoint::Inet {
                    address: IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)),
                    port: (i % 60000) as u16,
                },
                Endpoint::Inet { address: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 443 },
            );
            s.inode = u64::from(i) + 1;
            s
        })
        .collect()
}

/// The user-space filter evaluator over 100k sockets.
#[divan::bench]
fn filter_eval(b: Bencher) {
    let f = filter::parse("( sport >= :1024 and dst 127.0.0.0/8 ) or not dport = :443", &Services::default()).unwrap();
    let expr = f.expr.unwrap();
    let socks = sockets(100_000);
    b.counter(divan::counter::ItemsCount::new(socks.len()))
        .bench(|| socks.iter().filter(|s| expr.keeps(black_box(s), Context::default())).count());
}

/// Compiling that filter to inet_diag bytecode.
#[divan::bench]
fn filter_compile() -> usize {
    let f = filter::parse("( sport >= :1024 and dst 127.0.0.0/8 ) or not dport = :443", &Services::default()).unwrap();
    filter::bytecode::compile(black_box(&f.expr.unwrap())).program().unwrap().len()
}

/// Lexing and parsing a long filter, at two sizes: time per token must stay flat (the lexer
/// once counted each token's column from the start of the text, quadratic in its length).
#[divan::bench(args = [20_000, 80_000])]
fn filter_parse_long(b: Bencher, terms: usize) {
    let text = "state all ".repeat(terms);
    b.counter(divan::counter::ItemsCount::new(terms * 2))
        .bench(|| filter::parse(black_box(&text), &Services::default()).is_ok());
}

/// Numbers as the table and the /proc walk write them (fd numbers, ports, inodes, byte
/// counts), through `itoa`. Measured against our former digit loop (issue 11): itoa 421
/// Mitem/s, the loop 111 Mitem/s.
#[divan::bench]
fn number_text(b: Bencher) {
    let ns: Vec<u64> =
        (0..100_000u64).map(|i| [i % 20_000, i % 65_536, 9_000_000 + i * 7, i * i * 1_000][(i % 4) as usize]).collect();
    b.counter(divan::counter::ItemsCount::new(ns.len())).bench(|| {
        let mut buf = itoa::Buffer::new();
        ns.iter().map(|&n| buf.format(black_box(n)).len()).sum::<usize>()
    });
}
