use super::*;
use crate::filter::bytecode::{self, Entry};
use crate::filter::eval::{Context, Truth};
use crate::model::{Endpoint, Family, Netid, Socket};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn services() -> Services {
    Services::parse("ssh 22/tcp\nhttp 80/tcp www\nhttp 80/udp\ndomain 53/udp\n")
}

fn p(s: &str) -> Filter {
    parse(s, &services()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn e(s: &str) -> Expr {
    p(s).expr.expect("an expression")
}

fn err(s: &str) -> FilterError {
    parse(s, &services()).expect_err(s)
}

fn sport(port: u16) -> Expr {
    Expr::Pred(Pred::Host { side: Side::Src, host: HostMatch::Inet { net: None, port: Some(port) } })
}

#[test]
fn and_binds_tighter_than_or() {
    assert_eq!(e("sport = :1 or sport = :2 and sport = :3"), Expr::or(sport(1), Expr::and(sport(2), sport(3))));
    assert_eq!(e("sport = :1 and sport = :2 or sport = :3"), Expr::or(Expr::and(sport(1), sport(2)), sport(3)));
    assert_eq!(e("sport = :1 || sport = :2 && sport = :3"), e("sport = :1 or ( sport = :2 and sport = :3 )"));
    assert_eq!(e("( sport = :1 or sport = :2 ) and sport = :3"), Expr::and(Expr::or(sport(1), sport(2)), sport(3)));
}

#[test]
fn adjacency_means_and_and_not_binds_tightest() {
    assert_eq!(e("sport = :1 sport = :2"), Expr::and(sport(1), sport(2)));
    assert_eq!(e("not sport = :1 and sport = :2"), Expr::and(Expr::negate(sport(1)), sport(2)));
    assert_eq!(e("! sport = :1"), Expr::negate(sport(1)));
    assert_eq!(e("!(sport = :1)"), Expr::negate(sport(1)));
    assert_eq!(e("sport != :1"), Expr::negate(sport(1)));
    assert_eq!(e("sport neq :1"), Expr::negate(sport(1)));
}

#[test]
fn operators_and_word_forms() {
    let port = |cmp, port| Expr::Pred(Pred::Port { side: Side::Dst, cmp, port });
    assert_eq!(e("dport >= :1024"), port(Cmp::Ge, 1024));
    assert_eq!(e("dport geq :1024"), port(Cmp::Ge, 1024));
    assert_eq!(e("dport ge 1024"), port(Cmp::Ge, 1024));
    assert_eq!(e("dport > :80"), port(Cmp::Gt, 80));
    assert_eq!(e("dport gt :80"), port(Cmp::Gt, 80));
    assert_eq!(e("dport < :http"), port(Cmp::Lt, 80));
    assert_eq!(e("dport lt :80"), port(Cmp::Lt, 80));
    assert_eq!(e("dport <= :80"), port(Cmp::Le, 80));
    assert_eq!(e("dport le :80"), port(Cmp::Le, 80));
    assert_eq!(e("dport leq :80"), port(Cmp::Le, 80));
    assert_eq!(e("sport == :ssh"), sport(22));
    assert_eq!(e("sport eq :22"), sport(22));
    assert_eq!(e("sport = :www"), sport(80));
    assert_eq!(e("sport :22"), sport(22));
    assert_eq!(e("sport>=:22"), Expr::Pred(Pred::Port { side: Side::Src, cmp: Cmp::Ge, port: 22 }));
}

#[test]
fn host_conditions() {
    let host = |side, net: Option<(&str, u8)>, port| {
        Expr::Pred(Pred::Host {
            side,
            host: HostMatch::Inet { net: net.map(|(a, l)| (a.parse().expect("ip"), l)), port },
        })
    };
    assert_eq!(e("dst 10.1.2.3/8"), host(Side::Dst, Some(("10.0.0.0", 8)), None));
    assert_eq!(e("dst 127.0.0.1:http"), host(Side::Dst, Some(("127.0.0.1", 32)), Some(80)));
    assert_eq!(e("src [::1]:80"), host(Side::Src, Some(("::1", 128)), Some(80)));
    assert_eq!(e("src [2001:db8::1]/32"), host(Side::Src, Some(("2001:db8::", 32)), None));
    assert_eq!(e("src [2001:db8::1/32]:443"), host(Side::Src, Some(("2001:db8::", 32)), Some(443)));
    assert_eq!(e("dst ::1"), host(Side::Dst, Some(("::1", 128)), None));
    assert_eq!(e("src *:22"), host(Side::Src, None, Some(22)));
    assert_eq!(e("src :ssh"), host(Side::Src, None, Some(22)));
    assert_eq!(e("src *"), host(Side::Src, None, None));
    assert_eq!(e("dst 10.0.0.1:*"), host(Side::Dst, Some(("10.0.0.1", 32)), None));
    assert_eq!(e("dport = 10.0.0.1:80"), host(Side::Dst, Some(("10.0.0.1", 32)), Some(80)));
    assert_eq!(
        e("src /run/*.sock"),
        Expr::Pred(Pred::Host { side: Side::Src, host: HostMatch::Unix("/run/*.sock".into()) })
    );
    assert_eq!(e("src @abs*"), Expr::Pred(Pred::Host { side: Side::Src, host: HostMatch::Unix("@abs*".into()) }));
}

#[test]
fn other_atoms() {
    assert_eq!(e("dev = lo"), Expr::Pred(Pred::Dev(Device::Name("lo".into()))));
    assert_eq!(e("dev != 3"), Expr::negate(Expr::Pred(Pred::Dev(Device::Index(3)))));
    assert_eq!(e("fwmark = 0x10/0xf0"), Expr::Pred(Pred::Fwmark { mark: 0x10, mask: 0xf0 }));
    assert_eq!(e("fwmark = 7"), Expr::Pred(Pred::Fwmark { mark: 7, mask: u32::MAX }));
    assert_eq!(e("cgroup = /a/b"), Expr::Pred(Pred::Cgroup { path: "/a/b".into(), id: None }));
    assert_eq!(e("autobound"), Expr::Pred(Pred::Autobound));
    // `state` after the start of an expression is a condition like any other.
    assert_eq!(
        e("sport = :1 or state listening"),
        Expr::or(sport(1), Expr::Pred(Pred::State(StateSet::of(&[SockState::Listen]))))
    );
}

#[test]
fn leading_state_clauses() {
    let f = p("state established state time-wait sport = :22");
    assert_eq!(f.states, Some(StateSet::of(&[SockState::Established, SockState::TimeWait])));
    assert_eq!(f.expr, Some(sport(22)));
    let f = p("exclude listening");
    assert_eq!(f.states.map(|s| s.contains(SockState::Listen)), Some(false));
    assert_eq!(f.states.map(|s| s.contains(SockState::Established)), Some(true));
    assert!(f.expr.is_none());
    let f = p("state connected exclude time-wait");
    let s = f.states.expect("states");
    assert!(!s.contains(SockState::TimeWait) && !s.contains(SockState::Listen) && s.contains(SockState::CloseWait));
    for name in [
        "established",
        "syn-sent",
        "syn-recv",
        "fin-wait-1",
        "fin-wait-2",
        "time-wait",
        "closed",
        "close-wait",
        "last-ack",
        "listening",
        "closing",
        "all",
        "connected",
        "synchronized",
        "bucket",
        "big",
        "ESTAB",
        "LISTEN",
    ] {
        assert!(p(&format!("state {name}")).states.is_some_and(|s| !s.is_empty()), "{name}");
    }
    assert_eq!(p("state bucket").states, Some(StateSet::of(&[SockState::SynRecv, SockState::TimeWait])));
    assert!(!p("state big").states.expect("big").contains(SockState::TimeWait));
    assert!(p("state synchronized").states.is_some_and(|s| !s.contains(SockState::SynSent)));
}

/// Every way a filter can be malformed names its token and column.
#[test]
fn errors_name_the_token_and_column() {
    let cases: &[(&str, usize, &str, &str)] = &[
        ("(", 0, "", "missing condition"),
        ("( sport = :80", 1, "(", "never closed"),
        (")", 1, ")", "unmatched ')'"),
        ("sport = :80 )", 13, ")", "unmatched ')'"),
        ("()", 2, ")", "empty parentheses"),
        ("sport", 0, "", "expected a port"),
        ("sport =", 0, "", "expected a port"),
        ("sport = :99999", 9, ":99999", "out of range"),
        ("sport = :nosuchservice", 9, ":nosuchservice", "unknown port or service"),
        ("dst 1.2.3.4/33", 5, "1.2.3.4/33", "bad prefix length"),
        ("src [::1", 5, "[::1", "without ']'"),
        ("dst example.com", 5, "example.com", "not an IP address"),
        ("dst 1.2.3.4:80x", 5, "1.2.3.4:80x", "unknown port"),
        ("foo", 1, "foo", "unknown condition"),
        ("state bogus", 7, "bogus", "unknown state"),
        ("state", 0, "", "expected a state"),
        ("sport = :80 or", 0, "", "missing condition"),
        ("and sport = :80", 1, "and", "missing condition before"),
        ("sport = :80 or or dport = :1", 16, "or", "missing condition before"),
        ("= :80", 1, "=", "comparison without a keyword"),
        ("dev < eth0", 5, "<", "only = and !="),
        ("fwmark = abc", 10, "abc", "not a number"),
        ("fwmark = 1/zz", 10, "1/zz", "mask is not a number"),
        ("sport = :80 exclude listening", 13, "exclude", "must come before"),
        ("sport >= 1.2.3.4", 10, "1.2.3.4", "unknown port"),
        ("not", 0, "", "missing condition"),
        ("src", 0, "", "expected an address"),
    ];
    for (text, column, token, message) in cases {
        let got = err(text);
        assert_eq!(got.column, *column, "{text:?}: {got}");
        assert_eq!(got.token, *token, "{text:?}: {got}");
        assert!(got.message.contains(message), "{text:?}: '{}' lacks '{message}'", got.message);
        let shown = got.to_string();
        assert!(shown.starts_with("filter: "), "{shown}");
        if *column > 0 {
            assert!(shown.contains(&format!("column {column}")) && shown.contains(token), "{shown}");
        }
    }
    assert!(parse("", &services()).is_ok_and(|f| f.is_empty()));
}

// ---- property tests ----

proptest! {
    #[test]
    fn random_filter_text_never_panics(s in "[ a-z0-9:/\\[\\]()!=<>&|*@.,-]{0,60}") {
        let _ = parse(&s, &services());
    }

    #[test]
    fn random_token_soup_never_panics(words in proptest::collection::vec(prop_oneof![
        Just("src"), Just("dst"), Just("sport"), Just("dport"), Just("="), Just("!="), Just(">="), Just("<"),
        Just("and"), Just("or"), Just("not"), Just("("), Just(")"), Just(":80"), Just("[::1]:22"), Just("10.0.0.0/8"),
        Just("state"), Just("listening"), Just("exclude"), Just("dev"), Just("lo"), Just("fwmark"), Just("0x1/0x3"),
        Just("autobound"), Just("cgroup"), Just("/x"), Just("!"), Just("&&"), Just("||"),
    ], 0..12)) {
        let _ = parse(&words.join(" "), &services());
    }
}

fn arb_addr4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        Just(Ipv4Addr::LOCALHOST),
        Just(Ipv4Addr::new(10, 1, 2, 3)),
        Just(Ipv4Addr::UNSPECIFIED),
        any::<u32>().prop_map(Ipv4Addr::from)
    ]
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        arb_addr4().prop_map(IpAddr::V4),
        arb_addr4().prop_map(|a| IpAddr::V6(a.to_ipv6_mapped())),
        Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

fn arb_port() -> impl Strategy<Value = u16> {
    prop_oneof![Just(0u16), Just(22), Just(80), Just(1023), Just(1024), Just(65535), any::<u16>()]
}

/// A random inet socket with every field bytecode can look at known.
fn arb_socket() -> impl Strategy<Value = Socket> {
    (arb_ip(), arb_port(), arb_ip(), arb_port(), 0u32..4, any::<u32>(), 1u64..5).prop_map(
        |(la, lp, pa, pp, ifi, mark, cg)| {
            // Both ends share the socket's family, as in the kernel.
            let fam6 = la.is_ipv6();
            let pa = match (fam6, pa) {
                (true, IpAddr::V4(a)) => IpAddr::V6(a.to_ipv6_mapped()),
                (false, IpAddr::V6(a)) => IpAddr::V4(a.to_ipv4_mapped().unwrap_or(Ipv4Addr::new(192, 0, 2, 1))),
                (_, a) => a,
            };
            let family = if fam6 { Family::Inet6 } else { Family::Inet };
            let mut s = Socket::new(
                Netid::Tcp,
                family,
                SockState::Established,
                Endpoint::Inet { address: la, port: lp },
                Endpoint::Inet { address: pa, port: pp },
            );
            s.interface = ifi;
            s.mark = Some(mark & 0xff);
            s.cgroup_id = std::num::NonZeroU64::new(cg);
            s
        },
    )
}

fn arb_pred() -> impl Strategy<Value = Pred> {
    let side = prop_oneof![Just(Side::Src), Just(Side::Dst)];
    let cmp = prop_oneof![Just(Cmp::Lt), Just(Cmp::Le), Just(Cmp::Gt), Just(Cmp::Ge)];
    let net = prop_oneof![
        Just(None),
        (arb_ip(), 0u8..=32).prop_map(|(a, l)| {
            let l = if a.is_ipv4() { l } else { l * 4 };
            Some((mask(a, l), l))
        }),
    ];
    prop_oneof![
        (side.clone(), net, proptest::option::of(arb_port()))
            .prop_map(|(side, net, port)| Pred::Host { side, host: HostMatch::Inet { net, port } }),
        (side, cmp, arb_port()).prop_map(|(side, cmp, port)| Pred::Port { side, cmp, port }),
        (0u32..4).prop_map(|i| Pred::Dev(Device::Index(i))),
        (any::<u32>(), prop_oneof![Just(u32::MAX), Just(0xf0u32), Just(0u32)])
            .prop_map(|(m, mask)| Pred::Fwmark { mark: m & mask & 0xff, mask }),
        (1u64..5).prop_map(|id| Pred::Cgroup { path: String::new(), id: Some(id) }),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    arb_pred().prop_map(Expr::Pred).prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::or(a, b)),
            inner.prop_map(Expr::negate),
        ]
    })
}

