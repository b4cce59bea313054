//! `sockscope trace` against strace (`-yy`, the oracle for every call and every fd's
//! connection), on a C program with known socket sequences (tests/programs/sockets.c, built
//! with gcc) run in a private network namespace; and `-p` against a running server that
//! must never notice it was traced.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every scenario of sockets.c but `serve`, in one run.
const SCENARIOS: &[&str] = &["tcp4", "tcp6", "refused", "nonblocking", "udp", "pass_fd", "fork", "thread", "netlink"];

/// Lines with what differs from run to run replaced by names given in order of first
/// appearance (inodes, ephemeral ports, pids → N1, N2, …; tracee addresses → ADDR), so two
/// runs compare exactly where they must agree: calls, order, fixed ports, lengths, errors.
fn canonical(text: &str) -> Vec<String> {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut canon = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '0' && chars.get(i + 1) == Some(&'x') {
                let end = (i + 2..chars.len()).find(|&j| !chars[j].is_ascii_hexdigit()).unwrap_or(chars.len());
                canon.push_str("ADDR");
                i = end;
                continue;
            }
            if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
                let end = (i..chars.len()).find(|&j| !chars[j].is_ascii_digit()).unwrap_or(chars.len());
                let number: String = chars[i..end].iter().collect();
                let before: String = chars[..i].iter().collect();
                let pid_like = ["[pid", "si_pid=", "nl_pid=", "ROUTE:"].iter().any(|p| before.trim_end().ends_with(p));
                if number.len() >= 4 || pid_like {
                    let next = format!("N{}", names.len() + 1);
                    canon.push_str(names.entry(number).or_insert(next));
                } else {
                    canon.push_str(&number);
                }
                i = end;
                continue;
            }
            canon.push(c);
            i += 1;
        }
        out.push(canon);
    }
    out
}

/// Our text without what strace cannot show: ` -> comm[pid]` after a connection whose
/// other end is known. Returns the text and the peers seen.
fn without_peers(text: &str) -> (String, Vec<(String, i32)>) {
    let mut peers = Vec::new();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" -> ") {
        let after = &rest[at + 4..];
        // A peer is `comm[pid]>`; `->` inside an address has no spaces around it.
        match after.find("]>") {
            Some(end) if after[..end].contains('[') && !after[..end].contains(' ') => {
                let (comm, pid) = after[..end].split_once('[').unwrap();
                peers.push((comm.to_string(), pid.parse().unwrap()));
                out.push_str(&rest[..at]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..at + 4]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, peers)
}

fn run_in_netns(cmd: &mut Command) -> std::process::Output {
    cmd.stdin(Stdio::null()).output().expect("run")
}

#[test]
fn every_call_and_every_fd_connection_is_what_strace_yy_shows() {
    private_netns();
    let unix = unix_scenario();
    let mut args: Vec<&str> = SCENARIOS.to_vec();
    args.push(&unix);
    let theirs =
        run_in_netns(Command::new("strace").args(["-f", "-qq", "-yy", "-e", "trace=%net", program()]).args(&args));
    let ours = run_in_netns(
        Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "-f", "-qq", "--", program()]).args(&args),
    );
    assert!(theirs.status.success() && ours.status.success(), "{ours:?}");
    let theirs_text = String::from_utf8_lossy(&theirs.stderr).into_owned();
    let ours_text = String::from_utf8_lossy(&ours.stderr).into_owned();
    // strace 6.1 shows SO_RCVTIMEO's timeval as bytes; we decode it.
    assert!(ours_text.contains("SO_RCVTIMEO_OLD, {tv_sec=2, tv_usec=0}, 16"), "{ours_text}");
    let ours_text = ours_text.replace("{tv_sec=2, tv_usec=0}", r#""\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0""#);
    let (ours_bare, peers) = without_peers(&ours_text);
    // The child's and the thread's calls are marked as theirs.
    for port in ["htons(76)", "htons(77)"] {
        let line = ours_text.lines().find(|l| l.contains("connect(") && l.contains(port)).unwrap();
        assert!(line.starts_with("[pid "), "{line}");
    }
    // Whether other lines get `[pid N]` depends on when each tracer learns that the thread
    // or child ended (the order the kernel reports stops in): not compared.
    let unprefixed = |text: &str| -> String {
        let mut out = Vec::new();
        for l in text.lines() {
            match l.strip_prefix("[pid ").and_then(|l| l.split_once("] ")) {
                // strace aligns the result counting the prefix: without it, one space.
                Some((_, rest)) => out.push(rest.split_whitespace().collect::<Vec<_>>().join(" ")),
                None if l.contains(")  ") => out.push(l.split_whitespace().collect::<Vec<_>>().join(" ")),
                None => out.push(l.to_string()),
            }
        }
        out.join("\n")
    };
    let (ours_lines, theirs_lines) = (canonical(&unprefixed(&ours_bare)), canonical(&unprefixed(&theirs_text)));
    for (n, (o, t)) in ours_lines.iter().zip(&theirs_lines).enumerate() {
        assert_eq!(o, t, "line {} differs\nours:\n{ours_text}\nstrace:\n{theirs_text}", n + 1);
    }
    assert_eq!(ours_lines.len(), theirs_lines.len(), "ours:\n{ours_text}\nstrace:\n{theirs_text}");
    // Every scenario left its mark (a test of the test).
    for needle in
        ["ECONNREFUSED", "EINPROGRESS", "EAGAIN", "SCM_RIGHTS", "[pid", "UNIX-STREAM:[", "TCPv6:[[::1]:72", "UDP:["]
    {
        assert!(theirs_text.contains(needle), "{needle} missing from\n{theirs_text}");
    }
    // What strace cannot show: the process at the other end. Every connection here is
    // between the program and itself (or its child), so each peer is the program.
    assert!(peers.len() >= 10, "{ours_text}");
    assert!(peers.iter().all(|(comm, _)| comm == "trace-sockets"), "{peers:?}");
}

