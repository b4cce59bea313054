//! Each rule's thresholds on constructed observations: just below, at, and above.

use crate::diagnose::{Observation, Severity, Sysctls, Thresholds, diagnose, worst};
use crate::model::{
    Details, Endpoint, Family, Netid, OwnerIndex, OwnerScanReport, Process, SkMemInfo, SockState, Socket, TcpInfo,
    Timer, TimerKind,
};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn ip(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn tcp(state: SockState, local: (IpAddr, u16), peer: (IpAddr, u16), inode: u64) -> Socket {
    let mut s = Socket::new(
        Netid::Tcp,
        Family::Inet,
        state,
        Endpoint::Inet { address: local.0, port: local.1 },
        Endpoint::Inet { address: peer.0, port: peer.1 },
    );
    s.inode = inode;
    s.cookie = std::num::NonZeroU64::new(inode + 1000);
    s
}

fn obs(sockets: Vec<Socket>) -> Observation {
    let mut o = Observation { window: Duration::from_secs(1), ..Observation::default() };
    o.sys = Sysctls {
        somaxconn: 4096,
        tcp_max_tw_buckets: 2000,
        tcp_max_orphans: 10,
        tcp_mem: [100, 200, 300],
        tcp_mem_pages: 0,
        port_range: (40000, 40099),
        files: (10, 1000),
    };
    // Every socket with an inode is held by pid 10 ("app") at fd = inode.
    let entries = sockets.iter().filter(|s| s.inode != 0).map(|s| (s.inode, 0u32, s.inode as u32)).collect();
    let owners = Some(OwnerIndex::new(vec![Process::new(10, "app", 0)], entries, OwnerScanReport::default()));
    o.first = std::sync::Arc::new(crate::Snapshot { owners, sockets, ..crate::Snapshot::default() });
    o
}

fn run(o: &Observation, rule: &str) -> Vec<(Severity, String)> {
    let t = Thresholds::default();
    let mut out: Vec<(Severity, String)> =
        diagnose(o, &t).into_iter().filter(|f| f.rule == rule).map(|f| (f.severity, f.summary)).collect();
    out.sort();
    out
}

fn severities(o: &Observation, rule: &str) -> Vec<Severity> {
    run(o, rule).into_iter().map(|(s, _)| s).collect()
}

const L: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::LOCALHOST), 80);

#[test]
fn close_wait_persistence_and_counts() {
    let cw = |n: u64| {
        (1..=n).map(|i| tcp(SockState::CloseWait, L, (ip(10, 0, 0, 1), 5000 + i as u16), i)).collect::<Vec<_>>()
    };
    let mut o = obs(cw(3));
    assert_eq!(severities(&o, "close-wait-leak"), vec![Severity::Info]);
    // One that outlived the window is what a connection pool does: not a page.
    let later = vec![o.first.sockets[1].clone()];
    o.set_second(&later);
    assert_eq!(severities(&o, "close-wait-leak"), vec![Severity::Info]);
    // Ten that did are a leak.
    let mut o = obs(cw(10));
    let later = o.first.sockets.clone();
    o.set_second(&later);
    assert_eq!(severities(&o, "close-wait-leak"), vec![Severity::Crit]);
    let f = diagnose(&o, &Thresholds::default()).into_iter().find(|f| f.rule == "close-wait-leak").expect("finding");
    assert_eq!(f.processes[0].pid, 10);
    assert_eq!(f.sockets.len(), 10);
    assert!(f.summary.contains("app (pid 10) holds 10 sockets"));
    let o = obs(cw(5));
    assert_eq!(severities(&o, "close-wait-leak"), vec![Severity::Warn]);
}

