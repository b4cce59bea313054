//! Hostile input: a local user controls process names, socket paths, interface names and
//! (on a careless host) /etc/services, /etc/hosts and /etc/passwd, and sockscope runs as
//! root. This plants every one of them with terminal escapes, a C1 control and a bidi
//! override, runs every command in every format, and checks that nothing raw reaches
//! stdout or stderr, that every suggested command is shell-quoted, and that JSON keeps the
//! exact bytes. Alone in its binary: it adds an interface and bind-mounts /etc files (in a
//! mount namespace of the sockscope process only).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::process::{Child, Command, Output, Stdio};

/// A window title change, a bell, a C1 CSI, DEL and a right-to-left override.
const EVIL: &str = "\x1b]0;pw\x07\u{9b}\x7f\u{202e}";
/// Fits the kernel's 15-byte process name.
const EVIL_COMM: &str = "\x1b]0;pw\x07\u{202e}x";
/// Interface names: at most 15 bytes, no '/', ':' or spaces.
const EVIL_IF: &str = "v\x1b]0;i\x07\u{202e}";

fn is_raw_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || sockscope_core::text::is_bidi_control(c)
}

fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(c) = text.chars().find(|c| is_raw_control(*c)) {
        panic!("{what}: raw {c:?} reached the terminal in:\n{text}");
    }
}

struct Planted {
    dir: sockscope_lab::sockets::TempDir,
    port: u16,
    holder: Child,
    stale: String,
    live_unix: Vec<u8>,
    etc: String,
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = Command::new("ip").args(["link", "del", EVIL_IF]).status();
    }
}

fn plant() -> Planted {
    let dir = sockscope_lab::sockets::tempdir().unwrap();
    // An interface with a hostile name, and a listener bound to it (the %dev column).
    let ip = Command::new("ip").args(["link", "add", EVIL_IF, "type", "veth", "peer", "name", "p0"]).output().unwrap();
    assert!(ip.status.success(), "ip link add: {}", String::from_utf8_lossy(&ip.stderr));
    let bound = TcpListener::bind("127.0.0.1:0").unwrap();
    sockscope_lab::sockets::bind_to_device(&bound, EVIL_IF).unwrap();
    // A listener with a hostile Unix path that is not UTF-8 (its bytes must survive JSON).
    let mut live_unix = format!("{dir}/live{EVIL}").into_bytes();
    live_unix.extend_from_slice(b"\xff.sock");
    let unix = UnixListener::bind(OsStr::from_bytes(&live_unix)).unwrap();
    // A stale socket file whose name is also a shell injection.
    let stale = format!("{dir}/x{EVIL}; touch PWNED; b.sock");
    drop(UnixListener::bind(&stale).unwrap());
    // A process with a hostile name holding all three: exec sleep through a symlink so named.
    let exe = format!("{dir}/{EVIL_COMM}");
    std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
    // Outside the ephemeral range (the test's own namespace has the default one): ss and
    // sockscope name no port inside it, so the planted service name would not show.
    let tcp = TcpListener::bind("127.0.0.1:7999").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let holder = Command::new(&exe)
        .arg("600")
        .stdin(Stdio::from(OwnedFd::from(tcp)))
        .stdout(Stdio::from(OwnedFd::from(unix)))
        .stderr(Stdio::from(OwnedFd::from(bound)))
        .spawn()
        .unwrap();
    // /etc files a careless host might have: a service, a host and a user with hostile names.
    let etc = format!("{dir}/etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::write(format!("{etc}/services"), format!("s{EVIL} {port}/tcp\n")).unwrap();
    std::fs::write(format!("{etc}/hosts"), format!("127.0.0.1 h{EVIL}\n")).unwrap();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let passwd: String = passwd
        .lines()
        .map(|l| if l.starts_with("root:") { format!("r{EVIL}{}\n", &l[4..]) } else { format!("{l}\n") })
        .collect();
    std::fs::write(format!("{etc}/passwd"), passwd).unwrap();
    sockscope_lab::sockets::wait_for_exec(holder.id()).unwrap();
    Planted { dir, port, holder, stale, live_unix, etc }
}

/// sockscope with the hostile /etc files bind-mounted over the real ones, in a mount
/// namespace of its own.
fn run(p: &Planted, args: &[&str]) -> Output {
    let script = format!(
        "for f in services hosts passwd; do mount --bind {etc}/$f /etc/$f || exit 99; done; exec \"$@\"",
        etc = p.etc
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, "sh", env!("CARGO_BIN_EXE_sockscope")])
        .args(args)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(99), "setting up the hostile /etc failed");
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn json(p: &Planted, args: &[&str]) -> Value {
    let out = run(p, args);
    assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    assert_terminal_safe(&format!("{args:?} stdout"), &out.stdout);
    assert_terminal_safe(&format!("{args:?} stderr"), &out.stderr);
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap_or_default();
    serde_json::from_str(if args.contains(&"--jsonl") { first } else { &text })
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

#[test]
fn nothing_hostile_reaches_the_terminal_and_json_keeps_the_bytes() {
    private_netns();
    let p = plant();
    let pid = p.holder.id().to_string();
    let port = format!(":{}", p.port);
    let stale = p.stale.clone();
    let filter_file = format!("{}/filter", p.dir);
    std::fs::write(&filter_file, format!("sport = :1 or dev = {EVIL}\n")).unwrap();
    let dir = p.dir.to_string();

    let text_runs: Vec<Vec<&str>> = vec![
        vec!["-tanp"],
        vec!["-tlp", "-e", "-o"],
        vec!["-tlpr"],
        vec!["-xlp"],
        vec!["-anp"],
        vec!["-ap", "-m", "-i"],
        vec!["-s"],
        vec!["-tan", "--summary-by", "process"],
        vec!["fds", &pid],
        vec!["fds", &pid, "--peers"],
        vec!["fds", "-i"],
        vec!["fds", "--top", "5"],
        vec!["who", &port],
        vec!["who", &stale],
        vec!["doctor", "--interval", "0", "--stale-dir", &dir],
        // Errors that echo what the user typed.
        vec!["-t", "dev", "=", EVIL],
        vec!["-t", "sport", "=", EVIL],
        vec!["-t", "-F", &filter_file],
        vec!["who", EVIL],
        vec!["fds", EVIL],
        vec!["doctor", "--set", EVIL],
    ];
    for args in &text_runs {
        let out = run(&p, args);
        assert_terminal_safe(&format!("{args:?} stdout"), &out.stdout);
        assert_terminal_safe(&format!("{args:?} stderr"), &out.stderr);
    }

    // The escaped forms are there, so the test sees the planted names at all.
    let table = String::from_utf8(run(&p, &["-tlp"]).stdout).unwrap();
    assert!(table.contains("\\x1b]0;pw\\x07\\u{202e}x"), "escaped process name missing: {table}");
    assert!(table.contains("%v\\x1b]0;i\\x07\\u{202e}"), "escaped interface name missing: {table}");
    assert!(table.contains("s\\x1b]0;pw\\x07\\x9b\\x7f\\u{202e}"), "escaped service name missing: {table}");
    let who = String::from_utf8(run(&p, &["who", &stale]).stdout).unwrap();
    // The suggested command is shell-quoted: pasting it removes one file and runs nothing else.
    assert!(who.contains("(rm -- '") && who.contains("; touch PWNED; b.sock')"), "unquoted rm: {who}");
    let doctor = json(&p, &["doctor", "--json", "--interval", "0", "--stale-dir", &dir]);
    let stale_fixes: Vec<&str> = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "stale-unix-sockets")
        .map(|f| f["fix"].as_str().unwrap())
        .collect();
    assert_eq!(stale_fixes.len(), 1, "only the stale file, not the live listener: {stale_fixes:?}");
    assert!(
        stale_fixes[0].contains("rm -- '") && stale_fixes[0].contains("; touch PWNED; b.sock')"),
        "{stale_fixes:?}"
    );

    // JSON: parses, and the planted names come back exactly.
    let doc = json(&p, &["-tlp", "--json"]);
    let owners: Vec<&Value> =
        doc["sockets"].as_array().unwrap().iter().flat_map(|s| s["owners"].as_array().unwrap()).collect();
    assert!(owners.iter().any(|o| o["command"] == EVIL_COMM), "exact command missing: {doc}");
    let doc = json(&p, &["-xl", "--json"]);
    let live = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local"]["name"]["path_bytes"].is_array())
        .unwrap_or_else(|| panic!("no path_bytes for the non-UTF-8 path: {doc}"));
    let bytes: Vec<u8> = serde_json::from_value(live["local"]["name"]["path_bytes"].clone()).unwrap();
    assert_eq!(bytes, p.live_unix);
    for args in [
        vec!["-anp", "--jsonl"],
        vec!["fds", &pid, "--json"],
        vec!["who", &port, "--json"],
        vec!["doctor", "--json", "--interval", "0", "--stale-dir", &dir],
        vec!["-tan", "--summary-by", "process", "--json"],
    ] {
        json(&p, &args);
    }
    let fds = json(&p, &["fds", &pid, "--json"]);
    assert_eq!(fds["processes"][0]["command"], EVIL_COMM);
}

