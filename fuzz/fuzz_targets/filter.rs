//! The filter language end to end: lex, parse, compile to inet_diag bytecode, evaluate.
//! Nothing may panic or overflow the stack, and wherever the compiled program and the
//! user-space evaluator can both decide a socket, they must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope_core::filter::bytecode::{self, Compiled, Entry};
use sockscope_core::filter::eval::{Context, Truth};
use sockscope_core::model::{Endpoint, Family, Netid, SockState, Socket};
use sockscope_core::names::Services;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

fn sockets() -> &'static [Socket] {
    static SOCKETS: OnceLock<Vec<Socket>> = OnceLock::new();
    SOCKETS.get_or_init(|| {
        let inet = |a: IpAddr, p: u16| Endpoint::Inet { address: a, port: p };
        let v4 = |a: [u8; 4]| IpAddr::V4(Ipv4Addr::from(a));
        let mut out = vec![
            Socket::new(Netid::Tcp, Family::Inet, SockState::Listen, inet(v4([127, 0, 0, 1]), 80), inet(v4([0; 4]), 0)),
            Socket::new(
                Netid::Tcp,
                Family::Inet,
                SockState::Established,
                inet(v4([10, 1, 2, 3]), 22),
                inet(v4([192, 168, 7, 9]), 51234),
            ),
            Socket::new(
                Netid::Tcp,
                Family::Inet6,
                SockState::Established,
                inet(IpAddr::V6(Ipv6Addr::LOCALHOST), 443),
                inet(IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()), 65535),
            ),
        ];
        for (i, s) in out.iter_mut().enumerate() {
            s.interface = i as u32;
            s.mark = Some(i as u32);
            s.cgroup_id = std::num::NonZeroU64::new(i as u64 + 1);
        }
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    static SERVICES: OnceLock<Services> = OnceLock::new();
    let services = SERVICES.get_or_init(|| Services::parse("ssh 22/tcp\nhttp 80/tcp www\ndomain 53/udp\n"));
    let Ok(filter) = sockscope_core::filter::parse(text, services) else { return };
    let Some(expr) = filter.expr else { return };
    let compiled = bytecode::compile(&expr);
    for s in sockets() {
        let user = expr.eval(s, Context::default());
        if let Compiled::Program(code) = &compiled {
            assert!(code.len() <= bytecode::MAX_LEN);
            if user != Truth::Unknown {
                assert_eq!(bytecode::run(code, &Entry::of(s)), user == Truth::True, "{text:?} on {s:?}");
            }
        }
    }
});
