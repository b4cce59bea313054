//! Least privilege: each row of docs/cli.md's capability table, run as `nobody` with exactly
//! that row's capabilities (setpriv), gets root's answer about what the test made; and,
//! without them, does not (so a row that lists too few capabilities, or more than the
//! command needs to differ from an unprivileged run, fails here). The rows are read from
//! the document itself, so the table and the test cannot drift apart.
//!
//! What the tests make is root's (the test runs as root) and lives in the test's own network
//! namespace: the unprivileged runs must reach across users, as on a real host.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::{Holder, private_netns};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The capabilities docs/cli.md's table gives the row whose command cell starts with
/// `command` (as written between the first backticks), as setpriv names them.
fn caps_for(command: &str) -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md")).expect("docs/cli.md");
    let section = doc.split("## Privileges").nth(1).expect("docs/cli.md has a Privileges section");
    let row = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .find(|l| l.trim_start_matches("| `").starts_with(command) && l[3..].split('`').next() == Some(command))
        .unwrap_or_else(|| panic!("docs/cli.md's capability table has no row for `{command}`"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let caps = cells[2];
    if caps == "none" {
        return Vec::new();
    }
    caps.split(", ")
        .map(|c| {
            let name = c.strip_prefix("CAP_").unwrap_or_else(|| panic!("not a capability: {c:?} in {row}"));
            name.to_lowercase()
        })
        .collect()
}

/// A copy of the binary that `nobody` may run (the build tree may sit under a private
/// directory such as /root).
fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sockscope-privileges-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("a fresh directory");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let bin = dir.join("sockscope");
        std::fs::copy(env!("CARGO_BIN_EXE_sockscope"), &bin).expect("copy the binary");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        bin
    })
}

/// `sockscope ARGS` as root, or as nobody with exactly `caps` (None: as root).
fn command(caps: Option<&[String]>, args: &[&str]) -> Command {
    match caps {
        None => {
            let mut c = Command::new(binary());
            c.args(args);
            c
        }
        Some(caps) => {
            let set: String = caps.iter().map(|c| format!(",+{c}")).collect();
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                &format!("--inh-caps=-all{set}"),
                &format!("--ambient-caps=-all{set}"),
                &format!("--bounding-set=-all{set}"),
                "--",
            ])
            .arg(binary())
            .args(args);
            c
        }
    }
}

fn run(caps: Option<&[String]>, args: &[&str]) -> Output {
    command(caps, args).output().expect("run sockscope (setpriv is util-linux's)")
}