#[test]
fn fd_limit_thresholds() {
    let mut o = obs(vec![]);
    let p = |pid, open, soft, sockets| crate::diagnose::ProcessFds {
        pid,
        command: format!("p{pid}"),
        open,
        soft: Some(soft),
        hard: Some(soft * 4),
        sockets,
    };
    o.processes =
        vec![p(1, 79, 100, 0), p(2, 80, 100, 0), p(3, 95, 100, 0), p(4, 300, 1024, 256), p(5, 300, 1024, 255)];
    let got = run(&o, "fd-limit");
    assert_eq!(got.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![Severity::Warn, Severity::Warn, Severity::Crit]);
    assert!(got.iter().any(|(_, m)| m.contains("p2 (pid 2) has 80 of 100")));
    assert!(got.iter().any(|(_, m)| m.contains("p4 (pid 4) holds 256 sockets") && m.contains("1024")));
    o.processes.clear();
    o.sys.files = (800, 1000);
    assert_eq!(severities(&o, "fd-limit"), vec![Severity::Warn]);
    o.sys.files = (950, 1000);
    assert_eq!(severities(&o, "fd-limit"), vec![Severity::Crit]);
}

#[test]
fn accept_queue_thresholds() {
    let listener = |recv, backlog| {
        let mut s = tcp(SockState::Listen, L, (ip(0, 0, 0, 0), 0), 1);
        s.recv_q = recv;
        s.send_q = Some(backlog);
        s
    };
    assert!(severities(&obs(vec![listener(7, 10)]), "accept-queue").is_empty());
    assert_eq!(severities(&obs(vec![listener(8, 10)]), "accept-queue"), vec![Severity::Warn]);
    assert_eq!(severities(&obs(vec![listener(11, 10)]), "accept-queue"), vec![Severity::Crit]);
    let mut o = obs(vec![listener(1, 10)]);
    o.before = HashMap::from([("TcpExt.ListenOverflows".to_string(), 5)]);
    o.after = HashMap::from([("TcpExt.ListenOverflows".to_string(), 9)]);
    assert_eq!(severities(&o, "accept-queue"), vec![Severity::Warn]);
}

#[test]
fn syn_flood_thresholds() {
    let syn = |n: u64| (1..=n).map(|i| tcp(SockState::SynRecv, L, (ip(10, 0, 0, 1), i as u16), 0)).collect::<Vec<_>>();
    assert!(severities(&obs(syn(255)), "syn-flood").is_empty());
    assert_eq!(severities(&obs(syn(256)), "syn-flood"), vec![Severity::Warn]);
    let mut o = obs(syn(1));
    o.after = HashMap::from([("TcpExt.SyncookiesSent".to_string(), 3)]);
    assert_eq!(severities(&o, "syn-flood"), vec![Severity::Crit]);
}

#[test]
fn time_wait_thresholds() {
    let tw = |n: u64| {
        (1..=n)
            .map(|i| tcp(SockState::TimeWait, (ip(127, 0, 0, 1), 30000 + i as u16), (ip(10, 0, 0, 1), 443), 0))
            .collect::<Vec<_>>()
    };
    assert!(severities(&obs(tw(999)), "time-wait").is_empty());
    assert_eq!(severities(&obs(tw(1000)), "time-wait"), vec![Severity::Warn], "1000 of 2000 buckets is 50%");
    let mut o = obs(tw(1000));
    o.sys.tcp_max_tw_buckets = 100_000;
    assert_eq!(severities(&o, "time-wait"), vec![Severity::Info]);
    assert!(run(&o, "time-wait")[0].1.contains("most with 10.0.0.1:443 (1000)"));
}

#[test]
fn ephemeral_thresholds() {
    let conns = |n: u64| {
        (0..n)
            .map(|i| tcp(SockState::Established, (ip(127, 0, 0, 1), 40000 + i as u16), (ip(10, 0, 0, 9), 5432), i + 1))
            .collect::<Vec<_>>()
    };
    assert!(severities(&obs(conns(69)), "ephemeral-ports").is_empty());
    assert_eq!(severities(&obs(conns(70)), "ephemeral-ports"), vec![Severity::Warn]);
    assert_eq!(severities(&obs(conns(90)), "ephemeral-ports"), vec![Severity::Crit]);
    // Server-side sockets (local port is a listening port) are not outgoing connections.
    let mut s = conns(90);
    for c in &mut s {
        c.local = Endpoint::Inet { address: ip(127, 0, 0, 1), port: 40001 };
    }
    s.push(tcp(SockState::Listen, (ip(0, 0, 0, 0), 40001), (ip(0, 0, 0, 0), 0), 999));
    assert!(severities(&obs(s), "ephemeral-ports").is_empty());
}