/// The events of `sockscope trace --jsonl -f PROGRAM SCENARIOS…`.
fn json_events(scenarios: &[&str]) -> (Vec<Value>, std::process::ExitStatus) {
    let out = run_in_netns(
        Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "-f", "--jsonl", "--", program()]).args(scenarios),
    );
    let text = String::from_utf8_lossy(&out.stderr);
    let events = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    (events, out.status)
}

#[test]
fn json_lines_carry_each_calls_fields_and_the_connections() {
    private_netns();
    let (events, status) = json_events(&["tcp4", "fork"]);
    assert!(status.success());
    let calls: Vec<&Value> = events.iter().filter(|e| e["event"] == "call").collect();
    let main_pid = calls[0]["pid"].as_i64().unwrap();
    for c in &calls {
        assert!(c["time"].as_f64().unwrap() > 1.6e9, "{c}");
        assert!(c["duration"].as_f64().unwrap() >= 0.0, "{c}");
        assert!(c["args"].is_array() && c["tid"].is_i64(), "{c}");
    }
    let find = |name: &str| calls.iter().find(|c| c["syscall"] == name).copied().unwrap_or_else(|| panic!("{name}"));
    // The listener's accept returns the server's end of the connection.
    let accept = find("accept4");
    let conn = &accept["ret_fd"]["socket"];
    assert_eq!(conn["proto"], "TCP");
    assert_eq!(conn["local"], "127.0.0.1:71");
    assert!(conn["remote"].as_str().unwrap().starts_with("127.0.0.1:"), "{accept}");
    assert_eq!(accept["fd"]["socket"]["local"], "127.0.0.1:71");
    // The client's send: its connection, and the process at the other end (itself here).
    let send = find("sendto");
    assert_eq!(send["fd"]["socket"]["remote"], "127.0.0.1:71");
    assert_eq!(send["fd"]["socket"]["local"], conn["remote"]);
    assert_eq!(send["fd"]["socket"]["peer"]["pid"].as_i64(), Some(main_pid), "{send}");
    assert_eq!(send["ret"], 15);
    // The forked child's calls name the child, which is followed to its end.
    let child_connect =
        calls.iter().find(|c| c["syscall"] == "connect" && c["pid"] != main_pid).expect("child's connect");
    let child = child_connect["pid"].clone();
    assert!(events.iter().any(|e| e["event"] == "exited" && e["pid"] == child && e["code"] == 0));
    assert!(
        events.iter().any(|e| e["event"] == "signal" && e["signal"] == "SIGCHLD" && e["pid"] == main_pid),
        "the parent's SIGCHLD"
    );
    let errors: Vec<&Value> = calls.iter().filter(|c| c.get("errno").is_some()).copied().collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn the_summary_counts_what_strace_c_counts() {
    private_netns();
    let unix = unix_scenario();
    let mut args: Vec<&str> = SCENARIOS.to_vec();
    args.push(&unix);
    let theirs = run_in_netns(Command::new("strace").args(["-f", "-c", "-e", "trace=%net", program()]).args(&args));
    let ours = run_in_netns(
        Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "-f", "-c", "--", program()]).args(&args),
    );
    // calls and errors per syscall (time differs, of course).
    let counts = |text: &str| -> Vec<(String, String, String)> {
        let mut rows: Vec<(String, String, String)> = text
            .lines()
            .filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let name = w[w.len() - 1].to_string();
                let (calls, errors) = if w.len() == 6 { (w[3], w[4]) } else { (w[3], "0") };
                (name, calls.to_string(), errors.to_string())
            })
            .collect();
        rows.sort();
        rows
    };
    let (o, t) = (String::from_utf8_lossy(&ours.stderr), String::from_utf8_lossy(&theirs.stderr));
    assert!(o.starts_with("% time     seconds  usecs/call     calls    errors syscall\n"), "{o}");
    assert_eq!(counts(&o), counts(&t), "ours:\n{o}\nstrace:\n{t}");
}

