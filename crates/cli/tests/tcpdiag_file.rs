//! ss's raw TCP dumps, both ways, with ss as the oracle: `ss -D` a dump in a private
//! namespace, remove the sockets, and `TCPDIAG_FILE=dump sockscope -Htna FILTER` must list
//! what `TCPDIAG_FILE=dump ss -Htna FILTER` lists; `sockscope -D` writes a dump ss reads back
//! as the live sockets. Damaged dumps are one clear error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;
use common::*;
use std::net::{TcpListener, TcpStream};
use std::process::Command;

fn with_dump(program: &str, dump: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(program).env("TCPDIAG_FILE", dump).args(args).output().unwrap()
}

/// Sockets on 127.0.0.1 and 127.0.0.2: two listeners, three connections, a TIME-WAIT.
fn population() -> (Vec<TcpListener>, Vec<TcpStream>, u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.2:0").unwrap();
    let (pa, pb) = (a.local_addr().unwrap().port(), b.local_addr().unwrap().port());
    let mut conns = Vec::new();
    for l in [&a, &a, &b] {
        conns.push(TcpStream::connect(l.local_addr().unwrap()).unwrap());
        conns.push(l.accept().unwrap().0);
    }
    // A connection the server closes first: TIME-WAIT on the server's side.
    let c = TcpStream::connect(a.local_addr().unwrap()).unwrap();
    drop(a.accept().unwrap().0);
    drop(c);
    std::thread::sleep(std::time::Duration::from_millis(100));
    (vec![a, b], conns, pa, pb)
}

