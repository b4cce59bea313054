//! `--sockopts` and `fds -o`: a process in a private namespace sets known options on known
//! sockets (tests/programs/sockopts.py); sockscope must report exactly what was set, and
//! the process must carry on unaffected. Where ptrace access is refused, the options are
//! null with a note, never a wrong value.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const BASE: u16 = 7600;

struct Helper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pid: u32,
    fds: Value,
}

impl Helper {
    fn start(wrapper: &[&str]) -> Helper {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/programs/sockopts.py");
        // The system's python: another user cannot reach one installed under /root.
        let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        let mut cmd = Command::new(wrapper.first().copied().unwrap_or(python));
        cmd.args(wrapper.iter().skip(1)).args(if wrapper.is_empty() { vec![] } else { vec![python] });
        let mut child =
            cmd.arg(script).arg(BASE.to_string()).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Helper { child, stdin, stdout, pid: v["pid"].as_u64().unwrap() as u32, fds: v["fds"].clone() }
    }

    /// Asks the helper to use every socket; true when they all still work.
    fn still_works(mut self) -> bool {
        self.stdin.write_all(b"go\n").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let _ = self.child.wait();
        line.trim() == "alive"
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sockopts of the helper's socket on local `port` (the first such, or the one with
/// this peer port), from `sockscope --sockopts --json`.
fn opts_by_port(doc: &Value, port: u16, peer: Option<u16>) -> Value {
    doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local"]["port"] == port && peer.is_none_or(|p| s["peer"]["port"] == p))
        .unwrap_or_else(|| panic!("no socket on port {port}: {doc}"))["sockopts"]
        .clone()
}

#[test]
fn options_read_are_exactly_those_set_and_the_process_carries_on() {
    private_netns();
    let h = Helper::start(&[]);
    let doc = sockscope_json(&["-ta", "--sockopts", "--pid", &h.pid.to_string()]);
    let at = |port: u16| opts_by_port(&doc, port, None);

    assert_eq!(at(BASE)["reuseaddr"], true);
    assert_eq!(at(BASE + 1)["reuseaddr"], false);
    assert_eq!(at(BASE + 1)["reuseport"], false);
    let pair: Vec<&Value> =
        doc["sockets"].as_array().unwrap().iter().filter(|s| s["local"]["port"] == BASE + 2).collect();
    assert_eq!(pair.len(), 2, "both SO_REUSEPORT listeners");
    assert!(pair.iter().all(|s| s["sockopts"]["reuseport"] == true));
    assert_eq!(at(BASE + 3)["v6only"], true);
    assert!(at(BASE)["v6only"].is_null(), "no IPV6_V6ONLY on an IPv4 socket");
    // The kernel keeps TCP_DEFER_ACCEPT as a count of SYN-ACK retransmits: 5 s rounds up to
    // 1 + 2 + 4 = 7 s.
    assert_eq!(at(BASE + 4)["defer_accept"], 7);
    assert_eq!(at(BASE + 4)["fastopen"], 7);

    let c = opts_by_port(&doc, BASE + 5, Some(BASE + 1));
    let expect = serde_json::json!({
        "keepalive": true, "keepidle": 33, "keepintvl": 7, "keepcnt": 4, "nodelay": true,
        "linger": true, "linger_seconds": 5, "rcvbuf_set": 12345, "rcvbuf": 24690,
        "sndbuf_set": 23456, "sndbuf": 46912, "user_timeout_ms": 4321, "congestion": "reno",
        "rcvlowat": 3, "tos": 16, "priority": 5, "mark": 42, "freebind": true,
        "bindtodevice": "lo", "nonblock": true, "cloexec": true, "reuseaddr": false, "cork": false,
    });
    for (k, v) in expect.as_object().unwrap() {
        assert_eq!(&c[k], v, "{k} of the client: {c}");
    }
    // The accepted side set nothing: defaults, and blocking.
    let a = opts_by_port(&doc, BASE + 1, Some(BASE + 5));
    assert_eq!(
        (a["keepalive"].clone(), a["nodelay"].clone(), a["nonblock"].clone()),
        (false.into(), false.into(), false.into())
    );

    // The table says the same, ss-style.
    let table = sockscope_ok(&["-tan", "--sockopts", "sport", "=", &format!(":{}", BASE + 5)]);
    assert!(
        table.contains("opts:(keepalive:33/7/4,nodelay,freebind,linger:5,rcvbuf:12345/24690,sndbuf:23456/46912,rcvlowat:3,user_timeout:4321,mark:0x2a,priority:5,tos:0x10,dev:lo,cc:reno,nonblock,cloexec)"),
        "{table}"
    );

    // fds -o, and fds --json, per fd.
    let fds = sockscope_ok(&["fds", &h.pid.to_string(), "-o"]);
    let fd = h.fds["reuseaddr"].as_u64().unwrap();
    let line = fds.lines().find(|l| l.split_whitespace().nth(3) == Some(&fd.to_string())).unwrap();
    assert!(line.contains("opts:(reuseaddr,"), "{line}");
    let j = sockscope_json(&["fds", &h.pid.to_string(), "--json"]);
    let rows = j["processes"][0]["fds"].as_array().unwrap();
    let client_fd = h.fds["client"].as_u64().unwrap();
    let row = rows.iter().find(|r| r["fd"] == client_fd).unwrap();
    assert_eq!(row["sockopts"]["keepidle"], 33, "{row}");
    let stdin = rows.iter().find(|r| r["fd"] == 0).unwrap();
    assert!(stdin.get("sockopts").is_none(), "only sockets have options: {stdin}");

    assert!(h.still_works(), "the process's sockets still work after the reads");
}

/// A process whose fd table we may read (same effective user) but which we may not attach to
/// (another real user: pidfd_getfd checks the real ids): options are null, with one note.
#[test]
fn without_ptrace_access_options_are_null_with_a_note() {
    private_netns();
    let h = Helper::start(&["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]);
    let out = Command::new("setpriv")
        .args(["--ruid=daemon", "--euid=nobody", "--rgid=daemon", "--egid=nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_sockscope"))
        .args(["-ta", "--sockopts", "--json", "--pid", &h.pid.to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sockets = doc["sockets"].as_array().unwrap();
    assert!(
        !sockets.is_empty() && sockets.iter().any(|s| !s["owners"].as_array().unwrap().is_empty()),
        "owners seen: {doc}"
    );
    for s in sockets.iter().filter(|s| !s["owners"].as_array().unwrap().is_empty()) {
        let o = s["sockopts"].as_object().unwrap();
        assert!(o.values().all(Value::is_null), "unknown, not guessed: {s}");
    }
    assert!(stderr.contains("are unknown (null): reading another process's socket needs ptrace access"), "{stderr}");
    assert!(stderr.contains(&format!("python3 ({})", h.pid)), "{stderr}");
    assert!(h.still_works());
}

/// The chapter's restart scenario (`lab addr-in-use`): with and without SO_REUSEADDR on the
/// listener, `who` and `doctor` say whether a restart can bind while TIME-WAIT remains.
#[test]
fn who_and_doctor_tell_whether_a_restart_can_bind() {
    use sockscope_lab::scenarios::addr_in_use::{AddrInUse, Options};
    private_netns();
    // doctor exits 1 on a warning: its JSON is read whatever the status.
    let doctor = || -> Value {
        let out = sockscope(&["doctor", "--json", "--interval", "0"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let findings = |doc: &Value| -> Vec<Value> {
        doc["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "no-reuseaddr").cloned().collect()
    };

    let without = AddrInUse::start(&Options { connections: 2, reuseaddr: false }).unwrap();
    let port = without.truth.port.to_string();
    let who = sockscope_ok(&["who", &format!(":{port}")]);
    assert!(
        who.contains("did not set SO_REUSEADDR: restarted, it fails with EADDRINUSE while TIME-WAIT sockets remain"),
        "{who}"
    );
    assert!(who.contains("2 TIME-WAIT sockets are on the port now"), "{who}");
    assert!(who.contains("it did not set SO_REUSEPORT, so nothing can share it"), "{who}");
    let j = sockscope_json(&["who", &format!(":{port}"), "--json"]);
    let listener =
        j["sockets"].as_array().unwrap().iter().find(|s| s["socket"]["state"] == "listening").unwrap().clone();
    assert_eq!(listener["sockopts"]["reuseaddr"], false, "{listener}");
    let doc = doctor();
    let f = findings(&doc);
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0]["severity"], "warn");
    assert_eq!(f[0]["evidence"]["port"], without.truth.port);
    assert_eq!(f[0]["evidence"]["time_wait"], 2);
    drop(without);

    let with = AddrInUse::start(&Options { connections: 2, reuseaddr: true }).unwrap();
    let port = with.truth.port.to_string();
    let who = sockscope_ok(&["who", &format!(":{port}")]);
    assert!(who.contains("set SO_REUSEADDR: restarted, it can bind port"), "{who}");
    assert!(who.contains("opts:(reuseaddr,"), "the listener's options in its row: {who}");
    let doc = doctor();
    assert!(findings(&doc).is_empty(), "{doc}");
}

/// Nagle meeting delayed ACKs, for real: a client writes each request in two small pieces
/// without TCP_NODELAY, and the doctor names it from the connection's own options and
/// tcp_info; the same exchange with TCP_NODELAY draws no finding.
#[test]
fn doctor_finds_nagle_stalls_from_options_and_tcp_info() {
    private_netns();
    const PROGRAM: &str = r#"
import socket, sys, threading
nodelay = sys.argv[1] == "1"
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
def serve():
    s, _ = l.accept()
    while True:
        need = 200
        while need:
            b = s.recv(need)
            if not b: return
            need -= len(b)
        s.sendall(b"ok")
threading.Thread(target=serve, daemon=True).start()
c = socket.create_connection(l.getsockname())
if nodelay: c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(30):
    c.sendall(b"h" * 100); c.sendall(b"b" * 100); c.recv(2)
print("ready", flush=True)
sys.stdin.readline()
"#;
    let stalls = |nodelay: bool| -> (u32, Vec<Value>) {
        let mut child = Command::new("python3")
            .args(["-c", PROGRAM, if nodelay { "1" } else { "0" }])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        let out = sockscope(&["doctor", "--json", "--interval", "0"]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        let found =
            doc["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "nagle-stall").cloned().collect();
        (pid, found)
    };
    let (pid, found) = stalls(false);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["processes"][0]["pid"], pid);
    let ev = &found[0]["evidence"];
    assert!(
        ev["srtt_us"].as_u64().unwrap() >= 20_000
            && ev["min_rtt_us"].as_u64().unwrap() * 10 <= ev["srtt_us"].as_u64().unwrap(),
        "{ev}"
    );
    assert!(ev["bytes_per_segment"].as_u64().unwrap() <= 512, "{ev}");
    let (_, found) = stalls(true);
    assert!(found.is_empty(), "TCP_NODELAY: no stall: {found:?}");
}
