//! Shared by the integration tests: a private network namespace per test, and running
//! sockscope and ss inside it.
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Output};

/// Moves this test's thread into a fresh network namespace with lo up. Fails the test
/// loudly when that is impossible: nothing skips silently.
pub fn private_netns() {
    if let Err(e) = sockscope_lab::enter_private_netns() {
        panic!("test setup failed: {e}");
    }
}

pub fn sockscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockscope")).args(args).output().expect("run sockscope")
}

/// Runs sockscope, requires success, returns stdout.
pub fn sockscope_ok(args: &[&str]) -> String {
    let out = sockscope(args);
    assert!(
        out.status.success(),
        "sockscope {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn sockscope_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&sockscope_ok(&all)).expect("valid JSON")
}

pub fn ss(args: &[&str]) -> String {
    let out = Command::new("ss").args(args).output().expect("run ss (iproute2 must be installed)");
    assert!(out.status.success(), "ss {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rows as whitespace-separated tokens, sorted, for comparing two tools' tables.
pub fn rows(text: &str) -> Vec<Vec<String>> {
    let mut r: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    r.sort();
    r
}

/// `address:port` for inet endpoints, `path#inode` for Unix ones, from sockscope's JSON.
pub fn endpoint_text(v: &Value) -> String {
    match v["kind"].as_str() {
        Some("inet") => format!("{}:{}", v["address"].as_str().unwrap_or("?"), v["port"]),
        Some("unix") => format!("{}#{}", v["name"]["path"].as_str().unwrap_or("*"), v["inode"]),
        other => format!("{other:?}"),
    }
}

pub fn fd_of(s: &impl std::os::fd::AsRawFd) -> u64 {
    s.as_raw_fd() as u64
}

pub fn inode_of(s: &impl std::os::fd::AsFd) -> u64 {
    rustix::fs::fstat(s).expect("fstat").st_ino
}

/// Waits (up to 10 s) until `ready` holds, checking every 10 ms: tests wait for the state they
/// need instead of sleeping a guessed time. Fails the test with `what` when it never holds.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "waited 10 s for {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Rows of `ss -tanH` with these extra arguments (state and filter words), in this namespace.
pub fn ss_count(args: &[&str]) -> usize {
    let mut all = vec!["-tanH"];
    all.extend_from_slice(args);
    ss(&all).lines().filter(|l| !l.trim().is_empty()).count()
}

/// tests/programs/sockets.c (known sequences of socket calls, for the tracer's tests),
/// compiled with gcc once per test binary.
pub fn program() -> &'static str {
    static BUILT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| compile("sockets.c", "trace-sockets"))
}

/// tests/programs/decoding.c (one scenario per decoding fault issue 30 found), compiled
/// once per test binary.
pub fn decoding_program() -> &'static str {
    static BUILT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| compile("decoding.c", "trace-decoding"))
}

/// tests/programs/conns.c (TCP connections with known bytes, closer and resets, for the
/// events tests), compiled once per test binary.
pub fn conns_program() -> &'static str {
    static BUILT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| compile("conns.c", "events-conns"))
}

fn compile(source: &str, binary: &str) -> String {
    let src = format!("{}/tests/programs/{source}", env!("CARGO_MANIFEST_DIR"));
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(binary);
    let built = Command::new("gcc")
        .args(["-O1", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(&out)
        .arg(src)
        .output()
        .expect("run gcc (the trace and events tests build their C test programs with it)");
    assert!(built.status.success(), "gcc failed: {}", String::from_utf8_lossy(&built.stderr));
    out.to_string_lossy().into_owned()
}

/// sockets.c's Unix scenario, with a socket path of this test binary's own.
pub fn unix_scenario() -> String {
    format!("unix={}/trace-{}.sock", env!("CARGO_TARGET_TMPDIR"), std::process::id())
}

/// A `sockscope lab` scenario held for the test's length (killed when dropped), with the
/// JSON report of what it made.
pub struct LabRun(pub std::process::Child, pub Value);

impl LabRun {
    pub fn start(args: &[&str]) -> LabRun {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .arg("lab")
            .args(args)
            .args(["--hold", "120", "--json"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the lab");
        let mut line = String::new();
        let out = child.stdout.take().expect("the lab's stdout");
        std::io::BufReader::new(out).read_line(&mut line).expect("the lab's report");
        let report: Value = serde_json::from_str(&line).expect("the lab's JSON");
        LabRun(child, report)
    }

    pub fn pid(&self) -> u64 {
        self.1["pid"].as_u64().unwrap_or(0)
    }
}

impl Drop for LabRun {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// A namespace's inode, from a process in it.
pub fn netns_inode(pid: u32) -> u64 {
    netns_inode_at(&format!("/proc/{pid}/ns/net"))
}

/// The inode of the calling thread's namespace (private_netns moves the test's thread alone).
pub fn own_netns_inode() -> u64 {
    netns_inode_at("/proc/thread-self/ns/net")
}

fn netns_inode_at(path: &str) -> u64 {
    let link = std::fs::read_link(path).expect("ns link");
    let text = link.to_string_lossy().into_owned();
    text.trim_start_matches("net:[").trim_end_matches(']').parse().expect("net:[INODE]")
}

/// A Python `script` run by `prefix` (`unshare -n`: in a namespace of its own, loopback up),
/// stdin and stdout piped; the script prints its pid first. Returns the child, its stdout
/// and that pid.
pub fn python_in(
    prefix: &[&str],
    script: &str,
) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>, u32) {
    let mut child = std::process::Command::new(prefix[0])
        .args(&prefix[1..])
        .args(["sh", "-c", "ip link set lo up && exec python3 -u -c \"$0\"", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 in a namespace of its own");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut pid = String::new();
    std::io::BufRead::read_line(&mut out, &mut pid).expect("its pid");
    let pid: u32 = pid.trim().parse().unwrap_or_else(|_| panic!("its pid: {pid:?}"));
    (child, out, pid)
}

/// A Python server and client in a namespace of its own (`prefix` runs it there): connections
/// to 127.0.0.1:PORT, each sending SIZE bytes to the server and closed by the client, over and
/// over until a line on its stdin.
pub struct Looping {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    pub pid: u32,
}

impl Looping {
    pub fn start(prefix: &[&str], port: u16, size: usize) -> Looping {
        let script = format!(
            r#"
import os, select, socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", {port})); l.listen(16)
print(os.getpid(), flush=True)
while not select.select([sys.stdin], [], [], 0.05)[0]:
    c = socket.create_connection(("127.0.0.1", {port})); s, _ = l.accept()
    c.sendall(b"x" * {size}); n = 0
    while n < {size}: n += len(s.recv({size} - n))
    c.close(); s.close()
"#
        );
        let (mut child, _, pid) = python_in(prefix, &script);
        Looping { stdin: child.stdin.take(), child, pid }
    }
}

impl Drop for Looping {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = std::io::Write::write_all(&mut stdin, b"stop\n");
        }
        let _ = self.child.wait();
    }
}

/// A Python script holding sockets for a test: started, its first line read (what it made,
/// e.g. a port); it exits when its stdin closes, on drop.
pub struct Holder(pub std::process::Child);

impl Holder {
    pub fn start(script: &str) -> (Holder, String) {
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("its first line");
        (Holder(child), line.trim().to_string())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}
