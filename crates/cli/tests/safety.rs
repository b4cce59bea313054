//! Safe on a hostile host (issue 28): every input has a bound, every file written is private
//! and never follows another user's symlink, and nothing from a capture reaches the terminal
//! raw. Each test is named after the numbered item of the issue it pins.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;
use common::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("safety-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// sockscope with its address space limited to `mib` MiB (prlimit, util-linux): past it an
/// allocation fails and the process aborts, so a clean exit proves the bound.
fn sockscope_within(mib: u64, args: &[&str], stdin: Stdio) -> Output {
    Command::new("prlimit")
        .arg(format!("--as={}", mib << 20))
        .arg(env!("CARGO_BIN_EXE_sockscope"))
        .args(args)
        .stdin(stdin)
        .output()
        .expect("run prlimit (util-linux)")
}

/// One clear line on stderr, exit `code`, and no abort.
fn refused(out: &Output, code: i32, says: &str, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{what}: {}: {err}", out.status);
    assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
    assert!(err.contains(says), "{what}: {err}");
}

/// A zstd frame holding `bytes` then `zeros` zero bytes, written by hand: the bytes as a raw
/// block, the zeros as run-length blocks of 128 KiB (4 bytes each), so a bomb of gigabytes
/// costs kilobytes to make.
fn zstd_frame(bytes: &[u8], zeros: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]; // magic; no size, no checksum; 128 KiB window
    let header = |last: bool, kind: u32, size: u64| {
        let v = u32::from(last) | (kind << 1) | ((size as u32) << 3);
        v.to_le_bytes()[..3].to_vec()
    };
    f.extend(header(zeros == 0, 0, bytes.len() as u64));
    f.extend_from_slice(bytes);
    let mut left = zeros;
    while left > 0 {
        let n = left.min(BLOCK);
        left -= n;
        f.extend(header(left == 0, 1, n));
        f.push(0);
    }
    f
}

/// A capture whose `looks` frames each claim and hold `size` bytes of zeros.
fn bomb(looks: usize, size: u64) -> Vec<u8> {
    let mut b = b"sockscope capture\n".to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    for _ in 0..looks {
        let mut len = Vec::new();
        let mut n = size;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                len.push(byte);
                break;
            }
            len.push(byte | 0x80);
        }
        b.extend(zstd_frame(&len, size));
    }
    b
}

/// Item 1: a capture of 8 looks of 1 GiB each in about 256 KiB is refused by every command
/// that reads one, within 256 MiB, whichever look is asked for; `--max-decompressed` reads
/// further only as far as it says.
#[test]
fn item_1_a_decompression_bomb_is_refused_within_256_mib() {
    let d = dir("bomb");
    let path = d.join("bomb.cap");
    std::fs::write(&path, bomb(8, 1 << 30)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 300 << 10);
    let p = path.to_str().unwrap();
    for args in [
        vec!["--from", p, "--frame", "1", "-tan"],
        vec!["--from", p, "--frame", "8", "-tan"],
        vec!["--from", p, "-tan"],
        vec!["--from", p, "fds"],
        vec!["--from", p, "doctor"],
        vec!["--from", p, "watch", "--once"],
        vec!["diff", p, p],
    ] {
        let out = sockscope_within(256, &args, Stdio::null());
        refused(&out, 2, "decompresses to more than 67108864 bytes", &format!("{args:?}"));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--max-decompressed"),
            "{args:?}: says how to read it anyway"
        );
    }
    let out = sockscope_within(256, &["--from", p, "--max-decompressed", "100m", "-tan"], Stdio::null());
    refused(&out, 2, "more than 104857600 bytes", "--max-decompressed 100m");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the limit --max-decompressed set"));
}