#[test]
fn desc_calls_are_shown_on_sockets_only_unless_asked() {
    private_netns();
    let run = |extra: &[&str]| {
        let mut args = vec!["trace", "-e", "trace=%desc"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", program(), "tcp4"]);
        let out = run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args(&args));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let sockets = run(&[]);
    let closes: Vec<&str> = sockets.lines().filter(|l| l.starts_with("close(")).collect();
    assert_eq!(closes.len(), 3, "{sockets}");
    assert!(closes.iter().all(|l| l.starts_with("close(") && l.contains("<TCP:[")), "{sockets}");
    assert!(!sockets.contains("ld.so.cache") && !sockets.contains("libc.so"), "{sockets}");
    // Every fd: the loader's files too, named as strace -yy names them.
    let all = run(&["--all-fds"]);
    assert!(all.contains("libc.so"), "{all}");
    assert!(all.lines().any(|l| l.starts_with("close(3</etc/ld.so.cache>)")), "{all}");
}

#[test]
fn timestamps_durations_and_relative_times_as_strace_prints_them() {
    private_netns();
    let lines = |flag: &str| {
        let out = run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args([
            "trace",
            flag,
            "-e",
            "trace=connect",
            "--",
            program(),
            "refused",
        ]));
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default().to_string()
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let t = lines("-t");
    let (clock, rest) = t.split_once(' ').unwrap();
    assert!(clock.len() == 8 && clock.split(':').all(digits) && rest.starts_with("connect("), "{t}");
    let tt = lines("-tt");
    let (clock, _) = tt.split_once(' ').unwrap();
    let (hms, micros) = clock.split_once('.').unwrap();
    assert!(hms.len() == 8 && micros.len() == 6 && digits(micros), "{tt}");
    let ttt = lines("-ttt");
    let (epoch, _) = ttt.split_once(' ').unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((epoch.parse::<f64>().unwrap() - now).abs() < 60.0, "{ttt}");
    let big_t = lines("-T");
    let (_, took) = big_t.rsplit_once(" <").unwrap();
    let took: f64 = took.trim_end_matches('>').parse().unwrap();
    assert!((0.0..1.0).contains(&took) && big_t.contains("ECONNREFUSED"), "{big_t}");
    let r = lines("-r");
    assert!(r.trim_start().starts_with("0.000000 connect("), "{r}");
}

#[test]
fn the_filter_keeps_the_calls_on_matching_connections() {
    private_netns();
    let out = run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args([
        "trace",
        "--filter",
        "dport = :71",
        "--",
        program(),
        "tcp4",
        "tcp6",
    ]));
    let text = String::from_utf8_lossy(&out.stderr);
    let calls: Vec<&str> = text.lines().filter(|l| !l.starts_with("+++")).collect();
    // The client's send, getsockopt and shutdown: after its connect, connected to :71.
    assert_eq!(calls.len(), 3, "{text}");
    assert!(calls.iter().all(|l| l.contains("->127.0.0.1:71]")), "{text}");
    for bad in ["dport = :", "dev = lo", "autobound"] {
        let out = sockscope(&["trace", "--filter", bad, "--", "true"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{bad}: {out:?}");
    }
}

#[test]
fn a_json_document_holds_every_event_and_the_table() {
    private_netns();
    let out = run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args([
        "trace",
        "--json",
        "-c",
        "--",
        program(),
        "refused",
    ]));
    let doc: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(doc["kind"], "trace");
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.iter().filter(|e| e["event"] == "call").count(), 2, "{doc}");
    assert_eq!(events[1]["errno"], "ECONNREFUSED");
    let rows = doc["summary"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["syscall"] == "connect" && r["calls"] == 1 && r["errors"] == 1), "{doc}");
}

// ---------------------------------------------------------------------------------------
// -p: attaching to a server that must not notice.

/// The `serve` scenario, running.
struct Server(Child);

