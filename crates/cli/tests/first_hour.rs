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

fn as_nobody(args: &[&str]) -> std::process::Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", env!("CARGO_BIN_EXE_sockscope")])
        .args(args)
        .output()
        .expect("setpriv (util-linux) must be installed")
}

#[test]
fn fds_of_a_process_that_cannot_be_read_fails_with_the_reason() {
    private_netns();
    let out = as_nobody(&["fds", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pid 1") && err.contains("permission denied"), "{err}");
    assert!(out.stdout.is_empty(), "an empty table is not an answer: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_plain_listing_is_not_noisy() {
    private_netns();
    let _l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let doc = sockscope_json(&["-a"]);
    let only_raw = doc["fallbacks"].as_array().unwrap().iter().all(|f| f.as_str().unwrap().contains(" raw "));
    // Every socket of this namespace is this test's: no owner is unknown, whatever other
    // process on the host cannot be read.
    for args in [&["-a"][..], &["-tanp"], &["who", ":1"]] {
        let out = sockscope(args);
        let err = String::from_utf8_lossy(&out.stderr);
        if only_raw {
            assert!(err.is_empty(), "sockscope {args:?} said: {err}");
        }
    }
    // Asked for details /proc/net cannot give, the user hears what is missing.
    if !doc["fallbacks"].as_array().unwrap().is_empty() {
        let (_, err) = status_and_stderr(&["-a", "-e"]);
        assert!(err.contains("no cookie, memory"), "{err}");
        let (_, err) = status_and_stderr(&["-a", "--verbose"]);
        assert!(err.contains("/proc/net"), "{err}");
    }
}

#[test]
fn a_socket_file_bound_in_another_namespace_is_not_called_stale_by_a_user() {
    // Bound in the namespace the test started in; sockscope then runs in a private one.
    let dir = sockscope_lab::sockets::tempdir().unwrap();
    std::fs::set_permissions(dir.as_str(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}/elsewhere.sock", dir.as_str());
    let _bound = std::os::unix::net::UnixListener::bind(&path).unwrap();
    private_netns();
    let out = as_nobody(&["who", &path]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("stale") && text.contains("another network namespace"), "{text}");
    let out = as_nobody(&["doctor", "--interval", "0", "--json", "--stale-dir", dir.as_str()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stale: Vec<_> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "stale-unix-sockets").collect();
    assert!(stale.is_empty(), "{stale:?}");
}

#[test]
fn man_pages_and_completions_come_from_the_flags() {
    let page = sockscope_ok(&["man"]);
    assert!(page.contains(".TH sockscope 1") && page.contains("\\-\\-summary\\-by"), "{page}");
    let fds = sockscope_ok(&["man", "fds"]);
    assert!(fds.contains(".TH sockscope-fds 1") && fds.contains("\\-\\-peers"), "{fds}");
    assert_eq!(status_and_stderr(&["man", "nope"]).0, 2);
    let dir = sockscope_lab::sockets::tempdir().unwrap();
    sockscope_ok(&["man", "--dir", dir.as_str()]);
    sockscope_ok(&["completions", "--dir", dir.as_str()]);
    for file in
        ["sockscope.1", "sockscope-fds.1", "sockscope-doctor.1", "sockscope.bash", "_sockscope", "sockscope.fish"]
    {
        let text = std::fs::read_to_string(format!("{}/{file}", dir.as_str())).unwrap();
        assert!(text.contains("doctor") || text.contains("fds"), "{file}: {text}");
    }
    // The bash script is valid bash, and completes every command and the listing's flags.
    let bash = sockscope_ok(&["completions", "bash"]);
    let path = format!("{}/check.bash", dir.as_str());
    std::fs::write(&path, &bash).unwrap();
    let checked = std::process::Command::new("bash").args(["-n", &path]).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    for word in ["fds", "who", "doctor", "lab", "--summary-by", "--kernel-filter"] {
        assert!(bash.contains(word), "{word} missing from the bash completions");
    }
    let zsh = sockscope_ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef sockscope"), "{zsh}");
    assert!(sockscope_ok(&["completions", "fish"]).contains("complete -c sockscope"));
    assert_eq!(status_and_stderr(&["completions"]).0, 2);
}

#[test]
fn states_are_coloured_when_asked_and_never_in_a_pipe() {
    private_netns();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _tw = sockscope_lab::sockets::time_wait(&l).unwrap();
    let plain = sockscope_ok(&["-tan"]);
    assert!(!plain.contains('\x1b'), "no colour in a pipe: {plain:?}");
    assert_eq!(sockscope_ok(&["-tan", "--color", "never"]), plain);
    let coloured = sockscope_ok(&["-tan", "--color", "always"]);
    assert!(coloured.contains("\x1b[32mLISTEN\x1b[0m") && coloured.contains("\x1b[2mTIME-WAIT\x1b[0m"), "{coloured:?}");
    // Only the state text is painted: without the sequences, the table is the same.
    assert_eq!(
        coloured.replace("\x1b[32m", "").replace("\x1b[2m", "").replace("\x1b[36m", "").replace("\x1b[0m", ""),
        plain
    );
    assert_eq!(status_and_stderr(&["-tan", "--color", "sometimes"]).0, 2);
}

/// Issue 12: the README pointed at a file outside the project; its docs must stand alone.
#[test]
fn docs_stand_alone() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut files = vec![format!("{root}/README.md"), format!("{root}/SECURITY.md")];
    for e in std::fs::read_dir(format!("{root}/docs")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "md") {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("../shared") && !text.contains("DESIGN.md"), "{f} points outside the project");
    }
}