fn entry(s: &Socket) -> Entry {
    Entry::of(s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// The kernel path (compiled bytecode, run as the kernel runs it) and the user-space
    /// evaluator give the same answer on every socket.
    #[test]
    fn bytecode_and_user_space_agree(expr in arb_expr(), sockets in proptest::collection::vec(arb_socket(), 1..8)) {
        let code = bytecode::compile(&expr).program().expect("every generated predicate compiles");
        for s in &sockets {
            let user = expr.eval(s, Context::default());
            prop_assert_ne!(user, Truth::Unknown);
            prop_assert_eq!(bytecode::run(&code, &entry(s)), user == Truth::True, "expr {:?} socket {:?}", expr, s);
        }
    }
}

#[test]
fn autobound_and_non_kernel_conditions() {
    assert!(bytecode::compile(&e("autobound")).program().is_some());
    assert!(bytecode::compile(&e("src /run/*")).program().is_none());
    assert!(bytecode::compile(&e("sport = :22 or state listening")).program().is_none());
    assert!(bytecode::compile(&e("dev = lo")).program().is_none(), "names must be resolved first");
    // `< 0` and `> 65535` compile to constant false.
    let never = bytecode::compile(&e("sport < :0")).program().expect("compiles");
    let s = Socket::new(
        Netid::Tcp,
        Family::Inet,
        SockState::Listen,
        Endpoint::Inet { address: Ipv4Addr::LOCALHOST.into(), port: 0 },
        Endpoint::Inet { address: Ipv4Addr::UNSPECIFIED.into(), port: 0 },
    );
    assert!(!bytecode::run(&never, &entry(&s)));
    let always = bytecode::compile(&e("not sport > :65535")).program().expect("compiles");
    assert!(bytecode::run(&always, &entry(&s)));
}

fn listener(port: u16) -> Socket {
    Socket::new(
        Netid::Tcp,
        Family::Inet,
        SockState::Listen,
        Endpoint::Inet { address: Ipv4Addr::LOCALHOST.into(), port },
        Endpoint::Inet { address: Ipv4Addr::UNSPECIFIED.into(), port: 0 },
    )
}

fn or_chain(terms: u16) -> String {
    (1..=terms).map(|p| format!("sport = :{p}")).collect::<Vec<_>>().join(" or ")
}

/// Security issue 5: deep nesting aborted the process with a stack overflow.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for text in [
        format!("{}sport = :1{}", "( ".repeat(10_000), " )".repeat(10_000)),
        format!("{}sport = :1", "not ".repeat(30_000)),
        format!("{}sport = :1", "! ".repeat(30_000)),
        "(".repeat(100_000),
    ] {
        let e = err(&text);
        assert!(e.message.contains("nest deeper than"), "{}", e.message);
    }
    // Up to the limit is fine, and evaluates.
    let depth = crate::filter::ast::MAX_DEPTH;
    let ok = e(&format!("{}sport = :1{}", "( ".repeat(depth), " )".repeat(depth)));
    assert_eq!(ok.eval(&listener(1), Context::default()), Truth::True);
}

