//! Container labels from real cgroup v2 directories named as Docker (systemd and cgroupfs
//! drivers), Kubernetes (both layouts), Podman and an ordinary service name them, each with a
//! process holding a listener in its own network namespace; and where the labels show: JSON,
//! the Netns column, the filter words, --summary-by, who and doctor.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::conns_program;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const DOCKER: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
const DOCKER_FS: &str = "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a";
const K8S: &str = "3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b";
const K8S_FS: &str = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";
const PODMAN: &str = "5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
const MOVED: &str = "6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
const LEFT: &str = "8192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70";
const LEAK: &str = "708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const POD_UID: &str = "8e1d6f0a-2b3c-4d5e-9f60-718293a4b5c6";
const POD_UID_FS: &str = "9f2e7a1b-3c4d-4e5f-8a71-829304b5c6d7";

/// The cgroup v2 mount (on a hybrid host, /sys/fs/cgroup/unified).
fn cgroup2_root() -> PathBuf {
    // Bytes: another mount's path may hold any byte (a line that is not UTF-8 is skipped).
    let info = std::fs::read("/proc/self/mountinfo").unwrap();
    info.split(|b| *b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .find_map(|l| {
            let (before, after) = l.split_once(" - ")?;
            (after.split(' ').next()? == "cgroup2").then(|| PathBuf::from(before.split(' ').nth(4).unwrap()))
        })
        .expect("test setup failed: no cgroup2 file system is mounted")
}

/// This test's cgroup tree, removed (processes first) when the test ends.
struct Tree {
    top: PathBuf,
    children: Vec<Child>,
}

impl Tree {
    /// `test`: the test's own name (tests run in parallel in one process).
    fn new(test: &str) -> Tree {
        let top = cgroup2_root().join(format!("sst-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&top).expect("make a cgroup (needs root)");
        Tree { top, children: Vec::new() }
    }

    fn dir(&self, rel: &str) -> PathBuf {
        let d = self.top.join(rel);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A listener on 127.0.0.1:PORT made inside cgroup `rel`, in a network namespace of its own.
    fn listener_in(&mut self, rel: &str, port: u16) {
        let procs = self.dir(rel).join("cgroup.procs");
        let script = format!(
            "echo $$ > '{}' && exec unshare -n sh -c 'ip link set lo up && exec {} storm-serve 4 {port}'",
            procs.display(),
            conns_program()
        );
        self.start(Command::new("sh").args(["-c", &script]), "ready");
    }

    /// Starts `cmd`, waits until its first output line starts with `ready`.
    fn start(&mut self, cmd: &mut Command, ready: &str) -> u32 {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start a holder");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with(ready), "{line}");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    fn move_into(&self, rel: &str, pid: u32) {
        std::fs::write(self.dir(rel).join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deepest first: a cgroup is removed with rmdir once empty.
        let mut dirs = Vec::new();
        let mut stack = vec![self.top.clone()];
        while let Some(d) = stack.pop() {
            if let Ok(entries) = std::fs::read_dir(&d) {
                stack.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
            }
            dirs.push(d);
        }
        for d in dirs.iter().rev() {
            for _ in 0..50 {
                if std::fs::remove_dir(d).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

/// The kubelet's pod log directories, for pod names.
fn pod_logs() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pods-{}", std::process::id()));
    std::fs::create_dir_all(dir.join(format!("shop_web-0_{POD_UID}"))).unwrap();
    dir
}

fn run(pods: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockscope")).env("SOCKSCOPE_POD_LOGS", pods).args(args).output().unwrap()
}

fn ok(pods: &Path, args: &[&str]) -> String {
    let out = run(pods, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json(pods: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(pods, args)).unwrap()
}

fn listener(doc: &Value, port: u16) -> &Value {
    let found: Vec<&Value> = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["local"]["port"] == port && s["state"] == "listening")
        .collect();
    assert_eq!(found.len(), 1, "one listener on {port}");
    found[0]
}

/// (runtime, id, pod uid, pod namespace, pod name) of a container.
type Label = (String, String, Option<String>, Option<String>, Option<String>);

fn want(runtime: &str, id: &str, pod: Option<(&str, Option<(&str, &str)>)>) -> Option<Label> {
    let name = pod.and_then(|p| p.1);
    Some((
        runtime.to_string(),
        id.to_string(),
        pod.map(|p| p.0.to_string()),
        name.map(|n| n.0.to_string()),
        name.map(|n| n.1.to_string()),
    ))
}

/// The label of a socket's or namespace's container.
fn label(v: &Value) -> Option<Label> {
    let c = v.get("container")?;
    let s = |k: &str| c[k].as_str().map(str::to_owned);
    Some((s("runtime")?, s("id")?, s("pod_uid"), s("pod_namespace"), s("pod_name")))
}

#[test]
fn each_runtime_layout_labels_its_sockets_and_namespace() {
    let pods = pod_logs();
    let mut tree = Tree::new("labels");
    let k8s = format!(
        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{K8S}.scope",
        POD_UID.replace('-', "_")
    );
    let cases: Vec<(String, u16, Option<Label>)> = vec![
        (format!("system.slice/docker-{DOCKER}.scope"), 7201, want("docker", DOCKER, None)),
        (format!("docker/{DOCKER_FS}"), 7202, want("docker", DOCKER_FS, None)),
        (k8s, 7203, want("containerd", K8S, Some((POD_UID, Some(("shop", "web-0")))))),
        (
            format!("kubepods/besteffort/pod{POD_UID_FS}/{K8S_FS}"),
            7204,
            want("containerd", K8S_FS, Some((POD_UID_FS, None))),
        ),
        (format!("machine.slice/libpod-{PODMAN}.scope/container"), 7205, want("podman", PODMAN, None)),
        ("user.slice/user-1000.slice/session-9.scope".to_string(), 7206, None),
    ];
    for (rel, port, _) in &cases {
        tree.listener_in(rel, *port);
    }
    // A process whose socket was made before it moved into a container's cgroup: its owner's
    // cgroup says so, the socket's own (where it was made) does not.
    let moved = tree.start(Command::new(conns_program()).args(["storm-serve", "4", "7207"]), "ready");
    tree.move_into(&format!("system.slice/docker-{MOVED}.scope"), moved);
    // And the other way round: made in a container's cgroup, then moved out of it.
    let procs = tree.dir(&format!("system.slice/docker-{LEFT}.scope")).join("cgroup.procs");
    let script = format!("echo $$ > '{}' && exec {} storm-serve 4 7208", procs.display(), conns_program());
    let left = tree.start(Command::new("sh").args(["-c", &script]), "ready");
    tree.move_into("system.slice/cron.service", left);

    let with_owners = json(&pods, &["-tlnp", "--all-netns", "--json"]);
    let namespaces = with_owners["namespaces"].as_array().unwrap();
    for (rel, port, want) in &cases {
        let s = listener(&with_owners, *port);
        assert_eq!(&label(s), want, "{rel}: {s}");
        // Its namespace is labelled from the process inside.
        let ns = namespaces.iter().find(|n| n["inode"] == s["netns"]).expect("its namespace listed");
        assert_eq!(&label(ns), want, "{rel}: namespace {ns}");
    }
    // The owner's cgroup (where the process is now) comes first.
    let moved_s = listener(&with_owners, 7207);
    assert_eq!(label(moved_s).map(|l| l.1), Some(MOVED.to_string()), "{moved_s}");
    assert_eq!(label(listener(&with_owners, 7208)), None, "its owner left the container");

    // The Netns column names namespaces by container where they have no name.
    let table = ok(&pods, &["-tln", "--all-netns"]);
    let row = |port: u16| table.lines().find(|l| l.contains(&format!(":{port} "))).unwrap_or_default().to_string();
    assert!(row(7201).starts_with(&format!("docker:{}", &DOCKER[..12])), "{table}");
    assert!(row(7203).starts_with("pod:shop/web-0"), "{table}");
    assert!(row(7204).starts_with(&format!("pod:{POD_UID_FS}")), "{table}");
    assert!(row(7206).starts_with("net:["), "{table}");

    // Filter words: container by id prefix or pod name, netns by label; each reads every
    // namespace. The table without -p reads no owners: the socket's own cgroup (the kernel
    // reports it) decides, else its namespace's container.
    let only_with = |extra: &[&str], filter: &str| -> Vec<u64> {
        let mut args = vec!["-tlnH", filter];
        args.extend_from_slice(extra);
        let table = ok(&pods, &args);
        (7201..=7208).filter(|p| table.contains(&format!(":{p} "))).collect()
    };
    let only = |filter: &str| only_with(&[], filter);
    assert_eq!(only(&format!("container = {}", &LEFT[..8])), vec![7208], "made there, so labelled there");
    assert_eq!(only(&format!("container = {}", &MOVED[..8])), Vec::<u64>::new(), "made outside");
    assert_eq!(only_with(&["-p"], &format!("container = {}", &MOVED[..8])), vec![7207]);
    assert_eq!(only_with(&["-p"], &format!("container = {}", &LEFT[..8])), Vec::<u64>::new());
    assert_eq!(only(&format!("container = {}", &DOCKER[..10])), vec![7201]);
    assert_eq!(only("container = web-0"), vec![7203]);
    assert_eq!(only("container = shop/web-0"), vec![7203]);
    assert_eq!(only(&format!("netns = podman:{}", &PODMAN[..12])), vec![7205]);
    let not_podman = only(&format!("sport >= :7201 and sport <= :7206 and container != {}", &PODMAN[..8]));
    assert_eq!(not_podman, vec![7201, 7202, 7203, 7204, 7206]);

    // --summary-by container: one group per container, the rest together.
    let groups = json(&pods, &["-tl", "sport >= :7201 and sport <= :7206", "--summary-by", "container", "--json"]);
    let keys: Vec<(&str, u64)> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["total"].as_u64().unwrap()))
        .collect();
    assert!(keys.contains(&("pod:shop/web-0", 1)), "{keys:?}");
    assert!(keys.contains(&(&*format!("docker:{}", &DOCKER[..12]), 1)), "{keys:?}");
    assert!(keys.contains(&("(no container)", 1)), "{keys:?}");
    assert_eq!(keys.iter().map(|k| k.1).sum::<u64>(), 6, "{keys:?}");

    // who: which container holds the port.
    let who = ok(&pods, &["who", ":7203", "--all-netns"]);
    assert!(who.starts_with("NETNS") && who.contains("pod:shop/web-0"), "{who}");
    assert!(who.contains("listens on port 7203 in pod:shop/web-0"), "{who}");
    let here = run(&pods, &["who", ":7203"]);
    assert_eq!(here.status.code(), Some(1), "not found here");
    let who_here = String::from_utf8_lossy(&here.stdout);
    assert!(who_here.contains("nothing holds port 7203 in this network namespace"), "{who_here}");
}

#[test]
fn doctor_names_the_container_of_a_close_wait_leak() {
    let pods = pod_logs();
    let mut tree = Tree::new("doctor");
    let procs = tree.dir(&format!("system.slice/docker-{LEAK}.scope")).join("cgroup.procs");
    let script = format!(
        "echo $$ > '{}' && exec {} lab close-wait --netns --count 12 --hold 120 --json",
        procs.display(),
        env!("CARGO_BIN_EXE_sockscope")
    );
    tree.start(Command::new("sh").args(["-c", &script]), "{");
    // The doctor's exit status says how bad it is (2: critical); its JSON is what is checked.
    let doctor = |args: &[&str]| -> Value { serde_json::from_slice(&run(&pods, args).stdout).unwrap() };
    let report = doctor(&["doctor", "--all-netns", "--json"]);
    let findings = report["findings"].as_array().expect("findings");
    let leak = findings
        .iter()
        .find(|f| f["rule"] == "close-wait-leak" && f["summary"].as_str().unwrap().contains(&LEAK[..12]))
        .unwrap_or_else(|| panic!("no close-wait finding in the container: {findings:?}"));
    assert!(leak["summary"].as_str().unwrap().ends_with(&format!("(in docker:{})", &LEAK[..12])), "{leak}");
    assert!(leak["evidence"]["close_wait"].as_u64().unwrap() >= 12, "{leak}");
    let socket = &leak["sockets"][0];
    assert_eq!(socket["container"], format!("docker:{}", &LEAK[..12]), "{leak}");
    assert!(socket["netns"].is_string(), "another namespace than the caller's: {leak}");
    assert!(leak["fix"].as_str().unwrap().contains("--all-netns"), "{leak}");
    // Without --all-netns the leak is in a namespace the doctor does not read.
    let here = doctor(&["doctor", "--json"]);
    assert!(
        !here["findings"].as_array().unwrap().iter().any(|f| f["summary"].as_str().unwrap().contains(&LEAK[..12])),
        "{here}"
    );
}

#[test]
fn netns_and_container_conditions_with_n_are_one_clear_error() {
    let pods = pod_logs();
    let out = run(&pods, &["-tln", "-N", "whatever", "container = abc"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("use --netns NAME"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