/// Item 2: endless inputs end at their first bytes, within 64 MiB, with one line and exit 2
/// (or the doctor's and the filter's own error status, 1).
#[test]
fn item_2_endless_inputs_end_within_64_mib() {
    for (args, code, says) in [
        (vec!["--from", "/dev/zero", "-tan"], 2, "not a sockscope capture"),
        (vec!["--from", "-", "-tan"], 2, "not a sockscope capture"),
        (vec!["diff", "/dev/zero", "/dev/zero"], 2, "not a sockscope capture"),
        (vec!["serve", "--config", "/dev/zero"], 2, "--config /dev/zero is larger than 8 MiB"),
        (vec!["doctor", "--config", "/dev/zero"], 1, "the config file /dev/zero is larger than 8 MiB"),
        (vec!["-t", "-F", "/dev/zero"], 1, "filter file /dev/zero is larger than 8 MiB"),
    ] {
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let out = sockscope_within(64, &args, Stdio::from(zero));
        refused(&out, code, says, &format!("{args:?}"));
    }
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 64u64 << 20))
        .arg(env!("CARGO_BIN_EXE_sockscope"))
        .arg("-tan")
        .env("TCPDIAG_FILE", "/dev/zero")
        .output()
        .unwrap();
    refused(&out, 1, "cannot read the TCP dump /dev/zero: a netlink header at byte 0 is malformed", "TCPDIAG_FILE");
}

/// Item 2: a capture piped through a FIFO or /dev/fd/N (`zstdcat x | sockscope --from -`)
/// still reads, a look at a time.
#[test]
fn item_2_a_capture_still_reads_from_a_pipe() {
    private_netns();
    let _listener = std::net::TcpListener::bind("127.0.0.1:7207").unwrap();
    let d = dir("pipe");
    let cap = d.join("host.cap");
    sockscope_ok(&["record", "-o", cap.to_str().unwrap(), "--count", "2", "--interval", "0.1", "--window", "0"]);
    let bytes = std::fs::read(&cap).unwrap();
    for from in ["-", "/dev/fd/0", "/dev/stdin"] {
        for frame in [None, Some("1")] {
            let mut args = vec!["--from", from];
            if let Some(f) = frame {
                args.extend(["--frame", f]);
            }
            args.extend(["-tln", "sport = :7207"]);
            let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
                .args(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let b = bytes.clone();
            let writer = std::thread::spawn(move || stdin.write_all(&b));
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(text.contains("127.0.0.1:7207"), "{args:?}: {text}");
            let look = if frame.is_some() { "(look 1 of 2)" } else { "(look 2 of 2)" };
            assert!(String::from_utf8_lossy(&out.stderr).contains(look), "{args:?}");
        }
    }
    let _ = std::fs::remove_dir_all(d);
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Item 3: captures, `trace -o` files and `-D` dumps are created 0600, whatever the umask
/// lets through, unless `--file-mode` says otherwise.
#[test]
fn item_3_files_written_are_private() {
    private_netns();
    let d = dir("private");
    let path = |name: &str| d.join(name).to_str().unwrap().to_string();
    let (cap, trace, dump) = (path("host.cap"), path("trace.out"), path("dump.raw"));
    sockscope_ok(&["record", "-o", &cap, "--window", "0"]);
    sockscope_ok(&["trace", "-o", &trace, "--", "true"]);
    sockscope_ok(&["-t", "-D", &dump]);
    for p in [&cap, &trace, &dump] {
        assert_eq!(mode_of(Path::new(p)), 0o600, "{p}");
    }
    // Replaced (--force, and -D/-o over an old file): private too, and the old mode is gone.
    for p in [&cap, &trace, &dump] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    sockscope_ok(&["record", "--force", "-o", &cap, "--window", "0"]);
    sockscope_ok(&["trace", "-o", &trace, "--", "true"]);
    sockscope_ok(&["-t", "-D", &dump]);
    for p in [&cap, &trace, &dump] {
        assert_eq!(mode_of(Path::new(p)), 0o600, "{p} replaced");
    }
    sockscope_ok(&["--file-mode", "640", "record", "--force", "-o", &cap, "--window", "0"]);
    assert_eq!(mode_of(Path::new(&cap)), 0o640);
    let out = sockscope(&["--file-mode", "999", "record", "-o", &path("x.cap")]);
    assert_eq!(out.status.code(), Some(2));
    // A device is written as it is, never replaced by a private regular file.
    sockscope_ok(&["-t", "-D", "/dev/null"]);
    sockscope_ok(&["trace", "-o", "/dev/null", "--", "true"]);
    let null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&null.file_type()), "/dev/null is no longer a device");
    let _ = std::fs::remove_dir_all(d);
}