/// Security issue 5: long flat chains were trees as deep as they were long.
#[test]
fn long_chains_parse_evaluate_and_drop_without_recursion() {
    let or = e(&or_chain(50_000));
    assert!(matches!(&or, Expr::Or(xs) if xs.len() == 50_000));
    assert_eq!(or.eval(&listener(50_000), Context::default()), Truth::True);
    assert_eq!(or.eval(&listener(50_001), Context::default()), Truth::False);
    let adjacent = e(&"sport >= :1 ".repeat(40_000));
    assert!(matches!(&adjacent, Expr::And(xs) if xs.len() == 40_000));
    assert_eq!(adjacent.eval(&listener(7), Context::default()), Truth::True);
}

/// Security issue 6: each token's column was counted from the start of the text. The columns
/// stay right at 400,000 tokens; that the time per token stays flat is measured by the
/// `filter_parse_long` benchmark (a test does not time).
#[test]
fn columns_stay_right_at_400k_tokens() {
    let text = "state all ".repeat(200_000);
    let tokens = super::lex(&text);
    assert_eq!(tokens.len(), 400_000);
    let last = &tokens[tokens.len() - 1];
    assert_eq!((last.text.as_str(), last.column), ("all", 10 * 199_999 + 7));
    // Columns count characters, not bytes.
    let t = super::lex("src é:1 dst ü");
    assert_eq!(t.iter().map(|t| t.column).collect::<Vec<_>>(), vec![1, 5, 9, 13]);
}