#[test]
fn orphans_and_memory_thresholds() {
    let orph = |n: u64| {
        (1..=n)
            .map(|i| {
                let mut s = tcp(SockState::FinWait1, L, (ip(10, 0, 0, 1), i as u16), 0);
                s.details = Some(Box::new(Details { tcp_info: Some(TcpInfo::default()), ..Details::default() }));
                s
            })
            .collect::<Vec<_>>()
    };
    assert!(severities(&obs(orph(4)), "orphans-and-memory").is_empty());
    assert_eq!(severities(&obs(orph(5)), "orphans-and-memory"), vec![Severity::Warn]);
    // tcp_max_orphans unreadable (a non-initial namespace): an absolute count decides.
    let mut o = obs(orph(999));
    o.sys.tcp_max_orphans = 0;
    assert!(severities(&o, "orphans-and-memory").is_empty());
    let mut o = obs(orph(1000));
    o.sys.tcp_max_orphans = 0;
    assert_eq!(severities(&o, "orphans-and-memory"), vec![Severity::Warn]);
    let mut o = obs(vec![]);
    o.sys.tcp_mem_pages = 199;
    assert!(severities(&o, "orphans-and-memory").is_empty());
    o.sys.tcp_mem_pages = 200;
    assert_eq!(severities(&o, "orphans-and-memory"), vec![Severity::Warn]);
    o.sys.tcp_mem_pages = 300;
    assert_eq!(severities(&o, "orphans-and-memory"), vec![Severity::Crit]);
}

#[test]
fn retransmit_thresholds() {
    let conn = |total: u32| {
        let mut s = tcp(SockState::Established, L, (ip(10, 0, 0, 1), 5000), 1);
        s.details = Some(Box::new(Details {
            tcp_info: Some(TcpInfo::default().with("total_retrans", u64::from(total))),
            ..Details::default()
        }));
        s
    };
    assert!(severities(&obs(vec![conn(4)]), "retransmits").is_empty());
    assert_eq!(severities(&obs(vec![conn(5)]), "retransmits"), vec![Severity::Warn]);
    let host = |retrans: u64, out: u64| {
        let mut o = obs(vec![]);
        o.after = HashMap::from([("Tcp.RetransSegs".to_string(), retrans), ("Tcp.OutSegs".to_string(), out)]);
        severities(&o, "retransmits")
    };
    assert!(host(20, 999).is_empty(), "too few segments to judge");
    assert!(host(9, 1000).is_empty());
    assert_eq!(host(10, 1000), vec![Severity::Warn]);
    assert_eq!(host(50, 1000), vec![Severity::Crit]);
}

#[test]
fn udp_drops() {
    let mut o = obs(vec![]);
    o.after = HashMap::from([("Udp.RcvbufErrors".to_string(), 1)]);
    assert_eq!(severities(&o, "udp-drops"), vec![Severity::Warn]);
    let mut u = Socket::new(
        Netid::Udp,
        Family::Inet,
        SockState::Close,
        Endpoint::Inet { address: ip(127, 0, 0, 1), port: 53 },
        Endpoint::Inet { address: ip(0, 0, 0, 0), port: 0 },
    );
    u.inode = 5;
    u.details = Some(Box::new(Details {
        memory: Some(Box::new(SkMemInfo { drops: Some(3), ..SkMemInfo::default() })),
        ..Details::default()
    }));
    assert_eq!(severities(&obs(vec![u.clone()]), "udp-drops"), vec![Severity::Warn]);
    u.details = Some(Box::new(Details {
        memory: Some(Box::new(SkMemInfo { drops: Some(0), ..SkMemInfo::default() })),
        ..Details::default()
    }));
    assert!(severities(&obs(vec![u]), "udp-drops").is_empty());
}

