//! Issue 12: what a new user met in the first hour — exit statuses, error messages, noise.
//! Each test is named after the defect it pins.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;

fn status_and_stderr(args: &[&str]) -> (i32, String) {
    let out = sockscope(args);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn command_line_errors_exit_2_not_1() {
    private_netns();
    let cases: &[&[&str]] = &[
        &["(", "dport", "=", ":22", "or"],
        &["state", "establised"],
        &["sport", "=", ":99999"],
        &["--port", "abc"],
        &["--state", "bogus"],
        &["-f", "bogus"],
        &["-A", "tcpx"],
        &["-K", "--dry-run", "-t"],
        &["-K"],
        &["who", "foo"],
        &["who", ":99999"],
        &["fds", "-i", ":99999"],
        &["fds", "-p", "x"],
        &["doctor", "--set", "keepalve_idle=10"],
        &["doctor", "--set", "fd_warn=-1"],
        &["doctor", "--interval", "-1"],
        &["--summary-by", "foo"],
        &["--jsn"],
    ];
    for args in cases {
        let (code, err) = status_and_stderr(args);
        assert_eq!(code, 2, "sockscope {args:?}: {err}");
        assert!(!err.trim().is_empty(), "sockscope {args:?} said nothing");
    }
}

#[test]
fn a_mistyped_subcommand_is_not_reported_as_a_filter() {
    for (typo, meant) in [("doctr", "doctor"), ("fdss", "fds"), ("whoo", "who")] {
        let (code, err) = status_and_stderr(&[typo]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&format!("unknown command '{typo}'")) && err.contains(&format!("'{meant}'")), "{err}");
        assert!(!err.contains("unknown condition"), "{err}");
    }
    // A filter word that is no command's near miss stays a filter error.
    let (code, err) = status_and_stderr(&["dprt", "=", ":22"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown condition"), "{err}");
}

#[test]
fn clap_messages_are_printed_whole() {
    let (code, err) = status_and_stderr(&["who"]);
    assert_eq!(code, 2);
    assert!(err.contains("required arguments were not provided") && err.contains("<TARGET>"), "{err}");
    let (_, err) = status_and_stderr(&["--dry-run", "-t"]);
    assert!(err.contains("--kill"), "the missing argument is named: {err}");
    let (_, err) = status_and_stderr(&["--jsn"]);
    assert!(err.contains("--json"), "a suggestion: {err}");
    let (_, err) = status_and_stderr(&["--summary-by", "foo"]);
    assert!(err.contains("process") && err.contains("remote"), "the valid values: {err}");
    let (_, err) = status_and_stderr(&["fds", "--bogus"]);
    assert!(err.contains("sockscope fds"), "the subcommand's usage: {err}");
    let (_, err) = status_and_stderr(&["doctor", "--interval", "-1"]);
    assert!(err.contains("out of range") && !err.contains("unexpected argument"), "{err}");
}

#[test]
fn a_pid_that_does_not_exist_is_an_error_not_an_empty_answer() {
    private_netns();
    // pid_max is at most 4194304 (2^22).
    let ghost = "4194305";
    for args in [&["-tan", "--pid", ghost][..], &["doctor", "--pid", ghost, "--interval", "0"], &["fds", ghost]] {
        let (code, err) = status_and_stderr(args);
        assert_eq!(code, 2, "sockscope {args:?}: {err}");
        assert!(err.contains(ghost), "{err}");
    }
    // A pid that exists is fine.
    let me = std::process::id().to_string();
    assert_eq!(status_and_stderr(&["-tan", "--pid", &me]).0, 0);
}

#[test]
fn lab_without_a_scenario_lists_them_and_fails() {
    let (code, err) = status_and_stderr(&["lab"]);
    assert_eq!(code, 2, "{err}");
    for scenario in ["backlog", "close-wait", "time-wait", "farm", "nagle"] {
        assert!(err.contains(scenario), "{scenario} not listed: {err}");
    }
}

#[test]
fn summary_rows_have_no_trailing_spaces() {
    private_netns();
    let out = sockscope_ok(&["-s"]);
    for line in out.lines() {
        assert_eq!(line, line.trim_end(), "trailing spaces in {line:?}");
    }
}

#[test]
fn help_says_no_internal_jargon() {
    let mut all = sockscope_ok(&["--help"]);
    for cmd in ["fds", "who", "doctor", "lab"] {
        all.push_str(&sockscope_ok(&[cmd, "--help"]));
    }
    assert!(!all.contains("seed"), "{all}");
}