#[test]
fn a_dump_from_ss_reads_as_ss_reads_it() {
    private_netns();
    let dir = std::env::temp_dir().join(format!("sockscope-tcpdiag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("ss.dump");
    let (listeners, conns, pa, pb) = population();
    let st = Command::new("ss").args(["-ta", "-D"]).arg(&dump).status().unwrap();
    assert!(st.success());
    drop(conns);
    drop(listeners);

    let filters: Vec<Vec<String>> = vec![
        vec![],
        vec!["sport".into(), "=".into(), format!(":{pa}")],
        vec!["dport".into(), "=".into(), format!(":{pa}")],
        vec!["src".into(), "127.0.0.2".into()],
        vec![
            "(".into(),
            "sport".into(),
            "=".into(),
            format!(":{pb}"),
            "or".into(),
            "dport".into(),
            "=".into(),
            format!(":{pb}"),
            ")".into(),
        ],
        vec!["dst".into(), "127.0.0.1".into(), "and".into(), "sport".into(), "gt".into(), ":1024".into()],
    ];
    for f in &filters {
        let mut args = vec!["-Htna"];
        args.extend(f.iter().map(String::as_str));
        let ss = with_dump("ss", &dump, &args);
        let ours = with_dump(env!("CARGO_BIN_EXE_sockscope"), &dump, &args);
        assert!(ours.status.success(), "{f:?}: {}", String::from_utf8_lossy(&ours.stderr));
        let (want, got) = (rows(&String::from_utf8_lossy(&ss.stdout)), rows(&String::from_utf8_lossy(&ours.stdout)));
        assert_eq!(got, want, "filter {f:?}");
        if f.is_empty() {
            // Two listeners, three connections (both ends), one TIME-WAIT.
            assert_eq!(got.len(), 9, "{got:?}");
        }
    }
    let stderr =
        String::from_utf8_lossy(&with_dump(env!("CARGO_BIN_EXE_sockscope"), &dump, &["-Htna"]).stderr).into_owned();
    assert!(stderr.contains("read from the dump") && stderr.contains("not from the kernel"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dump_from_sockscope_reads_back_in_ss_as_the_live_sockets() {
    private_netns();
    let dir = std::env::temp_dir().join(format!("sockscope-tcpdiag-ours-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ours, theirs) = (dir.join("ours.dump"), dir.join("ss.dump"));
    let (_listeners, _conns, pa, _) = population();
    let live = rows(&ss(&["-Htna"]));
    assert!(sockscope(&["-ta", "-D", ours.to_str().unwrap()]).status.success());
    assert!(Command::new("ss").args(["-ta", "-D"]).arg(&theirs).status().unwrap().success());
    let back = with_dump("ss", &ours, &["-Htna"]);
    assert_eq!(rows(&String::from_utf8_lossy(&back.stdout)), live, "ss reads our dump as the live sockets");
    // The same messages as ss's own dump: message types in order, and per socket the
    // same inet_diag_msg identity (family, state, ports, addresses, inode).
    let shape = |bytes: &[u8]| -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 16 <= bytes.len() {
            let len = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind = u16::from_ne_bytes(bytes[at + 4..at + 6].try_into().unwrap());
            // inet_diag_msg: family, state, timer, retrans, then the id (ports, addresses,
            // interface, cookie: 48 bytes), expires, rqueue, wqueue, uid, inode.
            let id = if kind == 20 {
                [&bytes[at + 16..at + 18], &bytes[at + 20..at + 56], &bytes[at + 84..at + 88]].concat()
            } else {
                Vec::new()
            };
            out.push((kind, id));
            at += len.next_multiple_of(4).max(16);
        }
        out.sort();
        out
    };
    let (a, b) = (std::fs::read(&ours).unwrap(), std::fs::read(&theirs).unwrap());
    assert_eq!(shape(&a), shape(&b), "our dump and ss's hold the same messages");
    // With a filter the kernel runs: only what it selects.
    let only = dir.join("only.dump");
    assert!(sockscope(&["-ta", "-D", only.to_str().unwrap(), "sport", "=", &format!(":{pa}")]).status.success());
    let rows = rows(&String::from_utf8_lossy(&with_dump("ss", &only, &["-Htna"]).stdout));
    assert!(!rows.is_empty() && rows.iter().all(|r| r[3].ends_with(&format!(":{pa}"))), "{rows:?}");
    // -D - writes to stdout, and nothing else.
    let out = sockscope(&["-ta", "-D", "-"]);
    assert!(out.status.success() && out.stdout.len() > 16);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_dumps_and_wrong_uses_are_one_clear_error() {
    private_netns();
    let dir = std::env::temp_dir().join(format!("sockscope-tcpdiag-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _pop = population();
    let good = dir.join("good.dump");
    assert!(sockscope(&["-ta", "-D", good.to_str().unwrap()]).status.success());
    let bytes = std::fs::read(&good).unwrap();
    let mut flipped = bytes.clone();
    flipped[0] ^= 0xff; // the first message's length
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", bytes[..bytes.len() - 30].to_vec()),
        ("flipped", flipped),
        ("text", b"this is not a dump\n".to_vec()),
    ];
    for (name, content) in cases {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let out = with_dump(env!("CARGO_BIN_EXE_sockscope"), &path, &["-Htna"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(&format!("cannot read the TCP dump {}", path.display())), "{name}: {err}");
        assert!(out.stdout.is_empty() && !err.contains("panicked"), "{name}: {err}");
    }
    let out = with_dump(env!("CARGO_BIN_EXE_sockscope"), &dir, &["-Htna"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the TCP dump"), "a directory");
    // -D needs TCP in the selection, and a filter the kernel can run.
    let out = sockscope(&["-x", "-D", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = sockscope(&["-t", "-D", "/dev/null", "src", "unix:/run/x"]);
    assert_ne!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// iproute2's own ss test (testsuite/tests/ss/ssfilter.t) on the population its dump
/// (ss1.dump) holds, made here and dumped with `ss -D`: each of its twelve filters gives
/// the row the test expects, from sockscope as from ss.
#[test]
fn iproute2_ssfilter_cases_pass() {
    use std::net::{Ipv4Addr, SocketAddrV4};
    private_netns();
    for addr in ["10.0.0.1/32", "10.0.0.2/32"] {
        let st = Command::new("ip").args(["addr", "add", addr, "dev", "lo"]).status().unwrap();
        assert!(st.success());
    }
    let dir = std::env::temp_dir().join(format!("sockscope-ssfilter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("ss1.dump");
    let listener = TcpListener::bind("0.0.0.0:22").unwrap();
    let connect_from = |local: [u8; 4], port: u16| {
        let s = socket2_like_bind(SocketAddrV4::new(Ipv4Addr::from(local), port));
        let c = s.connect(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 22));
        (c, listener.accept().unwrap().0)
    };
    let (a, a_srv) = connect_from([10, 0, 0, 1], 36266);
    let (b, b_srv) = connect_from([10, 0, 0, 2], 50312);
    let st = Command::new("ss").args(["-ta", "-D"]).arg(&dump).status().unwrap();
    assert!(st.success());
    drop((a, a_srv, b, b_srv, listener));
    let cases: [(&[&str], &str); 12] = [
        (&["dport", "=", "22"], "ESTAB 0 0 10.0.0.1:36266 10.0.0.1:22"),
        (&["dport", "22"], "ESTAB 0 0 10.0.0.1:36266 10.0.0.1:22"),
        (&["( dport = 22 )"], "ESTAB 0 0 10.0.0.1:36266 10.0.0.1:22"),
        (&["src", "=", "0.0.0.0"], "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*"),
        (&["src", "0.0.0.0"], "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*"),
        (&["src", "0.0.0.0", "sport", "=", "22"], "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*"),
        (&["src", "0.0.0.0", "and", "sport", "=", "22"], "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*"),
        (
            &["src", "10.0.0.1", "and", "sport", "=", "22", "and", "dport", "=", "50312"],
            "ESTAB 0 0 10.0.0.1:22 10.0.0.2:50312",
        ),
        (&["src 10.0.0.1 and sport = 22 and ( dport = 50312 )"], "ESTAB 0 0 10.0.0.1:22 10.0.0.2:50312"),
        (&["src 10.0.0.1 and ( sport = 22 and dport = 50312 )"], "ESTAB 0 0 10.0.0.1:22 10.0.0.2:50312"),
        (&["( src 10.0.0.1 and sport = 22 ) and dport = 50312"], "ESTAB 0 0 10.0.0.1:22 10.0.0.2:50312"),
        (&["( src 0.0.0.0 or src 10.0.0.1 ) and dst 10.0.0.2"], "ESTAB 0 0 10.0.0.1:22 10.0.0.2:50312"),
    ];
    let squeeze = |out: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(out).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
    };
    for (filter, expected) in cases {
        let mut args = vec!["-Htna"];
        args.extend_from_slice(filter);
        let ours = with_dump(env!("CARGO_BIN_EXE_sockscope"), &dump, &args);
        let theirs = with_dump("ss", &dump, &args);
        assert!(ours.status.success(), "{filter:?}: {}", String::from_utf8_lossy(&ours.stderr));
        assert!(squeeze(&ours.stdout).iter().any(|l| l == expected), "{filter:?}: {:?}", squeeze(&ours.stdout));
        let (mut o, mut t) = (squeeze(&ours.stdout), squeeze(&theirs.stdout));
        o.sort();
        t.sort();
        assert_eq!(o, t, "{filter:?}: sockscope and ss list different rows");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP socket bound to `local` before it connects (std cannot bind a client's address).
fn socket2_like_bind(local: std::net::SocketAddrV4) -> BoundClient {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, setsockopt, socket, sockopt};
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
    setsockopt(&fd, sockopt::ReuseAddr, &true).unwrap();
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(local)).unwrap();
    BoundClient(fd)
}

struct BoundClient(std::os::fd::OwnedFd);

impl BoundClient {
    fn connect(self, to: std::net::SocketAddrV4) -> TcpStream {
        use nix::sys::socket::{SockaddrIn, connect};
        connect(std::os::fd::AsRawFd::as_raw_fd(&self.0), &SockaddrIn::from(to)).unwrap();
        TcpStream::from(self.0)
    }
}
