//! `sockscope trace` against strace, on programs run in a private network namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use std::net::TcpListener;
use std::process::Command;

/// Addresses in the tracee's memory differ from run to run: `0x7ffd…` → `0xADDR`.
fn steady(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("bash:"))
        .map(|l| {
            l.split(' ')
                .map(|w| if w.starts_with("0x") { "0xADDR," } else { w })
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|l| !l.starts_with("+++"))
        .collect()
}

fn script(port: u16) -> String {
    format!("exec 3<>/dev/tcp/127.0.0.1/{port}; echo hi >&3; exec 4<>/dev/tcp/127.0.0.1/1")
}

#[test]
fn the_network_calls_of_a_program_read_as_strace_writes_them() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let s = script(l.local_addr().unwrap().port());
    let ours = sockscope(&["trace", "--", "bash", "-c", &s]);
    let theirs = Command::new("strace").args(["-qq", "-e", "trace=%net", "bash", "-c", &s]).output().unwrap();
    let (ours_text, theirs_text) =
        (String::from_utf8_lossy(&ours.stderr).into_owned(), String::from_utf8_lossy(&theirs.stderr).into_owned());
    assert_eq!(steady(&ours_text), steady(&theirs_text), "ours:\n{ours_text}\nstrace:\n{theirs_text}");
    assert!(ours_text.contains("ECONNREFUSED (Connection refused)"), "{ours_text}");
    // The command's exit status is sockscope's.
    assert_eq!(ours.status.code(), theirs.status.code());
}

#[test]
fn children_are_followed_with_f_and_named_by_pid() {
    private_netns();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let s = format!("(exec 3<>/dev/tcp/127.0.0.1/{port}); exec 4<>/dev/tcp/127.0.0.1/{port}");
    let out = sockscope(&["trace", "-f", "--jsonl", "--", "bash", "-c", &s]);
    let events: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stderr).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let connects: Vec<&serde_json::Value> = events.iter().filter(|e| e["syscall"] == "connect").collect();
    assert_eq!(connects.len(), 2, "{events:?}");
    assert_ne!(connects[0]["pid"], connects[1]["pid"], "one in the subshell, one in bash");
    assert!(connects.iter().all(|c| c["ret"] == 0));
    let exits = events.iter().filter(|e| e["event"] == "exited").count();
    assert_eq!(exits, 2, "{events:?}");
    // Without -f the subshell's call is not seen.
    let out = sockscope(&["trace", "--jsonl", "--", "bash", "-c", &s]);
    let seen = String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("\"connect\"")).count();
    assert_eq!(seen, 1);
}

#[test]
fn exit_statuses_are_the_commands() {
    let code = |args: &[&str]| sockscope(args).status.code();
    assert_eq!(code(&["trace", "--", "sh", "-c", "exit 3"]), Some(3));
    assert_eq!(code(&["trace", "--", "sh", "-c", "kill -9 $$"]), Some(137));
    assert_eq!(code(&["trace", "--", "/no/such/program"]), Some(127));
    let dir = sockscope_lab::sockets::tempdir().unwrap();
    let plain = format!("{dir}/not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    assert_eq!(code(&["trace", "--", &plain]), Some(126));
    let bad = sockscope(&["trace", "-e", "trace=bogus", "--", "true"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bogus"));
}

/// The command stops only at the calls traced: a seccomp filter returns SECCOMP_RET_TRACE for
/// them and lets every other call run (strace's --seccomp-bpf).
#[test]
fn untraced_calls_do_not_stop_the_command() {
    let out = sockscope(&["trace", "--", "grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Seccomp:\t2"), "a filter is installed: {text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
}