#[test]
fn exposed_listeners() {
    let l = |addr: IpAddr, port| tcp(SockState::Listen, (addr, port), (ip(0, 0, 0, 0), 0), 1);
    assert_eq!(severities(&obs(vec![l(ip(0, 0, 0, 0), 6379)]), "exposed-listeners"), vec![Severity::Warn]);
    assert!(severities(&obs(vec![l(ip(127, 0, 0, 1), 6379)]), "exposed-listeners").is_empty());
    assert!(severities(&obs(vec![l(ip(0, 0, 0, 0), 8080)]), "exposed-listeners").is_empty());
    assert_eq!(severities(&obs(vec![l(ip(0, 0, 0, 0), 2375)]), "exposed-listeners"), vec![Severity::Crit]);
    assert_eq!(severities(&obs(vec![l("::".parse().expect("ip"), 5432)]), "exposed-listeners"), vec![Severity::Warn]);
}

#[test]
fn stuck_queue_thresholds() {
    let conn = |recv: u32| {
        let mut s = tcp(SockState::Established, L, (ip(10, 0, 0, 1), 5000), 1);
        s.recv_q = recv;
        s
    };
    let with_second = |first: u32, second: u32| {
        let mut o = obs(vec![conn(first)]);
        o.set_second(&[conn(second)]);
        severities(&o, "stuck-queues")
    };
    assert_eq!(with_second(5000, 5000), vec![Severity::Warn]);
    assert!(with_second(5000, 0).is_empty(), "drained within the window");
    assert!(with_second(4095, 5000).is_empty());
    assert!(severities(&obs(vec![conn(5000)]), "stuck-queues").is_empty(), "gone by the second look");
}

#[test]
fn keepalive_thresholds() {
    let conn = |idle_s: u32, timer: Option<TimerKind>| {
        let mut s = tcp(SockState::Established, L, (ip(10, 0, 0, 1), 5000), 1);
        let ms = idle_s * 1000;
        s.details = Some(Box::new(Details {
            tcp_info: Some(
                TcpInfo::default().with("last_data_sent_ms", u64::from(ms)).with("last_data_recv_ms", u64::from(ms)),
            ),
            ..Details::default()
        }));
        s.timer = timer.map(|kind| Timer { kind, expires_ms: 1000, retransmits: 0 });
        s
    };
    assert_eq!(severities(&obs(vec![conn(1800, None)]), "keepalive"), vec![Severity::Warn]);
    assert!(severities(&obs(vec![conn(1799, None)]), "keepalive").is_empty());
    assert!(severities(&obs(vec![conn(7200, Some(TimerKind::Keepalive))]), "keepalive").is_empty());
}