/// Item 4: in a sticky, world-writable directory, a symlink `nobody` planted is never written
/// through: `trace -o`, `record --force -o` and `-D` refuse it in one line (exit 2), and
/// `record -o` says it exists. The root-owned file it points to is untouched.
#[test]
fn item_4_another_users_symlink_is_not_followed() {
    private_netns();
    let shared = std::env::temp_dir().join(format!("sockscope-safety-sticky-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&shared);
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = dir("victim").join("precious");
    std::fs::write(&victim, b"keep me").unwrap();
    let link = shared.join("x");
    let planted = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "ln", "-s"])
        .arg(&victim)
        .arg(&link)
        .status()
        .expect("run setpriv (util-linux)");
    assert!(planted.success(), "nobody plants a symlink in {}", shared.display());
    let l = link.to_str().unwrap();
    for args in
        [vec!["trace", "-o", l, "--", "true"], vec!["record", "--force", "-o", l, "--window", "0"], vec!["-t", "-D", l]]
    {
        let out = sockscope(&args);
        refused(&out, 2, "symlink owned by uid 65534 in the shared directory", &format!("{args:?}"));
    }
    let out = sockscope(&["record", "-o", l, "--window", "0"]);
    refused(&out, 2, "it exists (--force replaces it)", "record -o");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    // The same link is followed where the kernel would follow it: in a directory that is
    // not shared.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    sockscope_ok(&["-t", "-D", l]);
    assert_ne!(std::fs::read(&victim).unwrap(), b"keep me");
    let _ = std::fs::remove_dir_all(&shared);
}

/// Runs a shell script in a private mount namespace (unshare -m), with `$S` the sockscope
/// binary; its stdout.
fn in_private_mounts(script: &str) -> String {
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .env("S", env!("CARGO_BIN_EXE_sockscope"))
        .output()
        .expect("run unshare (util-linux)");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script}\n{stdout}\n{stderr}");
    stdout.into_owned()
}

/// Item 5: where tracefs is not mounted, `events` reads a private instance that no path
/// reaches: while it runs, and after `kill -9`, the namespace has exactly the tracefs mounts
/// it had (none), and nothing is left in /tmp. As `nobody` with tracefs mounted 0700, the
/// error names the permission.
#[test]
fn item_5_tracefs_is_reached_without_a_mount_left_behind() {
    let script = r#"
        set -e
        # Whatever this host has mounted, this namespace starts with no tracefs.
        awk '$3 == "tracefs" { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
        before=$(awk '$3 == "tracefs"' /proc/self/mounts | wc -l)
        "$S" events --duration 600 >/dev/null 2>&1 &
        pid=$!
        # Running once it holds its tracepoints' perf events.
        i=0
        until ls -l /proc/$pid/fd 2>/dev/null | grep -q perf_event; do
            i=$((i + 1)); [ $i -lt 2400 ] || { echo "events never opened its tracepoints"; exit 1; }
            kill -0 $pid || { echo "events exited"; exit 1; }
            sleep 0.05
        done
        during=$(awk '$3 == "tracefs"' /proc/$pid/mounts | wc -l)
        kill -9 $pid
        wait $pid || true
        after=$(awk '$3 == "tracefs"' /proc/self/mounts | wc -l)
        left=$(ls /tmp | grep -c sockscope-tracefs || true)
        echo "$before $during $after $left"
    "#;
    assert_eq!(in_private_mounts(script).trim(), "0 0 0 0", "tracefs mounts before, during, after; dirs left in /tmp");
    let denied = in_private_mounts(
        r#"mount -t tracefs -o mode=0700 nodev /sys/kernel/tracing
           setpriv --reuid=65534 --regid=65534 --clear-groups "$S" events --duration 1 2>&1 || true"#,
    );
    assert!(denied.contains("tracefs at /sys/kernel/tracing is not readable: permission denied"), "{denied}");
    assert!(!denied.contains("not mounted"), "{denied}");
}

