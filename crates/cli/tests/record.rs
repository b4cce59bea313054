//! Captures: record a known scenario in a private namespace, tear it down, and `--from` must
//! answer exactly as the live commands did at capture time; `diff` around a leak names the
//! process, the counts and the port; damaged captures are one clear error (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;
use common::*;
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("record-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A JSON document without what differs between two runs of the same answer: when it was
/// made and from where, how many processes the host had (other tests start and end theirs),
/// and what counts down or up with the clock (timers, tcp_info's times: only its fields).
fn stable(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                // file-nr's `allocated` is the whole host's, which changes by the second.
                for k in ["generated_at", "capture", "owner_scan", "expires_ms", "allocated"] {
                    o.remove(k);
                }
                if let Some(info) = o.get_mut("tcp_info") {
                    let keys: Vec<Value> =
                        info.as_object().map_or(Vec::new(), |i| i.keys().cloned().map(Value::from).collect());
                    *info = Value::Array(keys);
                }
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// The doctor's findings, as rule, severity and summary.
fn findings(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].to_string(), f["severity"].to_string(), f["summary"].to_string()))
        .collect()
}

/// Connections `count` clients closed and the server never did: CLOSE-WAIT on the server's side.
fn close_wait(l: &TcpListener, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        held.push(l.accept().unwrap().0);
        drop(c);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    held
}