/// The option rules read what the process set (`Observation::options`): the restart rule,
/// late keepalive probes and Nagle stalls, each quiet when the options are not known.
#[test]
fn option_rules_judge_only_what_was_read() {
    use crate::sockopts::{Flow, SockOpts};
    let idle_conn = |idle_s: u32| {
        let mut s = tcp(SockState::Established, L, (ip(10, 0, 0, 1), 5000), 1);
        let ms = u64::from(idle_s * 1000);
        s.details = Some(Box::new(Details {
            tcp_info: Some(TcpInfo::default().with("last_data_sent_ms", ms).with("last_data_recv_ms", ms)),
            ..Details::default()
        }));
        s.timer = Some(Timer { kind: TimerKind::Keepalive, expires_ms: 1000, retransmits: 0 });
        s
    };
    let with_opts = |sockets: Vec<Socket>, opts: SockOpts, flow: Option<Flow>| {
        let mut o = obs(sockets);
        o.options.by_inode.insert(1, opts);
        if let Some(f) = flow {
            o.options.flows.insert(1, f);
        }
        o
    };
    let keepalive = |idle: u32| SockOpts { keepalive: Some(true), keepidle: Some(idle), ..SockOpts::default() };
    // Late probes: keepalive on, first probe after 7200 s, idle 400 s past a 350 s NAT.
    assert_eq!(severities(&with_opts(vec![idle_conn(400)], keepalive(7200), None), "keepalive"), vec![Severity::Info]);
    assert!(
        severities(&with_opts(vec![idle_conn(400)], keepalive(300), None), "keepalive").is_empty(),
        "probes in time"
    );
    assert!(
        severities(&with_opts(vec![idle_conn(300)], keepalive(7200), None), "keepalive").is_empty(),
        "not idle long"
    );
    assert!(severities(&obs(vec![idle_conn(400)]), "keepalive").is_empty(), "options unknown: quiet");

    // Nagle stalls: small writes, no NODELAY, 40 ms round trips on a 50 µs path.
    let chatty = || tcp(SockState::Established, L, (ip(10, 0, 0, 1), 5000), 1);
    let stall = Flow { rtt_us: 40_000, min_rtt_us: 50, data_segs_out: 60, bytes_sent: 6_000 };
    let nodelay = |on: bool| SockOpts { nodelay: Some(on), ..SockOpts::default() };
    let o = with_opts(vec![chatty()], nodelay(false), Some(stall));
    assert_eq!(severities(&o, "nagle-stall"), vec![Severity::Warn]);
    assert!(run(&o, "nagle-stall")[0].1.contains("round trip is 40.0 ms on a path that answers in 0.05 ms"));
    assert!(severities(&with_opts(vec![chatty()], nodelay(true), Some(stall)), "nagle-stall").is_empty());
    let slow_path = Flow { min_rtt_us: 30_000, ..stall };
    assert!(
        severities(&with_opts(vec![chatty()], nodelay(false), Some(slow_path)), "nagle-stall").is_empty(),
        "a slow path, not a stall"
    );
    let bulk = Flow { bytes_sent: 60 * 1400, ..stall };
    assert!(
        severities(&with_opts(vec![chatty()], nodelay(false), Some(bulk)), "nagle-stall").is_empty(),
        "full segments"
    );
    let few = Flow { data_segs_out: 5, bytes_sent: 500, ..stall };
    assert!(
        severities(&with_opts(vec![chatty()], nodelay(false), Some(few)), "nagle-stall").is_empty(),
        "too few to judge"
    );
    assert!(
        severities(&with_opts(vec![chatty()], nodelay(false), None), "nagle-stall").is_empty(),
        "no tcp_info: quiet"
    );

    // The restart rule: a listener without SO_REUSEADDR and a TIME-WAIT socket on its port.
    let listener = tcp(SockState::Listen, L, (ip(0, 0, 0, 0), 0), 1);
    let tw = tcp(SockState::TimeWait, L, (ip(10, 0, 0, 2), 6000), 0);
    let reuse = |on: bool| SockOpts { reuseaddr: Some(on), ..SockOpts::default() };
    assert_eq!(
        severities(&with_opts(vec![listener.clone(), tw.clone()], reuse(false), None), "no-reuseaddr"),
        vec![Severity::Warn]
    );
    assert!(severities(&with_opts(vec![listener.clone(), tw.clone()], reuse(true), None), "no-reuseaddr").is_empty());
    assert!(
        severities(&with_opts(vec![listener.clone()], reuse(false), None), "no-reuseaddr").is_empty(),
        "no TIME-WAIT"
    );
    assert!(severities(&obs(vec![listener, tw]), "no-reuseaddr").is_empty(), "options unknown: quiet");
}

#[test]
fn stale_files_and_ordering() {
    let mut o = obs(vec![tcp(SockState::Listen, (ip(0, 0, 0, 0), 2375), (ip(0, 0, 0, 0), 0), 1)]);
    o.stale_extended = vec!["/run/x.sock".into()];
    let all = diagnose(&o, &Thresholds::default());
    assert_eq!(all.iter().map(|f| f.rule).collect::<Vec<_>>(), vec!["exposed-listeners", "stale-unix-sockets"]);
    assert_eq!(worst(&all), Some(Severity::Crit));
    assert_eq!(worst(&[]), None);
}