/// The test suite on an odd host: a mount point holding the byte 0xFF made sockscope drop
/// the whole mountinfo (the cgroup column read `cgroup:/unified` where ss printed `cgroup:/`,
/// hidepid went unseen). Only that line may be skipped: the extended columns equal ss's.
#[test]
fn odd_host_a_mount_path_that_is_not_utf8_changes_no_answer() {
    let out = in_private_mounts(
        r#"set -e
        unshare -n sh -c '
            set -e
            ip link set lo up
            d="/tmp/sockscope-odd-$$-$(printf "\377")"
            mkdir -p "$d"
            mount -t tmpfs odd "$d"
            grep -q "$(printf "\377")" /proc/self/mountinfo
            python3 -c "import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",7301)); s.listen(); time.sleep(600)" &
            i=0
            until ss -tln | grep -q 127.0.0.1:7301; do i=$((i+1)); [ $i -lt 2400 ]; sleep 0.05; done
            ss -tlneH | tr -s " " | sed "s/ <->$//"
            echo ---
            "$S" -tlneH | tr -s " "
            kill $!
            umount "$d"; rmdir "$d"'
        "#,
    );
    let (ss, ours) = out.split_once("---\n").unwrap();
    let cgroup = |t: &str| t.split_whitespace().find(|w| w.starts_with("cgroup:")).map(str::to_string);
    assert!(cgroup(ss).is_some(), "{out}");
    assert_eq!(cgroup(ours), cgroup(ss), "{out}");
}

/// A python3 process that runs `code` (which prints a pid when ready), killed when dropped.
struct Python(std::process::Child);