/// Security issue 10: a program over 64 KiB was truncated, and the kernel ran the stump.
#[test]
fn a_filter_too_long_for_the_kernel_is_never_truncated() {
    // Each `sport = :N` is a 12-byte condition plus a 4-byte jump: 5,000 terms are ~80 KB.
    assert_eq!(bytecode::compile(&e(&or_chain(5_000))), bytecode::Compiled::TooLong);
    let fits = bytecode::compile(&e(&or_chain(4_000))).program().expect("fits");
    assert!(fits.len() <= bytecode::MAX_LEN);
    assert!(bytecode::run(&fits, &entry(&listener(4_000))));
    assert!(!bytecode::run(&fits, &entry(&listener(4_001))));
}

/// Found by running generated filters through the real kernel: a /0 prefix still checks the
/// family first (`src [::]/0` is every IPv6 socket, not every socket), as inet_diag does;
/// user space and the copy of the kernel's evaluator both said "any family".
#[test]
fn a_zero_prefix_still_checks_the_family() {
    let v4 = listener(80);
    let mut v6 = listener(80);
    v6.family = Family::Inet6;
    v6.local = Endpoint::Inet { address: std::net::Ipv6Addr::LOCALHOST.into(), port: 80 };
    let mut mapped = v6.clone();
    mapped.local = Endpoint::Inet { address: Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), port: 80 };
    for (text, want) in [
        ("src [::]/0", [false, true, true]),
        ("src 0.0.0.0/0", [true, false, true]),
        ("src *", [true, true, true]),
        ("sport = :80", [true, true, true]),
    ] {
        let expr = e(text);
        let code = bytecode::compile(&expr).program().expect("compiles");
        for (s, want) in [&v4, &v6, &mapped].into_iter().zip(want) {
            assert_eq!(expr.eval(s, Context::default()) == Truth::True, want, "{text} on {:?}", s.local);
            assert_eq!(bytecode::run(&code, &entry(s)), want, "{text} (bytecode) on {:?}", s.local);
        }
    }
}