#[test]
fn thresholds_are_settable_by_name() {
    let mut t = Thresholds::default();
    t.set("fd_warn", "0.5").expect("known key");
    assert_eq!(t.fd_limit.fd_warn, 0.5);
    assert!(t.set("fd_warn", "lots").is_err());
    assert!(t.set("no_such", "1").is_err());
    // Every rule's keys: 21, plus no-reuseaddr's 1, keepalive's NAT timeout and nagle-stall's 3.
    assert_eq!(t.describe().len(), 26);
}

/// Findings name each holder once, with its own sockets, however many processes hold them:
/// 3,000 CLOSE-WAIT sockets over 1,000 processes (and some held by none) make one group a
/// process, largest first, ties in the order the processes were first met.
#[test]
fn sockets_group_by_their_first_holder() {
    let sockets: Vec<Socket> = (1..=3000u64)
        .map(|i| tcp(SockState::CloseWait, L, (ip(10, 0, (i / 250) as u8, (i % 250) as u8), 5000), i))
        .collect();
    let mut o = obs(sockets);
    // Socket i is held by process i % 1000 (pid 100 + that): two or three each; the last
    // 30 by nobody.
    let processes: Vec<Process> = (0..1000u32).map(|p| Process::new(100 + p, format!("w{p}"), 0)).collect();
    let entries: Vec<(u64, u32, u32)> = (1..=2970u64).map(|i| (i, (i % 1000) as u32, 3)).collect();
    let owners = Some(OwnerIndex::new(processes, entries, OwnerScanReport::default()));
    let sockets = o.first.sockets.clone();
    o.first = std::sync::Arc::new(crate::Snapshot { owners, sockets, ..crate::Snapshot::default() });
    let groups = super::by_holder(&o, o.first.sockets.iter());
    assert_eq!(groups.len(), 1001, "a group a process, and one for the unheld");
    let total: usize = groups.iter().map(|g| g.1.len()).sum();
    assert_eq!(total, 3000);
    assert_eq!(groups[0].0, None, "the 30 held by nobody are the largest group");
    assert_eq!(groups[0].1.len(), 30);
    for (holder, socks) in &groups[1..] {
        let h = holder.as_ref().expect("a holder");
        let p = h.pid - 100;
        assert_eq!(h.command, format!("w{p}"));
        assert!(socks.iter().all(|s| {
            let first = o.first.owners_of(s).next().expect("held");
            first.process.pid == h.pid
        }));
    }
    // Ties keep the order the holders were first met in (pid 101 holds sockets 1, 1001 and
    // 2001).
    assert_eq!(groups[1].0.as_ref().map(|h| h.pid), Some(101));
    assert_eq!(groups[1].1.iter().map(|s| s.inode).collect::<Vec<_>>(), [1, 1001, 2001]);
}

/// The ephemeral-port finding names each process once: 80 connections held in turn by two
/// processes name the two, not the first five sockets' holders with repeats.
#[test]
fn ephemeral_names_each_holder_once() {
    let sockets: Vec<Socket> = (0..80u64)
        .map(|i| tcp(SockState::Established, (ip(127, 0, 0, 1), 40000 + i as u16), (ip(10, 0, 0, 9), 5432), i + 1))
        .collect();
    let mut o = obs(sockets);
    let processes = vec![Process::new(10, "a", 0), Process::new(11, "b", 0)];
    let entries = (1..=80u64).map(|i| (i, (i % 2) as u32, 3)).collect();
    let owners = Some(OwnerIndex::new(processes, entries, OwnerScanReport::default()));
    let sockets = o.first.sockets.clone();
    o.first = std::sync::Arc::new(crate::Snapshot { owners, sockets, ..crate::Snapshot::default() });
    let f = diagnose(&o, &Thresholds::default()).into_iter().find(|f| f.rule == "ephemeral-ports").expect("a finding");
    let pids: Vec<u32> = f.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [11, 10]);
}

