//! `sockscope watch` end to end: in a pseudo-terminal (made by util-linux's `script`), inside
//! a private network namespace holding a full accept queue and a CLOSE-WAIT leak made by
//! `sockscope lab`; the screen is parsed with a terminal emulator (vt100) and compared with
//! what the lab made and with `ss`; keys are sent and the screen checked after each; and the
//! terminal must be left as it was found. Plus `--once --json` against the socket table.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::{LabRun, private_netns, sockscope, sockscope_ok, ss};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `sockscope watch` in a pseudo-terminal of `rows`×`cols`, its screen kept by vt100.
struct Screen {
    child: Child,
    keys: ChildStdin,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn start(rows: u16, cols: u16, args: &str) -> Screen {
        let command = format!("stty rows {rows} cols {cols}; exec {} watch {args}", env!("CARGO_BIN_EXE_sockscope"));
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run script (util-linux) for a pseudo-terminal");
        let keys = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (Arc::clone(&parser), Arc::clone(&raw));
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Screen { child, keys, parser, raw }
    }

    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn send(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).unwrap();
        self.keys.flush().unwrap();
    }

    /// Waits until `ok` holds for the screen's text; fails with the screen otherwise.
    fn until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if ok(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "waited for {what}; the screen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The whitespace-separated fields of the screen row starting with `start`.
fn row(text: &str, start: &str) -> Vec<String> {
    text.lines()
        .find(|l| l.trim_start().starts_with(start))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The text under `heading` in the screen row starting with `start`.
fn under(text: &str, start: &str, heading: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(h) = lines.iter().find(|l| l.contains(heading)) else { return String::new() };
    let col = h.split(heading).next().map_or(0, |before| before.chars().count());
    let Some(row) = lines.iter().find(|l| l.trim_start().starts_with(start)) else { return String::new() };
    row.chars().skip(col).take_while(|c| *c != ' ').collect()
}

fn ss_count(args: &[&str]) -> usize {
    ss(args).lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn the_live_view_shows_what_was_made_answers_keys_and_restores_the_terminal() {
    private_netns();
    let backlog = LabRun::start(&["backlog"]);
    let leak = LabRun::start(&["close-wait", "--count", "12"]);
    let (bpid, lpid) = (backlog.pid().to_string(), leak.pid().to_string());
    let port = backlog.1["made"]["port"].as_u64().unwrap().to_string();
    let mut screen = Screen::start(40, 160, "--interval 0.5");

    // Processes: the leaking lab holds 12 CLOSE-WAIT sockets, as ss counts them.
    let text = screen.until("the leaking process's row", |t| under(t, &lpid, "CLOSE-WAIT") == "12");
    let cw = ss_count(&["-tanH", "state", "close-wait"]);
    assert_eq!(under(&text, &lpid, "CLOSE-WAIT"), cw.to_string(), "CLOSE-WAIT against ss:\n{text}");
    assert!(text.contains("Processes") && text.contains("collected in"), "{text}");
    assert!(!row(&text, &bpid).is_empty(), "the backlog lab's row:\n{text}");

    // Listeners: the full accept queue, as ss reports it (Recv-Q/Send-Q).
    screen.send("\t");
    let local = format!("127.0.0.1:{port}");
    let text = screen.until("the listeners view", |t| !row(t, &local).is_empty());
    let ss_line = ss(&["-ltnH", "sport", "=", &format!(":{port}")]);
    let ss_fields: Vec<&str> = ss_line.split_whitespace().collect();
    let want = format!("{}/{}", ss_fields[1], ss_fields[2]);
    assert_eq!(under(&text, &local, "QUEUE"), want, "queue/backlog against ss {ss_line}:\n{text}");

    // Enter on the listener (the fullest queue is first): its connections, as ss lists the
    // sockets on its port that are not the listener.
    screen.send("\r");
    let text = screen.until("the listener's connections", |t| t.contains(&format!("port {port}")));
    let on_port = ss_count(&["-tanH", "exclude", "listening", "sport", "=", &format!(":{port}")]);
    let rows = text.lines().filter(|l| l.contains(&format!("127.0.0.1:{port} ")) && !l.starts_with("LISTEN")).count();
    assert_eq!(rows, on_port, "{text}");
    // A lone Esc is told from the start of a sequence by the pause after it.
    screen.send("\u{1b}");
    screen.until("the drill-down left", |t| !t.contains(&format!("port {port}")));
    screen.send("\u{1b}[Z");
    screen.until("the listeners view again", |t| !row(t, &local).is_empty());

    // A filter typed after `/`: an error is shown in place, then a good one is applied.
    screen.send("/");
    screen.until("the filter line", |t| t.contains("filter: "));
    for _ in 0..40 {
        screen.send("\u{7f}");
    }
    screen.send("bogus = 1\r");
    screen.until("the filter error", |t| t.contains("filter not applied"));
    screen.send("/");
    for _ in 0..20 {
        screen.send("\u{7f}");
    }
    screen.send("state close-wait\r");
    screen.send("\t");
    let text = screen.until("only CLOSE-WAIT connections", |t| {
        let rows: Vec<&str> = t.lines().filter(|l| l.starts_with("CLOSE-WAIT") || l.starts_with("ESTAB")).collect();
        rows.len() == 12 && rows.iter().all(|l| l.starts_with("CLOSE-WAIT"))
    });
    assert!(text.contains("Connections"), "{text}");

    // Back to Processes, Enter: the leaking process's fd table.
    screen.send("\t\t");
    screen.until("the processes view", |t| !row(t, &lpid).is_empty());
    // Select the leaking process (the only one holding sockets now) and open it.
    screen.send("\r");
    let text = screen.until("its fd table", |t| t.contains("fds of"));
    assert!(text.contains("CLOSE-WAIT"), "{text}");
    screen.send("\u{1b}");
    screen.until("the fd table left", |t| !t.contains("fds of"));
    screen.send("?");
    screen.until("the help", |t| t.contains("keys (any key closes)"));
    screen.send("x");
    screen.send("q");
    let status = wait(&mut screen.child);
    assert!(status.success(), "watch exited with {status}");
    // The terminal is left as it was found: off the alternate screen, cursor shown.
    let parser = screen.parser.lock().unwrap();
    assert!(!parser.screen().alternate_screen(), "still on the alternate screen");
    assert!(!parser.screen().hide_cursor(), "the cursor is still hidden");
    let raw = screen.raw.lock().unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.rfind("\u{1b}[?1049l") > text.rfind("\u{1b}[?1049h"), "left the alternate screen last");
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "watch did not quit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_restores_the_terminal_too() {
    private_netns();
    let mut screen = Screen::start(24, 80, "");
    screen.until("the first screen", |t| t.contains("Processes"));
    // script's child is the shell that exec'd sockscope: its pid is sockscope's.
    let pid = std::fs::read_to_string(format!("/proc/{}/task/{}/children", screen.child.id(), screen.child.id()))
        .unwrap()
        .trim()
        .to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = wait(&mut screen.child);
    assert!(status.success(), "{status}");
    let parser = screen.parser.lock().unwrap();
    assert!(!parser.screen().alternate_screen() && !parser.screen().hide_cursor());
}

#[test]
fn once_json_is_the_socket_table_of_the_same_filter() {
    private_netns();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _clients: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    let _accepted: Vec<_> = (0..3).map(|_| listener.accept().unwrap()).collect();
    let _udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let filter = format!("sport = :{port} or dport = :{port}");
    let watch = sockscope(&["watch", "--once", "--json", &filter]);
    assert!(watch.status.success(), "{}", String::from_utf8_lossy(&watch.stderr));
    let watch: Value = serde_json::from_slice(&watch.stdout).unwrap();
    let table: Value = serde_json::from_slice(&sockscope(&["-tuanp", &filter, "--json"]).stdout).unwrap();
    let key = |doc: &Value| {
        let mut v: Vec<(u64, String, String)> = doc["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["cookie"].as_u64().unwrap(), s["state"].to_string(), s["owners"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&watch), key(&table));
    assert_eq!(key(&watch).len(), 7, "a listener and three connections, both ends");
    assert_eq!(watch["kind"], "watch");
    let me = std::process::id();
    let p = watch["processes"].as_array().unwrap().iter().find(|p| p["pid"] == me).expect("this test's row");
    assert_eq!((p["states"]["established"].as_u64(), p["states"]["listening"].as_u64()), (Some(6), Some(1)), "{p}");
    let l = &watch["listeners"][0];
    assert_eq!((l["port"].as_u64(), l["connections"]["established"].as_u64()), (Some(u64::from(port)), Some(3)));
    // Text, and a wrong command line.
    let text = sockscope(&["watch", "--once", "--view", "listeners", &filter]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(&format!("127.0.0.1:{port}")));
    for bad in [vec!["watch", "--interval", "0"], vec!["watch", "--once", "dport", "="], vec!["watch", "--count", "0"]]
    {
        let out = sockscope(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `watch --from` in a terminal: the looks of a capture replayed, the last one staying, and
/// `q` quits as live.
#[test]
fn a_capture_replays_on_the_terminal() {
    private_netns();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("watch-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("w.cap");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut held = Vec::new();
    let mut leak = |n: usize| {
        for _ in 0..n {
            let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            held.push(l.accept().unwrap().0);
            drop(c);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    leak(7);
    let out = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["record", "-o"])
        .arg(&cap)
        .args(["--window", "0", "--count", "2", "--interval", "100ms"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let pid = std::process::id().to_string();
    let mut screen = Screen::start(30, 160, &format!("--from {} --interval 300ms", cap.display()));
    let text = screen.until("the replayed process", |t| row(t, &pid).len() > 5);
    assert!(text.contains("Processes"), "{text}");
    // Its CLOSE-WAIT column: seven, as the capture's table says.
    let cw = under(&text, &pid, "CLOSE-WAIT");
    assert_eq!(cw, "7", "{text}");
    screen.send("q");
    assert!(wait(&mut screen.child).success());
    drop(held);
}

/// Issue 29: `watch --config` reads the doctor's thresholds as `doctor --config` does (one
/// TOML reader in core), and its findings follow them.
#[test]
fn a_thresholds_file_sets_the_findings_watch_shows() {
    private_netns();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // Ten CLOSE-WAIT sockets this test holds, persisting from one refresh to the next:
    // critical at the default levels, only noted when a file raises them.
    let _cw: Vec<_> = (0..10).map(|_| sockscope_lab::sockets::close_wait(&l).unwrap()).collect();
    let dir = std::env::temp_dir().join(format!("sockscope-watch-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (good, bad) = (dir.join("t.toml"), dir.join("bad.toml"));
    std::fs::write(&good, "# a leak of a hundred is ours to allow\nclose_wait_warn = 100\n[thresholds]\nclose_wait_crit_persisting = 100\n").unwrap();
    std::fs::write(&bad, "close_wait_warn = 1\nno_such_threshold = 2\n").unwrap();
    // Findings come from the second refresh on (they compare two looks).
    let severities = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["watch", "--count", "2", "-i", "0.1", "--json"];
        args.extend_from_slice(extra);
        let out = sockscope(&args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let last = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_string();
        let doc: Value = serde_json::from_str(&last).unwrap();
        let findings = doc["findings"].as_array().unwrap().iter();
        findings
            .filter(|f| f["rule"] == "close-wait-leak")
            .map(|f| f["severity"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(severities(&[]), ["crit"]);
    assert_eq!(severities(&["--config", good.to_str().unwrap()]), ["info"]);
    let out = sockscope(&["watch", "--once", "--config", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:2: unknown threshold 'no_such_threshold'", bad.display())), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Options may come after the filter, as in the socket table (`watch state close-wait
/// --once` was a filter error), and a mistyped one is an option error naming the one meant.
#[test]
fn options_after_the_filter_are_options() {
    private_netns();
    let out = sockscope(&["watch", "state", "close-wait", "--once", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["kind"], "watch", "{doc}");
    let out = sockscope(&["watch", "state", "close-wait", "--onec"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("'--once'") && !err.contains("filter"), "{err}");
}

/// Issue 31: a connection that closes between two refreshes counts to its close: its bytes
/// since the last look come from its destroy record, for the process that held it.
#[test]
fn a_connection_closed_between_refreshes_counts_with_its_final_bytes() {
    private_netns();
    let script = r#"
import os, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
print(os.getpid(), flush=True)
sys.stdin.readline()
c.sendall(b"x" * 100000); n = 0
while n < 100000: n += len(s.recv(100000 - n))
s.sendall(b"y" * 50000); n = 0
while n < 50000: n += len(c.recv(50000 - n))
c.close(); s.close()
print("closed", flush=True)
sys.stdin.readline()
"#;
    let mut p = Command::new("python3")
        .args(["-u", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut p_out = std::io::BufReader::new(p.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut p_out, &mut line).unwrap();
    let pid: u64 = line.trim().parse().unwrap();
    let mut w = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["watch", "--count", "2", "--interval", "3", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch");
    let mut w_out = std::io::BufReader::new(w.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut w_out, &mut first).unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    assert!(first["interval_s"].is_null(), "{first}");
    // Between the two looks: 100,000 bytes one way, 50,000 the other, and both ends closed.
    let mut stdin = p.stdin.take().unwrap();
    writeln!(stdin, "go").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut p_out, &mut line).unwrap();
    assert_eq!(line.trim(), "closed");
    let mut second = String::new();
    std::io::BufRead::read_line(&mut w_out, &mut second).unwrap();
    assert!(w.wait().unwrap().success());
    drop(stdin);
    let _ = p.wait();
    let second: Value = serde_json::from_str(&second).unwrap();
    let interval = second["interval_s"].as_f64().expect("interval_s");
    assert_eq!(second["destroy_records_lost"], 0, "{second}");
    let proc = second["processes"].as_array().unwrap().iter().find(|v| v["pid"] == pid);
    let proc = proc.unwrap_or_else(|| panic!("the process (it still listens): {second}"));
    // Each direction: the payload, and the kernel's count of each FIN (one per side).
    for key in ["bytes_in_per_s", "bytes_out_per_s"] {
        let bytes = proc[key].as_f64().unwrap() * interval;
        assert!((149_999.5..=150_002.5).contains(&bytes), "{key}: {bytes} bytes over {interval} s: {proc}");
    }
}

/// Issue 32 (12, 16): `--once` gives no rate it cannot know (null, `-`), and with
/// `--interval T` takes two looks T apart so scripts get rates and findings; a share cell is
/// one field for awk.
#[test]
fn watch_once_gives_no_rate_it_does_not_know_and_two_looks_with_an_interval() {
    private_netns();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let _c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let me = std::process::id();
    let doc = |args: &[&str]| -> Value {
        let mut all = vec!["watch", "--json"];
        all.extend_from_slice(args);
        let out = sockscope(&all);
        assert!(out.status.success(), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(text.lines().count(), 1, "{text}");
        serde_json::from_str(&text).unwrap()
    };
    let ours = |d: &Value| d["processes"].as_array().unwrap().iter().find(|p| p["pid"] == me).cloned().unwrap();
    let once = doc(&["--once"]);
    assert!(once["interval_s"].is_null(), "{once}");
    let p = ours(&once);
    assert!(p["bytes_in_per_s"].is_null() && p["bytes_out_per_s"].is_null() && p["new_connections_per_s"].is_null());
    let listener = once["listeners"].as_array().unwrap().iter().find(|v| v["port"] == port).cloned().unwrap();
    assert!(listener["accepts_per_s"].is_null(), "{listener}");
    let twice = doc(&["--once", "--interval", "0.3"]);
    assert!(twice["interval_s"].as_f64().is_some_and(|s| s >= 0.29), "{twice}");
    assert_eq!(ours(&twice)["bytes_in_per_s"], 0.0, "nothing moved: a known 0");
    // Text: `-` where nothing is known, and every cell one field.
    let text = sockscope_ok(&["watch", "--once", "--view", "listeners"]);
    let row = text.lines().find(|l| l.starts_with(&format!("127.0.0.1:{port} "))).unwrap_or_else(|| panic!("{text}"));
    let fields: Vec<&str> = row.split_whitespace().collect();
    let heading: Vec<&str> = text.lines().find(|l| l.starts_with("LOCAL")).unwrap().split_whitespace().collect();
    assert_eq!(fields.len(), heading.len(), "{row}");
    assert_eq!(fields.last(), Some(&"-"), "ACCEPT/s: {row}");
    // A socket already there at the first look is at least that old, not 0 s old.
    let text = sockscope_ok(&["watch", "--once", "--view", "connections"]);
    let row = text.lines().find(|l| l.contains(&format!("127.0.0.1:{port} "))).unwrap_or_else(|| panic!("{text}"));
    assert!(row.split_whitespace().any(|f| f.starts_with('>') && f.ends_with('s')), "AGE: {row}");
}