/// Security issue 16: a name holding the byte 0xFF and one literally named `\xff` looked
/// the same in the table and in JSON.
#[test]
fn names_that_are_not_utf8_stay_unambiguous() {
    private_netns();
    let dir = sockscope_lab::sockets::tempdir().unwrap();
    let spawn = |name: &[u8]| {
        let mut path = format!("{dir}/").into_bytes();
        path.extend_from_slice(name);
        let path = OsStr::from_bytes(&path).to_owned();
        std::os::unix::fs::symlink("/bin/sleep", &path).unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let child = Command::new(&path).arg("60").stdin(Stdio::from(OwnedFd::from(l))).spawn().unwrap();
        (child, port)
    };
    let (mut raw, raw_port) = spawn(b"b\xffA");
    let (mut literal, literal_port) = spawn(b"b\\xffA");
    for c in [&raw, &literal] {
        sockscope_lab::sockets::wait_for_exec(c.id()).unwrap();
    }
    let table = sockscope_ok(&["-tlnp"]);
    let line = |port: u16| table.lines().find(|l| l.contains(&format!(":{port} "))).unwrap().to_string();
    assert!(line(raw_port).contains("((\"b\\xffA\""), "{table}");
    assert!(line(literal_port).contains("((\"b\\\\xffA\""), "{table}");
    let doc = sockscope_json(&["-tlp"]);
    let owner = |port: u16| {
        doc["sockets"].as_array().unwrap().iter().find(|s| s["local"]["port"] == port).unwrap()["owners"][0].clone()
    };
    let bytes: Vec<u8> = serde_json::from_value(owner(raw_port)["command_bytes"].clone()).unwrap();
    assert_eq!(bytes, b"b\xffA");
    assert_eq!(owner(literal_port)["command"], "b\\xffA");
    assert!(owner(literal_port).get("command_bytes").is_none());
    for c in [&mut raw, &mut literal] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