/// Ports used up towards several destinations: one finding for each (source, destination),
/// with its count, in the order of their addresses (not a map's) when as severe, none for a
/// destination below the threshold.
#[test]
fn ephemeral_findings_come_per_destination_in_address_order() {
    let to = |dst: [u8; 4], n: u64, first: u64| {
        (0..n).map(move |i| {
            tcp(
                SockState::Established,
                (ip(127, 0, 0, 1), 40000 + i as u16),
                (ip(dst[0], dst[1], dst[2], dst[3]), 5432),
                first + i,
            )
        })
    };
    let sockets: Vec<Socket> =
        to([10, 0, 0, 9], 80, 1).chain(to([10, 0, 0, 10], 75, 100)).chain(to([10, 0, 0, 11], 5, 200)).collect();
    let findings = diagnose(&obs(sockets), &Thresholds::default());
    let got: Vec<(&str, Option<crate::diagnose::Num>)> = findings
        .iter()
        .filter(|f| f.rule == "ephemeral-ports")
        .map(|f| {
            let dst = f.summary.split(" to ").nth(1).and_then(|t| t.split(' ').next()).unwrap_or("");
            (dst, f.evidence.get("connections").copied())
        })
        .collect();
    use crate::diagnose::Num::Int;
    assert_eq!(got, [("10.0.0.10:5432", Some(Int(75))), ("10.0.0.9:5432", Some(Int(80)))]);
}

/// The doctor keeps of its second look only the sockets `asks_later` names: every rule finds
/// the same with that as with the whole look (CLOSE-WAIT that persisted or closed, queues
/// above and below the threshold that stayed or drained, sockets nobody asks about).
#[test]
fn the_second_looks_kept_sockets_are_all_the_rules_ask_about() {
    let t = Thresholds::default();
    let min = t.stuck_queues.stuck_queue_bytes as u32;
    let mut first = Vec::new();
    for i in 0..24u64 {
        first.push(tcp(SockState::CloseWait, L, (ip(10, 0, 0, 1), 5000 + i as u16), 1 + i));
    }
    for (i, q) in [0, min - 1, min, min * 4].into_iter().enumerate() {
        for recv in [true, false] {
            let mut s = tcp(
                SockState::Established,
                L,
                (ip(10, 0, 0, 2), 6000 + i as u16 * 2 + u16::from(recv)),
                100 + first.len() as u64,
            );
            if recv {
                s.recv_q = q;
            } else {
                s.send_q = Some(q);
            }
            first.push(s);
        }
    }
    first.push(tcp(SockState::TimeWait, L, (ip(10, 0, 0, 3), 7000), 500));
    // Later: half the CLOSE-WAIT closed, every queue stayed, one drained.
    let mut later: Vec<Socket> =
        first.iter().filter(|s| s.state != SockState::CloseWait || s.inode % 2 == 0).cloned().collect();
    if let Some(s) = later.iter_mut().find(|s| s.recv_q == min * 4) {
        s.recv_q = 0;
    }
    let findings = |o: &Observation| {
        let mut f: Vec<(String, Severity, String)> =
            diagnose(o, &t).into_iter().map(|f| (f.rule.to_string(), f.severity, f.summary)).collect();
        f.sort();
        f
    };
    let mut whole = obs(first.clone());
    whole.set_second(&later);
    let mut kept = obs(first);
    kept.set_second(&later);
    let asked: Vec<u64> = kept
        .first
        .sockets
        .iter()
        .filter(|s| super::asks_later(s, &t))
        .filter_map(|s| s.cookie.map(|c| c.get()))
        .collect();
    kept.second.retain(|c| asked.contains(&c));
    assert!(kept.second.iter().count() < whole.second.iter().count());
    let asked_rules = [("stuck-queues", Severity::Warn), ("close-wait-leak", Severity::Crit)];
    for (rule, severity) in asked_rules {
        assert!(findings(&whole).iter().any(|f| f.0 == rule && f.1 == severity), "{rule}: {:?}", findings(&whole));
    }
    assert_eq!(findings(&kept), findings(&whole));
}