impl Python {
    fn start(code: &str) -> (Python, u32) {
        let mut child = Command::new("python3").args(["-c", code]).stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let pid = line.trim().parse().unwrap();
        (Python(child), pid)
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Item 9: a process named with a byte that is not UTF-8 (`prctl(PR_SET_NAME, "a\xff")`) can
/// be traced, and `fds` and `who` show it escaped; `trace -p` on a zombie says it is one (exit
/// 2), not "permission denied".
#[test]
fn item_9_odd_names_and_zombies_are_what_they_are() {
    private_netns();
    let (_named, pid) = Python::start(
        "import ctypes, os, socket, time\n\
         ctypes.CDLL(None).prctl(15, b'a\\xff', 0, 0, 0)\n\
         s = socket.socket(); s.bind(('127.0.0.1', 7309)); s.listen()\n\
         print(os.getpid(), flush=True)\n\
         while True:\n    socket.socket().close(); time.sleep(0.05)",
    );
    assert_eq!(std::fs::read(format!("/proc/{pid}/comm")).unwrap(), b"a\xff\n");
    let fds = sockscope_ok(&["fds", &pid.to_string()]);
    assert!(fds.contains("a\\xff"), "{fds}");
    let who = sockscope_ok(&["who", ":7309"]);
    assert!(who.contains("a\\xff") && who.contains(&pid.to_string()), "{who}");
    let mut trace = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["trace", "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the trace attaches", || {
        // Bytes: its Name line is not UTF-8.
        let status = std::fs::read(format!("/proc/{pid}/status")).unwrap();
        let status = String::from_utf8_lossy(&status);
        status.contains("TracerPid:") && !status.contains("TracerPid:\t0") || trace.try_wait().unwrap().is_some()
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(trace.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = trace.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", out.status);
    assert!(!err.contains("no process"), "{err}");

    let (_parent, zombie) = Python::start(
        "import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(600)",
    );
    wait_until("the child is a zombie", || {
        std::fs::read_to_string(format!("/proc/{zombie}/stat")).is_ok_and(|s| s.contains(") Z "))
    });
    let out = sockscope(&["trace", "-p", &zombie.to_string()]);
    refused(&out, 2, &format!("process {zombie} is a zombie"), "trace -p ZOMBIE");
}

/// What a hostile capture puts in every string it holds: a sequence that hides all that
/// follows (SGR 8), one that retitles the terminal (OSC), a bidi override and a bell.
const HOSTILE: &str = "\x1b[8mHIDE\x1b]0;pwned\x07\u{202e}";

/// Every byte a terminal would act on, in `text`: ESC, other C0 but newline and tab, C1, bidi.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
        })
        .collect()
}

/// Item 6: every string read from a capture is untrusted. A capture whose header, warnings,
/// unreadable reasons, stale paths and directories, cgroup paths, pod names, namespace names
/// and process names all hold escape sequences, read by every command that reads one (its
/// file name hostile too), puts no control character on the terminal: not even a colour.
#[test]
fn item_6_a_hostile_capture_reaches_no_terminal_raw() {
    use sockscope_core::capture::{Capture, Header, Recorder};
    private_netns();
    let _listener = std::net::TcpListener::bind("127.0.0.1:7306").unwrap();
    let d = dir("hostile-capture");
    let honest = d.join("honest.cap");
    sockscope_ok(&["record", "-o", honest.to_str().unwrap(), "--window", "0"]);
    let mut c = Capture::from_bytes(&std::fs::read(&honest).unwrap(), &honest).unwrap();
    let h = |s: &str| format!("{s}{HOSTILE}");
    let header = Header { hostname: h("host"), kernel: h("6.1"), written_by: h("sockscope 0.1.0"), ..c.header.clone() };
    let f = &mut c.frames[0];
    f.warnings.push(h("warning"));
    f.unreadable.push((4_000_000, h("reason")));
    f.stale.push(h("/tmp/stale.sock"));
    f.stale_dirs.push(h("/tmp"));
    f.cgroups.push((1, h("/system.slice/x")));
    f.pods.push((h("uid"), h("ns"), h("pod")));
    f.hidepid = Some(h("2"));
    for p in &mut f.processes {
        p.command = h(&p.command);
    }
    for n in &mut f.namespaces {
        n.name = Some(h("ns"));
    }
    let name = format!("cap{HOSTILE}.cap");
    let path = d.join(&name);
    let file = std::fs::File::create(&path).unwrap();
    let mut rec = Recorder::new(file, &header, &path).unwrap();
    rec.frame(&c.frames[0]).unwrap();
    rec.finish().unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["--from", p, "-tanp"],
        vec!["--from", p, "-s"],
        vec!["--from", p, "-tlne"],
        vec!["--from", p, "--all-netns", "-ta"],
        vec!["--from", p, "fds"],
        vec!["--from", p, "who", ":7306"],
        vec!["--from", p, "doctor", "--stale-dir", "/tmp"],
        vec!["--from", p, "doctor", "--color", "always"],
        vec!["--from", p, "--color", "always", "-tan"],
        vec!["--from", p, "watch", "--once"],
        vec!["diff", p, p],
    ] {
        let out = sockscope(&args);
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(text);
            let mut raw = raw_controls(&text);
            if args.contains(&"always") {
                // Only sockscope's own colours: each ESC starts one of its SGR sequences.
                let ours = [
                    "\x1b[0m",
                    "\x1b[1m",
                    "\x1b[1;31m",
                    "\x1b[1;33m",
                    "\x1b[1;34m",
                    "\x1b[1;32m",
                    "\x1b[32m",
                    "\x1b[36m",
                    "\x1b[33m",
                    "\x1b[2m",
                ];
                let mut rest: &str = &text;
                while let Some(i) = rest.find('\x1b') {
                    let ok = ours.iter().find(|o| rest[i..].starts_with(*o));
                    assert!(
                        ok.is_some(),
                        "{args:?} {stream}: a colour from data: {:?}",
                        &rest[i..(i + 12).min(rest.len())]
                    );
                    rest = &rest[i + ok.unwrap().len()..];
                }
                raw.retain(|c| *c != '\x1b');
            }
            assert!(raw.is_empty(), "{args:?} {stream} holds {raw:?}:\n{text}");
        }
    }
    let _ = std::fs::remove_dir_all(d);
}