impl Server {
    fn start() -> Server {
        let child = Command::new(program()).arg("serve").stdin(Stdio::null()).spawn().unwrap();
        wait_until("the server to listen on :78", || TcpStream::connect("127.0.0.1:78").is_ok());
        Server(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    /// One request; the answer must be "ok". Returns the client's port.
    fn ask(&self) -> u16 {
        ask_server()
    }

    /// Not stopped, not traced: /proc/PID/status says so.
    fn untouched(&self) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap();
        let field = |name: &str| status.lines().find(|l| l.starts_with(name)).unwrap().to_string();
        let state = field("State:");
        assert!(!state.contains("(stopped)") && !state.contains("(tracing stop)"), "{status}");
        assert_eq!(field("TracerPid:").split_whitespace().nth(1), Some("0"), "{status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request to the `serve` scenario (port 78 of this thread's namespace); the answer
/// must be "ok". Returns the client's port.
fn ask_server() -> u16 {
    let mut s = TcpStream::connect("127.0.0.1:78").expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"hi").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("the server's answer");
    assert_eq!(answer, "ok");
    s.local_addr().unwrap().port()
}

/// `sockscope trace -p PID` with its trace on a pipe, once it has seen a request.
fn attach(server: &Server, extra: &[&str]) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["trace", "-p", &server.pid()])
        .args(extra)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("sockscope: process {} attached", server.pid()));
    let port = server.ask();
    // The trace shows the request being served (the server may first finish with the
    // connection Server::start probed it with).
    let started = Instant::now();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "the trace ended early");
        if line.starts_with("sendto(") && line.contains(&format!("->127.0.0.1:{port}]")) {
            assert!(line.contains("\"ok\", 2, MSG_NOSIGNAL") && line.contains("<TCP:[127.0.0.1:78->"), "{line}");
            // The client is this test, which is not traced: named from the socket table.
            assert!(line.contains(&format!("[{}]>, \"ok\"", std::process::id())), "{line}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no sendto in the trace");
    }
    (child, err)
}

#[test]
fn a_client_names_the_server_it_talks_to_though_it_is_not_traced() {
    private_netns();
    let server = Server::start();
    let out = run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "--", program(), "client"]));
    let text = String::from_utf8_lossy(&out.stderr);
    let send = text.lines().find(|l| l.starts_with("sendto(")).unwrap_or_else(|| panic!("{text}"));
    assert!(send.contains(&format!("->127.0.0.1:78] -> trace-sockets[{}]>", server.pid())), "{text}");
}

#[test]
fn interrupted_it_detaches_and_the_server_serves_on() {
    private_netns();
    let server = Server::start();
    for sig in ["INT", "TERM", "HUP"] {
        let (mut child, mut err) = attach(&server, &[]);
        // The trace is read as it comes (a full pipe would hold the server up).
        let drain = std::thread::spawn(move || {
            let mut rest = String::new();
            err.read_to_string(&mut rest).unwrap();
            rest
        });
        // A client keeps asking while sockscope lets go: not one request may fail.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let client = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut served = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    ask_server();
                    served += 1;
                }
                served
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap();
        let status = child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let served = client.join().expect("every request of the client loop answered");
        assert!(served > 0);
        let rest = drain.join().unwrap();
        assert_eq!(status.code(), Some(0), "SIG{sig}: {rest}");
        assert!(rest.contains(&format!("sockscope: process {} detached", server.pid())), "SIG{sig}: {rest}");
        server.untouched();
        for _ in 0..20 {
            server.ask();
        }
    }
}

#[test]
fn a_server_stopped_by_its_own_sigstop_stays_stopped_and_is_left_so() {
    private_netns();
    let server = Server::start();
    let (mut child, mut err) = attach(&server, &[]);
    let state = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
        status.lines().find(|l| l.starts_with("State:")).unwrap().to_string()
    };
    Command::new("kill").args(["-STOP", &server.pid()]).status().unwrap();
    wait_until("the server to stop", || state().contains("stop"));
    // Traced, it stays stopped (a ptrace listen): no request is answered.
    std::thread::sleep(Duration::from_millis(200));
    assert!(state().contains("stop"), "{}", state());
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("--- SIGSTOP {si_signo=SIGSTOP, si_code=SI_USER"), "{rest}");
    // Let go, it is still stopped as before, and untraced; SIGCONT wakes it. The kernel
    // wakes a detached tracee for a moment to put it back in its group stop (`__ptrace_unlink`
    // sets JOBCTL_STOP_PENDING and wakes it), so the state may read R just after.
    wait_until("the server back in its group stop", || state() == "State:\tT (stopped)");
    Command::new("kill").args(["-CONT", &server.pid()]).status().unwrap();
    server.ask();
    server.untouched();
}

#[test]
fn killed_outright_it_leaves_the_server_to_the_kernel_which_lets_it_go() {
    private_netns();
    let server = Server::start();
    let (mut child, _err) = attach(&server, &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the kernel to detach the server", || {
        std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap().contains("TracerPid:\t0")
    });
    for _ in 0..20 {
        server.ask();
    }
    server.untouched();
}