fn stdout(caps: Option<&[String]>, args: &[&str]) -> String {
    let out = run(caps, args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Root's answer, nobody's with the row's capabilities, and nobody's with none.
fn three(row: &str, args: &[&str]) -> (String, String, String) {
    let caps = caps_for(row);
    (stdout(None, args), stdout(Some(&caps), args), stdout(Some(&[]), args))
}

/// A root process in this namespace holding a listener and one connection to it (both ends).
fn server() -> (Holder, u16) {
    let (h, port) = Holder::start(
        "import socket, sys\n\
         l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(8)\n\
         c = socket.create_connection(l.getsockname()); a, _ = l.accept()\n\
         print(l.getsockname()[1], flush=True)\n\
         sys.stdin.read()\n",
    );
    (h, port.parse().expect("port"))
}

#[test]
fn the_socket_table_needs_no_capability() {
    private_netns();
    let (_h, port) = server();
    let filter = format!("sport = :{port} or dport = :{port}");
    let (root, nobody, _) = three("sockscope -tan", &["-tan", &filter]);
    assert_eq!(root.lines().count(), 4, "header, listener and both ends: {root}");
    assert_eq!(nobody, root);
    let (root, nobody, _) = three("sockscope -tan", &["-tnie", &filter]);
    let fixed = |t: &str| -> Vec<String> {
        // -i's timers (lastsnd…) move between the two runs; the rest is fixed.
        t.split_whitespace().filter(|w| !w.starts_with("last") && !w.starts_with("rto:")).map(String::from).collect()
    };
    assert_eq!(fixed(&nobody), fixed(&root));
}

#[test]
fn owners_need_ptrace_and_dac_read_search() {
    private_netns();
    let (h, port) = server();
    let pid = h.0.id().to_string();
    let filter = format!("sport = :{port} or dport = :{port}");
    let row = "sockscope -p";
    let (root, nobody, bare) = three(row, &["-tanp", &filter]);
    assert!(root.contains(&format!("pid={pid},")), "root sees the owner: {root}");
    assert_eq!(nobody, root);
    assert!(!bare.contains(&format!("pid={pid},")), "without capabilities the owner is unknown: {bare}");

    let sockets_of =
        |t: &str| -> Vec<String> { t.lines().filter(|l| l.contains(&format!(":{port}"))).map(String::from).collect() };
    let (root, nobody, bare) = three(row, &["fds", &pid]);
    assert_eq!(sockets_of(&root).len(), 3, "fds lists the three sockets: {root}");
    assert_eq!(sockets_of(&nobody), sockets_of(&root));
    assert!(sockets_of(&bare).is_empty());

    let (root, nobody, bare) = three(row, &["who", &format!(":{port}")]);
    assert!(root.contains(&pid), "{root}");
    assert_eq!(nobody, root);
    assert_ne!(bare, root);

    // record: the capture taken as nobody, replayed by root, names the same owners.
    let caps = caps_for(row);
    let capture = run(Some(&caps), &["record", "-o", "-", "--window", "0"]);
    assert!(capture.status.success(), "{}", String::from_utf8_lossy(&capture.stderr));
    let file = std::env::temp_dir().join(format!("sockscope-privileges-{}-{port}.cap", std::process::id()));
    std::fs::write(&file, &capture.stdout).expect("write the capture");
    let replayed = stdout(None, &["--from", file.to_str().expect("utf-8"), "-tanp", &filter]);
    std::fs::remove_file(&file).expect("remove the capture");
    assert_eq!(replayed, stdout(None, &["-tanp", &filter]));
}

#[test]
fn socket_options_need_ptrace_and_dac_read_search() {
    private_netns();
    let (_h, port) = server();
    let filter = format!("sport = :{port} or dport = :{port}");
    let (root, nobody, bare) = three("sockscope --sockopts", &["-tn", "--sockopts", &filter]);
    assert!(root.contains("opts:("), "{root}");
    assert_eq!(nobody, root);
    assert!(!bare.contains("opts:("), "{bare}");
}

#[test]
fn destroying_needs_net_admin() {
    private_netns();
    let (_h, port) = server();
    let filter = format!("dport = :{port}");
    let bare = run(Some(&[]), &["-tnK", &filter]);
    assert!(!bare.status.success());
    assert_eq!(common::ss_count(&["state", "established", &filter]), 1, "nothing destroyed without the capability");
    let caps = caps_for("sockscope -K");
    let out = run(Some(&caps), &["-tnK", &filter]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(common::ss_count(&["state", "established", &filter]), 0, "ss sees it destroyed");
}

/// `trace -p` of a root process: whether it attached, and what it printed (once attached,
/// the process makes one connect and exits).
fn traced_connect(caps: Option<&[String]>) -> (bool, String) {
    let (mut h, pid) = Holder::start(
        "import os, socket, sys\nprint(os.getpid(), flush=True)\nsys.stdin.readline()\n\
         s = socket.socket(); s.connect_ex(('127.0.0.1', 9))\n",
    );
    let mut trace = command(caps, &["trace", "-e", "trace=connect", "-p", &pid])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("trace");
    let mut lines = BufReader::new(trace.stderr.take().expect("stderr")).lines();
    let mut seen = String::new();
    let mut attached = false;
    for line in lines.by_ref() {
        let line = line.expect("stderr");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("attached") {
            attached = true;
            break;
        }
        if line.contains("error") {
            break;
        }
    }
    if attached {
        writeln!(h.0.stdin.as_mut().expect("stdin"), "go").expect("tell it to connect");
        for line in lines {
            seen.push_str(&line.expect("stderr"));
            seen.push('\n');
        }
    }
    let _ = trace.kill();
    let _ = trace.wait();
    drop(h);
    (attached, seen)
}

#[test]
fn attaching_trace_needs_ptrace() {
    private_netns();
    let (_, root) = traced_connect(None);
    assert!(root.contains("connect("), "root's trace: {root}");
    let caps = caps_for("sockscope trace -p PID");
    let (attached, nobody) = traced_connect(Some(&caps));
    assert!(attached && nobody.contains("connect("), "{nobody}");
    let (attached, bare) = traced_connect(Some(&[]));
    assert!(!attached, "{bare}");
    assert!(bare.contains("CAP_SYS_PTRACE"), "the refusal names what is missing: {bare}");
}

/// `events --life --count 2` of the connections a server on `port` accepted.
fn lives(caps: Option<&[String]>, port: u16) -> std::process::Child {
    command(caps, &["events", "--life", "--count", "2", &format!("sport = :{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("events")
}

#[test]
fn events_need_perfmon_dac_read_search_and_ipc_lock() {
    private_netns();
    // A root server that accepts each connection and closes it at once.
    let (h, port) = Holder::start(
        "import socket, sys, threading\n\
         l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(64)\n\
         def serve():\n    while True:\n        a, _ = l.accept(); a.close()\n\
         threading.Thread(target=serve, daemon=True).start()\n\
         print(l.getsockname()[1], flush=True)\nsys.stdin.read()\n",
    );
    let port: u16 = port.parse().expect("port");
    let mut caps = caps_for("sockscope events");
    let tracefs_mounted = std::fs::read_to_string("/proc/mounts")
        .expect("mounts")
        .lines()
        .any(|l| l.split(' ').nth(2) == Some("tracefs"));
    if !tracefs_mounted {
        // The table's note: a private tracefs instance needs CAP_SYS_ADMIN.
        caps.push("sys_admin".into());
    }
    let (mut root, mut nobody) = (lives(None, port), lives(Some(&caps), port));
    // Connections until both have seen two lives (neither says when it is ready).
    let deadline = Instant::now() + Duration::from_secs(60);
    while [&mut root, &mut nobody].iter_mut().any(|c| c.try_wait().ok().flatten().is_none()) {
        assert!(Instant::now() < deadline, "events did not see two connections in 60 s");
        if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = std::io::Read::read(&mut &c, &mut [0u8; 1]);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = h.0.id().to_string();
    drop(h);
    for (who, child) in [("root", root), ("nobody", nobody)] {
        let out = child.wait_with_output().expect("events output");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let rows: Vec<Vec<&str>> =
            text.lines().filter(|l| l.contains(&format!(":{port} "))).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows.len(), 2, "{who}: {text}");
        // Each life names the process that held the server's end, and its command.
        for r in &rows {
            assert_eq!((r[1], r[2]), (server.as_str(), "python3"), "{who}: {text}");
        }
        assert!(!text.contains("destroy records alone"), "{who} used the tracepoints: {text}");
    }
    let bare = run(Some(&[]), &["events", "--duration", "1"]);
    assert!(!bare.status.success(), "without capabilities state changes cannot be followed");
}

/// The close-wait-leak findings `serve`, run as root or as nobody with `caps`, exports once
/// it has any (the doctor's rules judge from a collection's second look on).
fn exported_close_wait_findings(caps: Option<&[String]>) -> u64 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let listen = format!("127.0.0.1:{port}");
    let mut serve = command(caps, &["serve", "--listen", &listen, "--min-interval", "0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("request");
            let mut body = String::new();
            std::io::Read::read_to_string(&mut s, &mut body).expect("response");
            let n = close_wait_findings(&body);
            if n > 0 {
                break n;
            }
        }
        assert!(Instant::now() < deadline, "serve exported no close-wait finding in 60 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = serve.kill();
    let _ = serve.wait();
    found
}

/// A root process whose listener accepts every connection and never closes one: each
/// connection its client closes stays in CLOSE-WAIT.
fn never_closes() -> (Holder, u16) {
    let (h, port) = Holder::start(
        "import socket, sys, threading\n\
         l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(64)\n\
         kept = []\n\
         def serve():\n    while True:\n        kept.append(l.accept())\n\
         threading.Thread(target=serve, daemon=True).start()\n\
         print(l.getsockname()[1], flush=True)\nsys.stdin.read()\n",
    );
    (h, port.parse().expect("port"))
}

/// The close-wait-leak findings of a scrape, over every severity.
fn close_wait_findings(body: &str) -> u64 {
    body.lines()
        .filter(|l| l.starts_with("sockscope_finding{rule=\"close-wait-leak\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn the_exporter_needs_what_the_unit_grants() {
    private_netns();
    // Two processes leaking CLOSE-WAIT: the doctor's rule finds each (one finding per
    // process) when it can tell whose sockets they are, one of unknown owner when not.
    let (_a, port_a) = never_closes();
    let (_b, port_b) = never_closes();
    for port in [port_a, port_b] {
        drop(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
    common::wait_until("two sockets in CLOSE-WAIT", || common::ss_count(&["state", "close-wait"]) == 2);
    let caps = caps_for("sockscope serve");
    assert_eq!(exported_close_wait_findings(None), 2, "root: one finding per leaking process");
    assert_eq!(exported_close_wait_findings(Some(&caps)), 2);
    assert_eq!(exported_close_wait_findings(Some(&[])), 1, "without capabilities the owners are unknown");
    // The unit grants exactly that set.
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd/sockscope-serve.service"),
    )
    .expect("the unit");
    let granted = |key: &str| -> Vec<String> {
        let line = unit.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("the unit sets {key}"));
        let mut v: Vec<String> =
            line[key.len()..].split_whitespace().map(|c| c.trim_start_matches("CAP_").to_lowercase()).collect();
        v.sort();
        v
    };
    let mut want = caps.clone();
    want.sort();
    assert_eq!(granted("AmbientCapabilities="), want);
    assert_eq!(granted("CapabilityBoundingSet="), want);
}

#[test]
fn entering_a_named_namespace_needs_sys_admin() {
    private_netns();
    let name = format!("sockscope-priv-{}", std::process::id());
    let ip = |args: &[&str]| {
        let ok = Command::new("ip").args(args).status().expect("ip").success();
        assert!(ok, "ip {args:?}");
    };
    ip(&["netns", "add", &name]);
    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _gone = Gone(name.clone());
    ip(&["-n", &name, "link", "set", "lo", "up"]);
    let mut inside = Command::new("ip")
        .args(["netns", "exec", &name, "python3", "-c"])
        .arg("import socket, sys\nl = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\nprint(l.getsockname()[1], flush=True)\nsys.stdin.read()\n")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("a listener in the namespace");
    let mut port = String::new();
    BufReader::new(inside.stdout.take().expect("stdout")).read_line(&mut port).expect("its port");
    let filter = format!("sport = :{}", port.trim());
    let (root, nobody, bare) = three("sockscope --netns NAME", &["--netns", &name, "-tln", &filter]);
    drop(inside.stdin.take());
    let _ = inside.wait();
    assert!(root.contains(&name), "root lists the namespace's listener: {root}");
    assert_eq!(nobody, root);
    assert!(!bare.contains(&name), "{bare}");
    // --all-netns without CAP_SYS_PTRACE cannot read root's processes' namespaces: it says so.
    let caps = caps_for("sockscope --netns NAME");
    let out = run(Some(&caps), &["--all-netns", "-tln"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("could not be read") && said.contains("CAP_SYS_PTRACE"), "{said}");
}