/// Issue 12: `src ::1/128` was read as a port.
#[test]
fn unbracketed_ipv6_prefixes() {
    let services = Services::default();
    for (text, want) in [("src ::1/128", "::1"), ("src ::/0", "::"), ("dst fe80::/10", "fe80::")] {
        let f = parse(text, &services).unwrap_or_else(|e| panic!("{text}: {e}"));
        let shown = format!("{:?}", f.expr);
        assert!(shown.contains(want), "{text}: {shown}");
    }
    let f = parse("dst 2001:db8::/32:443", &services).expect("a prefix with a port");
    assert!(format!("{:?}", f.expr).contains("443"));
    assert!(parse("src :22", &services).is_ok());
}

/// `sockscope -b`: a program reads back as its conditions.
#[test]
fn programs_disassemble_to_their_conditions() {
    let f = parse("dport = :443 and src 10.0.0.0/8", &Services::default()).expect("parse");
    let bytecode::Compiled::Program(code) = bytecode::compile(f.expr.as_ref().expect("expr")) else {
        panic!("no program")
    };
    let text = bytecode::disassemble(&code).join("\n");
    assert!(text.contains("dst */0 port 443"), "{text}");
    assert!(text.contains("src 10.0.0.0/8 port *"), "{text}");
    assert!(text.contains("accept") && text.contains("reject"), "{text}");
}