#[test]
fn a_capture_answers_as_the_host_did() {
    private_netns();
    let d = dir("same");
    let cap = d.join("host.cap");
    // The scenario lives in a process of its own: the test's own fds change as it runs
    // sockscope (pipes), a held lab process's do not.
    let lab = LabRun::start(&["close-wait", "--count", "2"]);
    let port = lab.1["made"]["port"].as_u64().unwrap();
    let pid = lab.pid().to_string();
    let who_port = format!(":{port}");

    let table = sockscope_ok(&["-tanp"]);
    let json = stable(sockscope_json(&["-tanp"]));
    let all = stable(sockscope_json(&["-tuxa", "-e", "-m", "-i"]));
    let fds = stable(sockscope_json(&["fds", &pid]));
    let fds_text = sockscope_ok(&["fds", &pid]);
    let who = stable(sockscope_json(&["who", &who_port]));
    let by_process = sockscope_ok(&["--summary-by", "port", "-ta"]);
    let doctor_live = sockscope(&["doctor", "--json", "--stale-dir", d.to_str().unwrap()]);
    let doctor_live: Value = serde_json::from_slice(&doctor_live.stdout).unwrap();
    // --full: every socket fd's fdinfo and options, which `fds` and `who` show.
    let out = sockscope(&["record", "-o", cap.to_str().unwrap(), "--full", "--stale-dir", d.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("recorded 1 look"));
    let quick = d.join("quick.cap");
    assert!(sockscope(&["record", "-o", quick.to_str().unwrap(), "--window", "0"]).status.success());

    // The scenario is gone: only the capture knows it.
    drop(lab);
    assert!(!sockscope_ok(&["-tln"]).contains(&who_port), "the live host still listens");

    let from = |args: &[&str]| {
        let mut all = vec!["--from", cap.to_str().unwrap()];
        all.extend_from_slice(args);
        all.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sockscope_ok(&args)
    };
    let run_json = |args: Vec<String>| {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push("--json");
        stable(serde_json::from_str(&sockscope_ok(&args)).unwrap())
    };
    assert_eq!(run(from(&["-tanp"])), table, "the table");
    assert_eq!(run_json(from(&["-tanp"])), json, "-tanp --json");
    assert_eq!(run_json(from(&["-tuxa", "-e", "-m", "-i"])), all, "every socket with every detail");
    // Who else holds the lab's pipes and sockets (`shared`, and each fd's index into it)
    // is the whole host's, the sockscope reading them and the other tests' processes
    // included: it changes between any two looks. So do the lab's standard streams, the
    // test runner's (under CI, a log file that grows). The lab's own fds must not.
    let lab_only = |mut v: Value| {
        for p in v["processes"].as_array_mut().unwrap() {
            p["fds"].as_array_mut().unwrap().retain(|f| !matches!(f["fd"].as_u64(), Some(0..=2)));
        }
        fn drop_peers(v: &mut Value) {
            match v {
                Value::Object(o) => {
                    o.remove("shared");
                    o.remove("peer_group");
                    o.values_mut().for_each(drop_peers);
                }
                Value::Array(a) => a.iter_mut().for_each(drop_peers),
                _ => {}
            }
        }
        drop_peers(&mut v);
        v
    };
    let (replayed, saved) = (lab_only(run_json(from(&["fds", &pid]))), lab_only(fds));
    if replayed != saved {
        std::fs::write(d.join("fds-from.json"), replayed.to_string()).unwrap();
        std::fs::write(d.join("fds-live.json"), saved.to_string()).unwrap();
    }
    assert_eq!(replayed, saved, "fds PID --json (both are in {})", d.display());
    // Its last line counts the host's file handles, which change by the second; fds 0-2
    // are the test runner's streams (see lab_only).
    let tables = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("system:") && !matches!(l.split_whitespace().nth(3), Some("0" | "1" | "2")))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(tables(&run(from(&["fds", &pid]))), tables(&fds_text), "fds PID");
    assert_eq!(run_json(from(&["who", &who_port])), who, "who :PORT");
    assert_eq!(run(from(&["--summary-by", "port", "-ta"])), by_process, "--summary-by port");
    // The doctor (its own process differs between two runs; the findings must not).
    let doctor_from = sockscope(&{
        let mut a: Vec<&str> = vec!["--from", cap.to_str().unwrap(), "doctor", "--json", "--stale-dir"];
        a.push(d.to_str().unwrap());
        a
    });
    let doctor_from: Value = serde_json::from_slice(&doctor_from.stdout).unwrap();
    assert_eq!(findings(&doctor_from), findings(&doctor_live), "doctor --json findings");
    assert_eq!(doctor_from["warnings"], doctor_live["warnings"], "doctor --json warnings");
    assert!(
        findings(&doctor_from)
            .iter()
            .any(|(rule, _, summary)| rule.contains("close-wait") && summary.contains("2 sockets")),
        "{:?}",
        findings(&doctor_from)
    );
    // The documents say where they came from.
    let doc: Value = serde_json::from_str(&run(from(&["-tanp", "--json"]))).unwrap();
    assert_eq!(doc["capture"]["frames"], 1);
    let stderr =
        String::from_utf8_lossy(&sockscope(&from(&["-s"]).iter().map(String::as_str).collect::<Vec<_>>()).stderr)
            .into_owned();
    assert!(stderr.contains("from the capture"), "{stderr}");
    // Without --full the capture is quicker and says what it lacks where it matters.
    let fds_quick = sockscope(&["--from", quick.to_str().unwrap(), "fds", &pid]);
    assert!(String::from_utf8_lossy(&fds_quick.stderr).contains("record --full"), "{fds_quick:?}");
    assert_eq!(sockscope_ok(&["--from", quick.to_str().unwrap(), "-tanp"]), table, "the table needs no --full");
    // Commands that act on the running host refuse a capture.
    let refused = sockscope(&["--from", cap.to_str().unwrap(), "-K", "dport", "=", ":1"]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn diff_names_the_leaking_process_its_counts_and_port() {
    private_netns();
    let d = dir("diff");
    let (a, b) = (d.join("a.cap"), d.join("b.cap"));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut leaked = close_wait(&l, 20);
    assert!(sockscope(&["record", "-o", a.to_str().unwrap(), "--window", "0"]).status.success());
    leaked.extend(close_wait(&l, 180));
    assert!(sockscope(&["record", "-o", b.to_str().unwrap(), "--window", "0"]).status.success());
    let pid = std::process::id();

    let out = sockscope(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "a leak is a finding: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "diff");
    let me = v["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).expect("the leaking process");
    assert_eq!(me["fds_delta"], 180, "{me}");
    let cw = me["sockets"].as_array().unwrap().iter().find(|c| c["state"] == "close-wait").expect("its CLOSE-WAIT");
    assert_eq!(
        (cw["port"].as_u64(), cw["before"].as_u64(), cw["after"].as_u64()),
        (Some(port.into()), Some(20), Some(200))
    );
    let rules: Vec<&str> = v["findings"].as_array().unwrap().iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(rules.contains(&"fd-leak") && rules.contains(&"close-wait-leak"), "{rules:?}");

    let text = sockscope(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = text.lines().find(|l| l.contains(&format!(" {pid}: "))).expect("a line for the process");
    assert!(line.contains("+180 fds") && line.contains(&format!("+180 CLOSE-WAIT :{port}")), "{line}");
    drop(leaked);

    // A lab's CLOSE-WAIT leak that started between two captures: its process, count and port.
    let c = d.join("c.cap");
    let lab = LabRun::start(&["close-wait", "--count", "12"]);
    assert!(sockscope(&["record", "-o", c.to_str().unwrap(), "--window", "0"]).status.success());
    let v: Value =
        serde_json::from_slice(&sockscope(&["diff", b.to_str().unwrap(), c.to_str().unwrap(), "--json"]).stdout)
            .unwrap();
    let lab_pid = lab.pid();
    let it = v["processes"].as_array().unwrap().iter().find(|p| p["pid"] == lab_pid).expect("the lab's process");
    let cw = it["sockets"].as_array().unwrap().iter().find(|c| c["state"] == "close-wait").expect("its CLOSE-WAIT");
    assert_eq!(
        (cw["port"].clone(), cw["before"].as_u64(), cw["after"].as_u64()),
        (lab.1["made"]["port"].clone(), Some(0), Some(12))
    );
    assert!(v["listeners_new"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains(&lab_pid.to_string())));
    assert!(v["processes_started"].as_u64().unwrap() >= 1);
}

#[test]
fn damaged_captures_are_one_clear_error() {
    private_netns();
    let d = dir("damaged");
    let good = d.join("good.cap");
    let _l = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(sockscope(&["record", "-o", good.to_str().unwrap(), "--window", "0"]).status.success());
    let bytes = std::fs::read(&good).unwrap();
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 2 + 40;
    flipped[mid] ^= 0x10;
    let mut newer = bytes.clone();
    newer[20] = 7; // the oldest reader it needs: 7
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "it is empty"),
        ("text", b"hello, not a capture\n".to_vec(), "not a sockscope capture"),
        ("truncated", bytes[..bytes.len() * 2 / 3].to_vec(), "truncated"),
        ("flipped", flipped, "damaged"),
        ("newer", newer, "needs a reader of version 7 or later"),
    ];
    for (name, content, says) in cases {
        let p = d.join(format!("{name}.cap"));
        std::fs::write(&p, content).unwrap();
        let out = sockscope(&["--from", p.to_str().unwrap(), "-tan"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(err.contains(says) && err.contains(p.to_str().unwrap()), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let out = sockscope(&["--from", d.to_str().unwrap(), "-tan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("it is a directory"));
    let out = sockscope(&["diff", good.to_str().unwrap(), d.join("empty.cap").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_capture_streams_to_stdout_and_holds_several_looks() {
    private_netns();
    let d = dir("stream");
    let out = sockscope(&["record", "-o", "-", "--count", "2", "--interval", "200ms", "--window", "0", "--redact"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cap = d.join("s.cap");
    std::fs::write(&cap, &out.stdout).unwrap();
    let v = sockscope_json(&["--from", cap.to_str().unwrap(), "--frame", "1", "-ta"]);
    assert_eq!((v["capture"]["frame"].as_u64(), v["capture"]["frames"].as_u64()), (Some(1), Some(2)));
    assert_eq!(v["capture"]["redacted"], true);
    let bad = sockscope(&["--from", cap.to_str().unwrap(), "--frame", "3", "-ta"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn watch_replays_every_look_as_the_table_reads_it() {
    private_netns();
    let d = dir("watch");
    let cap = d.join("w.cap");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut record = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["record", "-o", cap.to_str().unwrap(), "--count", "3", "--interval", "700ms", "--window", "0"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // CLOSE-WAIT connections keep coming while the looks are taken.
    let mut held = Vec::new();
    while record.try_wait().unwrap().is_none() {
        held.extend(close_wait(&l, 5));
    }
    let pid = std::process::id();
    let out = sockscope(&["--from", cap.to_str().unwrap(), "watch", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let frames: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(frames.len(), 3, "one frame per look");
    let mut counts = Vec::new();
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(f["capture"]["frame"], k + 1);
        let me = f["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).expect("the test process");
        let shown = me["states"]["close_wait"].as_u64().unwrap();
        let n = (k + 1).to_string();
        let sport = format!(":{port}");
        let rows = sockscope_ok(&[
            "--from",
            cap.to_str().unwrap(),
            "--frame",
            &n,
            "-Htanp",
            "state",
            "close-wait",
            "sport",
            "=",
            &sport,
        ]);
        // The process's own: a connection closed before it was accepted is in CLOSE-WAIT too,
        // in the listener's queue, held by no one.
        let held = rows.lines().filter(|l| l.contains(&format!("pid={pid},"))).count();
        assert_eq!(shown, held as u64, "look {}", k + 1);
        counts.push(shown);
    }
    assert!(counts[2] > counts[0], "the leak grows over the looks: {counts:?}");
    drop(held);
}

#[test]
fn all_netns_captures_every_namespace() {
    private_netns();
    let d = dir("netns");
    let cap = d.join("n.cap");
    let lab = LabRun::start(&["close-wait", "--count", "2", "--netns"]);
    let link = std::fs::read_link(format!("/proc/{}/ns/net", lab.pid())).unwrap();
    let inode = link.to_string_lossy().trim_start_matches("net:[").trim_end_matches(']').to_string();
    let live_spec = format!("/proc/{}/ns/net", lab.pid());
    let live = sockscope_ok(&["--netns", &live_spec, "-tanp"]);
    assert!(live.contains("CLOSE-WAIT"), "{live}");
    let out = sockscope(&["record", "-o", cap.to_str().unwrap(), "--all-netns", "--window", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(lab);
    let spec = format!("net:[{inode}]");
    assert_eq!(sockscope_ok(&["--from", cap.to_str().unwrap(), "--netns", &spec, "-tanp"]), live);
    // Without --all-netns, a capture holds its own namespace only, and says so.
    let own = d.join("own.cap");
    assert!(sockscope(&["record", "-o", own.to_str().unwrap(), "--window", "0"]).status.success());
    let refused = sockscope(&["--from", own.to_str().unwrap(), "--all-netns", "-tan"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("record it with --all-netns"));
}

#[test]
fn a_recording_stopped_early_keeps_its_whole_looks() {
    private_netns();
    let d = dir("stopped");
    let cap = d.join("s.cap");
    let _l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut record = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["record", "-o", cap.to_str().unwrap(), "--count", "1000", "--interval", "500ms", "--window", "0"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stopped once a first look is in the file, however long that takes on a busy machine.
    // SIGTERM rather than Ctrl-C's SIGINT: a test run as a background job inherits SIGINT
    // ignored; both end record the same way (it does not catch them).
    let frames = || {
        let out = sockscope(&["--from", cap.to_str().unwrap(), "-tan", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["capture"]["frames"].as_u64().unwrap_or(0)
    };
    wait_until("a first look in the capture", || frames() >= 1);
    std::process::Command::new("kill").args(["-TERM", &record.id().to_string()]).status().unwrap();
    assert!(!record.wait().unwrap().success());
    let kept = frames();
    assert!((1..1000).contains(&kept), "{kept} looks kept");
}