#[test]
fn ctrl_c_lets_go_even_when_nobody_reads_the_trace() {
    private_netns();
    let server = Server::start();
    let (mut child, _unread) = attach(&server, &[]);
    // Fill the trace's pipe: the server then waits on sockscope, which waits on the pipe.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect("127.0.0.1:78") else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = s.write_all(&[b'x'; 60]);
                let _ = s.read_to_end(&mut Vec::new());
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("sockscope still blocked on its output 5 s after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    client.join().unwrap();
    assert_eq!(status.code(), Some(0));
    server.untouched();
    server.ask();
}

#[test]
fn a_closed_output_pipe_detaches_too() {
    private_netns();
    let server = Server::start();
    let (mut child, err) = attach(&server, &[]);
    drop(err);
    // The next lines fail to write (EPIPE): sockscope lets go. Another test's child, forked
    // while the pipe was made, may hold its read end until it execs, so the first lines may
    // still find a reader: ask until sockscope has gone (its exit, not a deadline, ends this).
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        server.ask();
    };
    assert_eq!(status.code(), Some(0));
    server.untouched();
    server.ask();
}

#[test]
fn attaching_refusals_are_one_clear_line() {
    private_netns();
    let server = Server::start();
    // Someone else's tracee: named.
    let mut strace = Command::new("strace")
        .args(["-q", "-o", "/dev/null", "-p", &server.pid()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("strace to attach", || {
        !std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap().contains("TracerPid:\t0")
    });
    let out = sockscope(&["trace", "-p", &server.pid()]);
    let _ = strace.kill();
    let _ = strace.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "cannot attach to process {}: it is already traced by process {} (strace)",
            server.pid(),
            strace.id()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let gone = sockscope(&["trace", "-p", "4194303"]);
    assert_eq!(gone.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&gone.stderr).trim(), "sockscope: error: no process 4194303");

    let kthread = (2..200)
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')')?.1.split_whitespace().nth(6)?.parse::<u64>().ok())
                .is_some_and(|flags| flags & 0x0020_0000 != 0)
        })
        .expect("a kernel thread among the first pids");
    let k = sockscope(&["trace", "-p", &kthread.to_string()]);
    assert!(String::from_utf8_lossy(&k.stderr).contains("is a kernel thread"), "{k:?}");

    // Itself: the shell's pid becomes sockscope's through exec.
    let me = Command::new("sh")
        .args(["-c", &format!("exec {} trace -p $$", env!("CARGO_BIN_EXE_sockscope"))])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&me.stderr).contains("is sockscope itself"), "{me:?}");

    for bad in [
        &["-p", "0"][..],
        &["-p", "x"],
        &["-p", "1", "--", "true"],
        &["-e", "trace=bogus", "--", "true"],
        &["-e", "signal=all", "--", "true"],
        &["-e", "trace=", "--", "true"],
        &[],
    ] {
        let mut args = vec!["trace"];
        args.extend_from_slice(bad);
        let out = sockscope(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------
// A started command: its exit status is sockscope's.

#[test]
fn the_commands_exit_status_is_sockscopes() {
    let code = |args: &[&str]| sockscope(args).status.code();
    assert_eq!(code(&["trace", "--", "sh", "-c", "exit 3"]), Some(3));
    assert_eq!(code(&["trace", "--", "sh", "-c", "kill -KILL $$"]), Some(137));
    assert_eq!(code(&["trace", "--", "no-such-command-anywhere"]), Some(127));
    let plain = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trace-not-executable");
    std::fs::write(&plain, "exit 0\n").unwrap();
    assert_eq!(code(&["trace", "--", plain.to_str().unwrap()]), Some(126));
    let killed = sockscope(&["trace", "--", "sh", "-c", "kill -KILL $$"]);
    assert!(String::from_utf8_lossy(&killed.stderr).contains("+++ killed by SIGKILL +++"));
}

/// SIGTERM to sockscope reaches the command it started and ends it, with the command's own
/// status: also when it comes between sockscope's fork and the command's exec. (It once ran
/// sockscope's handler in the child there, whose alarm(2) survived the exec and killed the
/// command a second later with SIGALRM.) Twenty tries, each as early as the test sees the fork.
#[test]
fn a_signal_to_sockscope_reaches_the_command_it_started() {
    for _ in 0..20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(["trace", "--", "sleep", "30"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until("the fork", || {
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", child.id(), child.id()))
                .is_ok_and(|c| !c.trim().is_empty())
        });
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let started = Instant::now();
        let status = child.wait().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(!err.contains("SIGALRM"), "{err}");
        assert_eq!(status.code(), Some(143), "{err}");
        assert!(err.contains("+++ killed by SIGTERM +++"), "{err}");
    }
}

#[test]
fn the_seccomp_filter_is_active_in_the_command() {
    // With -f (every process that inherits it followed) the command sees its filter
    // (Seccomp: 2) and no_new_privs, which the filter needs.
    let out = sockscope(&["trace", "-f", "--", "cat", "/proc/self/status"]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.lines().any(|l| l == "Seccomp:\t2"), "{status}");
    assert!(status.lines().any(|l| l == "NoNewPrivs:\t1"), "{status}");
    // Without -f, or with --no-seccomp, the command stops at every call and has no filter:
    // a child nobody follows must not inherit one.
    for args in [
        &["trace", "--", "cat", "/proc/self/status"][..],
        &["trace", "-f", "--no-seccomp", "--", "cat", "/proc/self/status"],
    ] {
        let out = sockscope(args);
        assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l == "Seccomp:\t0"), "{args:?}");
    }
}

/// Issue 30: without -f, a child of the traced command inherited the seccomp filter with no
/// tracer, and every call it names failed with ENOSYS (python's socket.socket() raised
/// "Function not implemented"). Traced, the command and its children behave as untraced.
#[test]
fn without_follow_the_children_of_the_command_are_not_harmed() {
    private_netns();
    let script = "python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(\"child ok\")'; echo parent ok";
    let untraced = Command::new("sh").args(["-c", script]).output().unwrap();
    let traced = run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "--", "sh", "-c", script]));
    assert_eq!(String::from_utf8_lossy(&untraced.stdout), "child ok\nparent ok\n");
    assert_eq!(traced.stdout, untraced.stdout, "{}", String::from_utf8_lossy(&traced.stderr));
    assert_eq!(traced.status.code(), untraced.status.code());
    assert!(!String::from_utf8_lossy(&traced.stderr).contains("Function not implemented"));
    // With -f the child is followed: its socket call is in the trace.
    let followed =
        run_in_netns(Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "-f", "--", "sh", "-c", script]));
    assert_eq!(followed.stdout, untraced.stdout);
    assert!(String::from_utf8_lossy(&followed.stderr).lines().any(|l| l.contains("socket(AF_INET")), "{followed:?}");
}