/// Item 8: `--netns` on a mount, user or pid namespace is "not a network namespace" (exit 2),
/// not a namespace skipped with exit 0; a named namespace whose name is not UTF-8 is shown by
/// its name, escaped, not as `net:[inode]`, and can be named by its bytes (`--netns`, `-N`).
#[test]
fn item_8_only_network_namespaces_and_their_names_as_they_are() {
    for kind in ["mnt", "user", "pid", "uts"] {
        let path = format!("/proc/self/ns/{kind}");
        let out = sockscope(&["--netns", &path, "-t"]);
        refused(&out, 2, &format!("--netns {path}: not a network namespace"), &path);
    }
    let name = format!("sockscope-odd-{}-\u{ff}", std::process::id());
    let raw = {
        let mut b = name.trim_end_matches('\u{ff}').as_bytes().to_vec();
        b.push(0xff);
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(b)
    };
    let ip = |args: &[&std::ffi::OsStr]| Command::new("ip").args(args).status().expect("run ip (iproute2)").success();
    assert!(ip(&["netns".as_ref(), "add".as_ref(), &raw]));
    struct Gone(std::ffi::OsString);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns".as_ref(), "del".as_ref(), self.0.as_os_str()]).status();
        }
    }
    let _gone = Gone(raw.clone());
    let mut server = Command::new("ip")
        .args(["netns".as_ref(), "exec".as_ref(), raw.as_os_str()])
        .args(["sh", "-c", "ip link set lo up && exec python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",7308)); s.listen(); time.sleep(600)'"])
        .spawn()
        .unwrap();
    wait_until("the listener in the odd namespace", || {
        let out = Command::new("ip")
            .args(["netns".as_ref(), "exec".as_ref(), raw.as_os_str()])
            .args(["ss", "-tlnH"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("127.0.0.1:7308")
    });
    let all = sockscope_ok(&["--all-netns", "-tln", "sport = :7308"]);
    // Named on the command line by its bytes: read beside this namespace, and entered.
    let by_name = |flag: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_sockscope")).arg(flag).arg(&raw).args(["-tln"]).output().unwrap();
        assert!(out.status.success(), "{flag}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let beside = by_name("--netns");
    let entered = by_name("-N");
    let _ = server.kill();
    let _ = server.wait();
    let shown = format!("{}\\xff", name.trim_end_matches('\u{ff}'));
    assert!(all.lines().any(|l| l.contains(&shown) && l.contains("127.0.0.1:7308")), "{all}");
    assert!(beside.lines().any(|l| l.contains(&shown) && l.contains("127.0.0.1:7308")), "{beside}");
    assert!(entered.contains("127.0.0.1:7308"), "{entered}");
}

/// A named network namespace (`ip netns add`), deleted when dropped.
struct NamedNetns(String);

impl NamedNetns {
    fn add(name: String) -> NamedNetns {
        assert!(Command::new("ip").args(["netns", "add", &name]).status().expect("run ip (iproute2)").success());
        NamedNetns(name)
    }

    fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Item 7: interface names are looked up in the socket's namespace. Namespace `ns` has `p0`
/// at index 7 with a UDP socket bound to it; the test's own namespace has `q9` at index 7.
/// `-N ns 'dev = p0'` finds it, `--netns ns` labels it `%p0` (text and JSON), and `dev = q9`
/// never selects it, for `-K --dry-run` either, through the index 7 taken from elsewhere.
#[test]
fn item_7_interfaces_are_resolved_in_the_sockets_namespace() {
    private_netns();
    assert!(Command::new("ip").args(["link", "add", "q9", "index", "7", "type", "ifb"]).status().unwrap().success());
    let ns = NamedNetns::add(format!("sockscope-if-{}", std::process::id()));
    assert!(ns.exec(&["ip", "link", "add", "p0", "index", "7", "type", "ifb"]).status().unwrap().success());
    let mut bound = ns
        .exec(&[
            "python3",
            "-c",
            "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
             s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'p0'); s.bind(('0.0.0.0', 7307)); time.sleep(600)",
        ])
        .spawn()
        .unwrap();
    wait_until("the socket bound to p0", || {
        let out = ns.exec(&["ss", "-uanH", "sport = :7307"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("%p0")
    });
    let run = |args: &[&str]| sockscope_ok(args);
    let n = ns.0.as_str();
    let mine = |text: &str| text.lines().filter(|l| l.contains(":7307")).map(str::to_string).collect::<Vec<_>>();
    // -N enters ns: p0 is found there, and the row reads as ss's in ns.
    let entered = mine(&run(&["-N", n, "-uan", "dev = p0"]));
    assert_eq!(entered.len(), 1, "{entered:?}");
    assert!(entered[0].contains("%p0"), "{entered:?}");
    assert!(mine(&run(&["-N", n, "-uan", "dev = 7"])).len() == 1);
    // --netns reads ns beside this one: its socket is labelled with ns's own p0.
    let beside = mine(&run(&["--netns", n, "-uan"]));
    assert!(beside.len() == 1 && beside[0].contains("%p0") && !beside[0].contains("q9"), "{beside:?}");
    let json = sockscope_json(&["--netns", n, "-uan", "sport = :7307"]);
    assert_eq!(json["sockets"][0]["interface_name"], "p0", "{json}");
    // A name is resolved in each namespace: p0 selects ns's socket, q9 (index 7 here) does not.
    assert_eq!(mine(&run(&["--netns", n, "-uan", "dev = p0"])).len(), 1);
    assert!(mine(&run(&["--netns", n, "-uan", "dev = q9"])).is_empty());
    let out = sockscope(&["--netns", n, "-uan", "dev = nosuch0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such network interface in any of the namespaces read"));
    // -K through -N: selected by ns's own p0, and never by this namespace's index 7.
    let kill = run(&["-N", n, "-K", "--dry-run", "-ua", "dev = p0"]);
    assert_eq!(mine(&kill).len(), 1, "{kill}");
    let out = sockscope(&["-N", n, "-K", "--dry-run", "-ua", "dev = q9"]);
    assert!(mine(&String::from_utf8_lossy(&out.stdout)).is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such network interface in this namespace"), "{out:?}");
    // From a capture, this host's interfaces would name another host's indexes: the index is
    // shown, and JSON says null.
    let d = dir("if-capture");
    let cap = d.join("ns.cap");
    run(&["record", "-o", cap.to_str().unwrap(), "--all-netns", "--window", "0"]);
    let c = cap.to_str().unwrap();
    let recorded = mine(&run(&["--from", c, "--netns", n, "-uan"]));
    assert!(recorded.len() == 1 && recorded[0].contains("%7"), "{recorded:?}");
    let json = sockscope_json(&["--from", c, "--netns", n, "-uan", "sport = :7307"]);
    assert!(json["sockets"][0]["interface_name"].is_null(), "{json}");
    let _ = std::fs::remove_dir_all(d);
    let _ = bound.kill();
    let _ = bound.wait();
}
