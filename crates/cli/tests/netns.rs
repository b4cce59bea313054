//! `--netns` and `--all-netns` against real namespaces: named ones (`ip netns add`), anonymous
//! ones held by processes (`unshare -n`), and a named one with no process in it; each
//! namespace's sockets compared with `ss` run inside it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::{conns_program, sockscope};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Named namespaces made for this test, deleted when it ends (whatever happens).
struct Named(Vec<String>);

impl Named {
    fn add(&mut self, suffix: &str) -> String {
        let name = format!("sst-{}-{suffix}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output().expect("run ip netns add");
        assert!(out.status.success(), "ip netns add {name}: {}", String::from_utf8_lossy(&out.stderr));
        run(&["ip", "netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        self.0.push(name.clone());
        name
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A listener on 127.0.0.1:PORT held by a process started with `prefix` (inside a namespace).
struct Holder(Child);

impl Holder {
    fn start(prefix: &[&str], port: u16) -> Holder {
        Holder::start_family(prefix, "4", port)
    }

    /// The same on [::1]:PORT with family "6".
    fn start_family(prefix: &[&str], family: &str, port: u16) -> Holder {
        let mut child = Command::new(prefix[0])
            .args(&prefix[1..])
            .args([conns_program(), "storm-serve", family, &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a listener");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn netns_inode(path: &str) -> u64 {
    let link = std::fs::read_link(path).map(|l| l.to_string_lossy().into_owned());
    match link {
        Ok(l) => l.trim_start_matches("net:[").trim_end_matches(']').parse().unwrap(),
        Err(_) => rustix::fs::stat(path).unwrap().st_ino,
    }
}

/// `local:port state` of each TCP socket in ss's words, sorted.
fn ss_rows(prefix: &[&str]) -> Vec<String> {
    let mut args: Vec<&str> = prefix.to_vec();
    args.extend(["ss", "-tanH"]);
    let mut rows: Vec<String> = run(&args)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 5).then(|| format!("{} {}", w[3], w[0]))
        })
        .collect();
    rows.sort();
    rows
}

fn state_name(v: &Value) -> String {
    match v["state"].as_str().unwrap_or("?") {
        "listening" => "LISTEN".into(),
        "established" => "ESTAB".into(),
        other => other.to_uppercase(),
    }
}

#[test]
fn all_netns_lists_every_namespace_and_each_socket_once() {
    let mut named = Named(Vec::new());
    let (a, b, c, empty) = (named.add("a"), named.add("b"), named.add("c"), named.add("empty"));
    let _ha = Holder::start(&["ip", "netns", "exec", &a], 7101);
    // Both IP families in one namespace: they are read in one walk, and must come out as two.
    let _ha6 = Holder::start_family(&["ip", "netns", "exec", &a], "6", 7106);
    let _hb = Holder::start(&["ip", "netns", "exec", &b], 7102);
    let _hc = Holder::start(&["ip", "netns", "exec", &c], 7103);
    let anon1 = Holder::start(&["unshare", "-n"], 7104);
    let anon2 = Holder::start(&["unshare", "-n"], 7105);
    let doc: Value = serde_json::from_slice(&sockscope(&["-tanp", "--all-netns", "--json"]).stdout).unwrap();
    let namespaces = doc["namespaces"].as_array().expect("namespaces");
    let sockets = doc["sockets"].as_array().expect("sockets");
    let ours = [
        (format!("/run/netns/{a}"), Some(a.as_str()), 7101, None),
        (format!("/run/netns/{b}"), Some(b.as_str()), 7102, None),
        (format!("/run/netns/{c}"), Some(c.as_str()), 7103, None),
        (format!("/proc/{}/ns/net", anon1.0.id()), None, 7104, Some(anon1.0.id())),
        (format!("/proc/{}/ns/net", anon2.0.id()), None, 7105, Some(anon2.0.id())),
    ];
    for (path, name, port, pid) in &ours {
        let inode = netns_inode(path);
        let ns = namespaces.iter().find(|n| n["inode"] == inode).unwrap_or_else(|| panic!("{path} not listed"));
        assert_eq!(ns["name"].as_str(), *name, "{ns}");
        // Its sockets, exactly once each, and as ss inside it sees them.
        let mine: Vec<&Value> = sockets.iter().filter(|s| s["netns"] == inode).collect();
        let listeners: Vec<&&Value> = mine.iter().filter(|s| s["local"]["port"] == *port).collect();
        assert_eq!(listeners.len(), 1, "one listener on {port} in {path}: {mine:?}");
        assert_eq!(listeners[0]["owners"][0]["command"], "ev-server");
        let families: Vec<&str> = mine.iter().filter_map(|s| s["family"].as_str()).collect();
        assert!(!families.windows(2).any(|w| w == ["inet6", "inet"]), "IPv4 first, as ss: {families:?}");
        let mut rows: Vec<String> = mine
            .iter()
            .map(|s| {
                let address = s["local"]["address"].as_str().unwrap_or("?");
                let address = if address.contains(':') { format!("[{address}]") } else { address.to_string() };
                format!("{address}:{} {}", s["local"]["port"], state_name(s))
            })
            .collect();
        rows.sort();
        let pid_text = pid.map(|p| p.to_string());
        let prefix: Vec<&str> = match (name, &pid_text) {
            (Some(n), _) => vec!["ip", "netns", "exec", n],
            (None, Some(p)) => vec!["nsenter", "-t", p, "-n"],
            _ => unreachable!(),
        };
        assert_eq!(rows, ss_rows(&prefix), "{path}");
    }
    // The named namespace with no process in it is found too (from its bind mount).
    let empty_inode = netns_inode(&format!("/run/netns/{empty}"));
    assert!(namespaces.iter().any(|n| n["inode"] == empty_inode && n["name"] == empty.as_str()), "{namespaces:?}");
    let a_inode = netns_inode(&format!("/run/netns/{a}"));
    assert!(
        sockets.iter().any(|s| s["netns"] == a_inode && s["local"]["port"] == 7106 && s["family"] == "inet6"),
        "the IPv6 listener in {a}"
    );
    // No socket is listed twice.
    let mut cookies: Vec<u64> = sockets.iter().filter_map(|s| s["cookie"].as_u64()).collect();
    let n = cookies.len();
    cookies.sort_unstable();
    cookies.dedup();
    assert_eq!(cookies.len(), n, "a socket listed twice");
    // The table names each namespace in a Netns column.
    let table = String::from_utf8(sockscope(&["-tln", "--all-netns"]).stdout).unwrap();
    assert!(table.starts_with("Netns"), "{table}");
    assert!(table.lines().any(|l| l.starts_with(a.as_str()) && l.contains(":7101")), "{table}");
    // --netns: the caller's namespace and the ones named.
    let two =
        String::from_utf8(sockscope(&["-tln", "--netns", &a, "--netns", &format!("pid:{}", anon1.0.id())]).stdout)
            .unwrap();
    assert!(two.contains(":7101") && two.contains(":7104") && !two.contains(":7102"), "{two}");
}

#[test]
fn a_namespace_that_is_not_there_is_one_clear_error() {
    for (spec, words) in [
        ("sst-no-such-name", "no network namespace of that name"),
        ("/etc/passwd", "not a network namespace"),
        ("/no/such/file", "no such file"),
        ("pid:999999999", "no process 999999999"),
        ("pid:x", "not a name, a path or pid:PID"),
    ] {
        let out = sockscope(&["-tan", "--netns", spec]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains(words), "{spec}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn without_privilege_the_namespaces_it_cannot_enter_are_one_note() {
    let mut named = Named(Vec::new());
    let (a, b) = (named.add("pa"), named.add("pb"));
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", env!("CARGO_BIN_EXE_sockscope")])
        .args(["-tln", "--all-netns"])
        .output()
        .expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let notes: Vec<&str> = err.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(notes.len(), 1, "one note for every namespace skipped for the same reason: {err}");
    // Other tests' namespaces may be there too; these two at least.
    let skipped: usize = notes[0].split_whitespace().nth(3).and_then(|n| n.parse().ok()).expect("skipped N of M");
    assert!(skipped >= 2 && notes[0].contains("CAP_SYS_ADMIN"), "{err}");
    // Five are named, the rest counted: with five or fewer, these two are among the names;
    // with more, the count of the rest is exact.
    if skipped <= 5 {
        assert!(notes[0].contains(&a) && notes[0].contains(&b), "{err}");
    } else {
        assert!(notes[0].contains(&format!("and {} more", skipped - 5)), "{err}");
    }
}