/// Issue 30: strace's `-y`/`-yy` were taken for the command (`-yy: command not found`); an
/// unknown flag before the command is a wrong command line, not a program to run.
#[test]
fn strace_fd_flags_are_accepted_and_unknown_flags_refused() {
    for args in
        [&["trace", "-yy", "--", "true"][..], &["trace", "-y", "true"], &["trace", "-f", "-yy", "sh", "-c", "true"]]
    {
        let out = sockscope(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for flag in ["-Z", "-X", "--bogus"] {
        let out = sockscope(&["trace", flag, "--", "true"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(flag) && !err.contains("command not found"), "{flag}: {err}");
    }
    // After `--`, a word beginning with `-` is the command.
    let out = sockscope(&["trace", "--", "-no-such-program"]);
    assert_eq!(out.status.code(), Some(127));
}

/// The process state of `pid` (`State:` of its status), or "" once it is gone.
fn state_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("State:")).map(str::to_string))
        .unwrap_or_default()
}

/// The started command: sockscope's one child.
fn command_of(sockscope: &Child) -> u32 {
    let mut found = 0;
    wait_until("the command to start", || {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", sockscope.id()));
        found = children.ok().and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok())).unwrap_or(0);
        found != 0
    });
    found
}

/// Issue 30's second harm: a started command that stopped itself finished at once, as
/// `PTRACE_TRACEME` tracees cannot be left in a group stop. Seized, it stays stopped until
/// SIGCONT, whether it stopped itself or was stopped from outside, as untraced.
#[test]
fn a_started_command_stopped_by_itself_or_from_outside_stays_stopped() {
    let script = "kill -STOP $$; echo after; read line; echo got $line";
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["trace", "-f", "--", "sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let shell = command_of(&child);
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    // In its group stop, a tracee the tracer listens to reads `t (tracing stop)`.
    let stopped = || state_of(shell).contains("stop");
    wait_until("the shell's own SIGSTOP", stopped);
    // Stopped, it does not go on to say "after", however long it is left.
    std::thread::sleep(Duration::from_millis(300));
    assert!(stopped(), "{}", state_of(shell));
    assert!(lines.try_recv().is_err());
    assert!(child.try_wait().unwrap().is_none());
    Command::new("kill").args(["-CONT", &shell.to_string()]).status().unwrap();
    assert_eq!(lines.recv_timeout(Duration::from_secs(60)).unwrap(), "after");
    // Now waiting for a line: stopped from outside, it stays stopped too.
    wait_until("the shell to wait for its line", || state_of(shell).contains("sleeping"));
    Command::new("kill").args(["-STOP", &shell.to_string()]).status().unwrap();
    wait_until("the outside SIGSTOP", stopped);
    child.stdin.as_mut().unwrap().write_all(b"line\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(lines.try_recv().is_err(), "a stopped shell read its line");
    Command::new("kill").args(["-CONT", &shell.to_string()]).status().unwrap();
    assert_eq!(lines.recv_timeout(Duration::from_secs(60)).unwrap(), "got line");
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(err.matches("--- SIGSTOP {si_signo=SIGSTOP, si_code=SI_USER").count(), 2, "{err}");
}

/// Every descendant of the started command, by the children lists of each thread.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{p}/task")).map(|d| d.flatten().collect::<Vec<_>>());
        for task in tasks.unwrap_or_default() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                out.push(child);
                queue.push(child);
            }
        }
    }
    out
}

/// Issue 30: descendants that outlived a SIGKILLed sockscope kept the seccomp filter
/// (`Seccomp: 2`) and failed every call it names, forever. With the filter (-f), every
/// tracee dies with sockscope; without it (no -f), nothing is filtered and the command runs
/// on untraced, as under strace.
#[test]
fn killed_outright_nothing_it_traced_lives_on_with_a_filter() {
    let script = "sleep 300 & sleep 300 & wait";
    for follow in [true, false] {
        let mut args = vec!["trace"];
        if follow {
            args.push("-f");
        }
        args.extend(["--", "sh", "-c", script]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let shell = command_of(&child);
        let mut family = Vec::new();
        wait_until("the two sleeps", || {
            family = descendants(shell);
            family.len() == 2
                && family
                    .iter()
                    .all(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e.ends_with("sleep")))
        });
        family.push(shell);
        child.kill().unwrap();
        child.wait().unwrap();
        let seccomp = |pid: &u32| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| s.lines().find(|l| l.starts_with("Seccomp:")).map(str::to_string))
        };
        if follow {
            // Gone, or dying: a zombie shows no Seccomp line once reaped by init.
            wait_until("every tracee to die with sockscope", || {
                family.iter().all(|p| seccomp(p).is_none() || state_of(*p).contains("zombie"))
            });
        } else {
            wait_until("the shell to be let go", || {
                std::fs::read_to_string(format!("/proc/{shell}/status")).unwrap().contains("TracerPid:\t0")
            });
            for p in &family {
                assert_eq!(seccomp(p).as_deref(), Some("Seccomp:\t0"), "pid {p}");
                assert!(!state_of(*p).contains("zombie"), "pid {p}");
            }
            for p in &family {
                let _ = Command::new("kill").args(["-KILL", &p.to_string()]).status();
            }
        }
    }
}

/// decoding.c's scenarios compared with strace's, in one run.
const DECODING: &[&str] = &[
    "short_lengths",
    "escapes",
    "refused_nonblocking",
    "wide_arguments",
    "netlink_groups",
    "long_path",
    "unmapped",
    "nulls_and_failures",
    "messages",
    "packet_ring",
    "option_values",
];

/// Issue 30's decoding faults, each a scenario of decoding.c, against strace 6.1 line by
/// line: addresses decoded only as far as the kernel wrote them (min(in, out)); octal
/// escapes that cannot be misread; a refused non-blocking connect not shown as connected;
/// 32-bit arguments without what a caller left above them; netlink groups as `0x…`;
/// sun_path within its 108 bytes; an address that runs into an unmapped page shown as the
/// pointer; `NULL`, `-1` lengths and failed calls' input lengths; SO_ERROR as an errno name;
/// unknown options as strace names them.
#[test]
fn each_decoding_fault_issue_30_found_decodes_as_strace_does() {
    private_netns();
    let program = decoding_program();
    let theirs =
        run_in_netns(Command::new("strace").args(["-f", "-qq", "-yy", "-e", "trace=%net", program]).args(DECODING));
    let ours = run_in_netns(
        Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["trace", "-f", "-qq", "--", program]).args(DECODING),
    );
    assert!(theirs.status.success() && ours.status.success(), "{ours:?}");
    // strace warns in the middle of the line where it could not read the whole address.
    let mut theirs_text = String::from_utf8_lossy(&theirs.stderr).into_owned();
    while let Some(at) = theirs_text.find("strace: umoven: ") {
        let end = theirs_text[at..].find('\n').map_or(theirs_text.len(), |e| at + e + 1);
        theirs_text.replace_range(at..end, "");
    }
    let ours_text = String::from_utf8_lossy(&ours.stderr).into_owned();
    let (ours_bare, _) = without_peers(&ours_text);
    // strace -yy labels a packet socket `socket:[INODE]`; we say what it is.
    assert!(ours_bare.contains("<PACKET:["), "{ours_text}");
    let ours_bare = ours_bare.replace("<PACKET:[", "<socket:[");
    let (ours_lines, theirs_lines) = (canonical(&ours_bare), canonical(&theirs_text));
    for (n, (o, t)) in ours_lines.iter().zip(&theirs_lines).enumerate() {
        assert_eq!(o, t, "line {} differs\nours:\n{ours_text}\nstrace:\n{theirs_text}", n + 1);
    }
    assert_eq!(ours_lines.len(), theirs_lines.len(), "ours:\n{ours_text}\nstrace:\n{theirs_text}");
    // Each fault's mark is there (a test of the test): what the kernel did not write is
    // not decoded, and the rest as strace writes it.
    for needle in [
        r#"{sa_family=AF_INET, sa_data="\0005"}, [4 => 16]"#,
        "{sa_family=AF_INET}, [2 => 16]",
        "msg_namelen=4 => 16",
        r#""\0010\0001\3777\f\v8""#,
        r#"sun_path=@"\0010x""#,
        "SO_ERROR, [ECONNREFUSED]",
        "SOL_SOCKET, SO_TIMESTAMP_OLD, [1], 4)",
        "SO_REUSEADDR, 0x",
        ", -1) = -1 EINVAL",
        "nl_groups=0x000010",
        "getsockname(3<UDP:[127.0.0.1:57]>, NULL, NULL)",
        "0x3039 /* SO_??? */",
        "{msg_namelen=16}, MSG_DONTWAIT) = -1 EAGAIN",
        "cmsg_type=SO_TIMESTAMP_OLD, cmsg_data={tv_sec=",
        "cmsg_level=SOL_IP, cmsg_type=IP_TTL, cmsg_data=[64]}",
        "sendmmsg(",
        "MSG_DONTWAIT, {tv_sec=0, tv_nsec=1000})",
        "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))",
        "{tp_block_size=4096, tp_block_nr=1, tp_frame_size=2048, tp_frame_nr=2}",
        "SO_LINGER, {l_onoff=1, l_linger=5}, 12)",
        "SO_LINGER, {l_onoff=1}, [4])",
        "SO_ATTACH_FILTER, {len=1, filter=0x",
        "mr_type=PACKET_MR_PROMISC, mr_alen=6, mr_address=01:02:03:04:05:06}",
        "sipx_network=htonl(0x12345678), sipx_node=[0x1, 0x2, 0x3, 0x4, 0x5, 0x6], sipx_type=0x7}",
        r#"sx25_addr={x25_addr="12345"}"#,
        "sax25_call=NOCALL-0, sax25_ndigis=0}",
    ] {
        assert!(ours_text.contains(needle), "{needle} missing from\n{ours_text}");
    }
    assert!(!ours_text.contains("171.171.171.171") && !ours_text.contains("43947"), "{ours_text}");
    // After the refusal, the socket is connected to nothing.
    let refused = ours_text.lines().find(|l| l.contains("SO_ERROR, [ECONNREFUSED]")).unwrap();
    assert!(!refused.contains("->"), "{refused}");
}

/// Issue 30 (a3): a close's fd was looked at after the close had run, when another thread
/// may have reused the number: closes of one thread's UDP sockets were labelled with the
/// other thread's Unix sockets, and many closes had no label at all. Each close now carries
/// the socket the closing thread opened.
#[test]
fn each_close_carries_the_socket_its_own_thread_closed() {
    let out = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["trace", "-f", "-e", "trace=socket,close", "--", decoding_program(), "close_race"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    // The socket each thread's fd numbers stand for, from its own socket() lines.
    let mut open: HashMap<(String, String), String> = HashMap::new();
    let mut closes = 0;
    for line in text.lines() {
        let Some((tid, call)) = line.strip_prefix("[pid").and_then(|l| l.split_once(']')) else { continue };
        let tid = tid.trim().to_string();
        let call = call.trim();
        if let Some(rest) = call.strip_prefix("socket(") {
            let ret = rest.rsplit_once("= ").unwrap().1.trim();
            let (fd, label) = ret.split_once('<').unwrap();
            open.insert((tid, fd.to_string()), label.trim_end_matches('>').to_string());
        } else if let Some(rest) = call.strip_prefix("close(") {
            let arg = &rest[..rest.find(')').unwrap()];
            let Some((fd, label)) = arg.split_once('<') else {
                panic!("a close without its socket: {line}");
            };
            // The main thread closes files of its own (ld.so's); only sockets are checked.
            if let Some(opened) = open.remove(&(tid.clone(), fd.to_string())) {
                assert_eq!(label.trim_end_matches('>'), opened, "{line}");
                closes += 1;
            }
        }
    }
    assert_eq!(closes, 6000, "{text}");
}
