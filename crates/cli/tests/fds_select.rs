//! `sockscope fds` selection (-i, -U, -p, -c, -a) against lsof, in a private namespace.
//! Alone in its binary: sockets other tests open in other namespaces would be this process's
//! fds too, and lsof (which reads only this namespace's /proc/net) cannot classify them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use serde_json::Value;
use sockscope_lab::{Holder, sockets as lab};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;

/// (pid, fd) pairs from `lsof -F pf` output.
fn lsof_pairs(args: &[&str]) -> BTreeSet<(u64, u64)> {
    let out = std::process::Command::new("lsof").args(args).arg("-nP").arg("-Fpf").output().expect("lsof is installed");
    let mut pid = 0;
    let mut set = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(p) = line.strip_prefix('p') {
            pid = p.parse().unwrap();
        } else if let Some(f) = line.strip_prefix('f')
            && let Ok(fd) = f.parse::<u64>()
        {
            set.insert((pid, fd));
        }
    }
    set
}

fn sockscope_pairs(args: &[&str]) -> BTreeSet<(u64, u64)> {
    let mut a = vec!["fds", "--json", "--no-specials"];
    a.extend_from_slice(args);
    let v = sockscope_json_raw(&a);
    let mut set = BTreeSet::new();
    for p in v["processes"].as_array().unwrap() {
        for f in p["fds"].as_array().unwrap() {
            if let Some(fd) = f["fd"].as_u64() {
                set.insert((p["pid"].as_u64().unwrap(), fd));
            }
        }
    }
    set
}

fn sockscope_json_raw(args: &[&str]) -> Value {
    serde_json::from_str(&sockscope_ok(args)).unwrap()
}

#[test]
fn lsof_style_selection_matches_lsof() {
    private_netns();
    let me = std::process::id().to_string();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (_c, _s) = lab::connected_pair(&l).unwrap();
    let other = TcpListener::bind("[::1]:0").unwrap();
    let holder = Holder::spawn(vec![OwnedFd::from(other.try_clone().unwrap())]).unwrap();
    let hp = holder.pid().to_string();
    let dir = lab::tempdir().unwrap();
    let _u = UnixListener::bind(format!("{dir}/s.sock")).unwrap();
    let p_port = format!(":{port}");
    let tcp_port = format!("TCP:{port}");
    // In a private namespace lsof sees exactly what we made (its -i reads this namespace).
    for (ours, theirs) in [
        (vec!["-i", p_port.as_str()], vec!["-i", p_port.as_str()]),
        (vec!["-i", tcp_port.as_str()], vec!["-i", tcp_port.as_str()]),
        (vec!["-i", "6"], vec!["-i", "6"]),
        (vec!["-a", "-p", hp.as_str(), "-i"], vec!["-a", "-p", hp.as_str(), "-i"]),
        (vec!["-a", "-p", me.as_str(), "-i", "4"], vec!["-a", "-p", me.as_str(), "-i", "4"]),
        (vec!["-a", "-c", "slee", "-i"], vec!["-a", "-c", "slee", "-i"]),
    ] {
        // Only our two processes: another suite running at the same time has its sockets in
        // another namespace, which sockscope classifies and lsof cannot.
        let mine = |set: BTreeSet<(u64, u64)>| -> BTreeSet<(u64, u64)> {
            set.into_iter().filter(|(p, _)| [&me, &hp].contains(&&p.to_string())).collect()
        };
        assert_eq!(mine(sockscope_pairs(&ours)), mine(lsof_pairs(&theirs)), "fds {ours:?} vs lsof {theirs:?}");
    }
    // -U picks our Unix socket; ^ excludes.
    let unix = sockscope_pairs(&["-a", "-U", "-p", &me]);
    assert_eq!(unix.len(), 1, "{unix:?}");
    let excluded = sockscope_pairs(&["-i", "-p", &format!("^{hp}")]);
    assert!(excluded.iter().all(|(p, _)| p.to_string() != hp));
    // ORed without -a: all the holder's fds plus every socket on our port.
    let ored = sockscope_pairs(&["-p", &hp, "-i", &p_port]);
    let holder_fds = std::fs::read_dir(format!("/proc/{hp}/fd")).unwrap().count();
    assert_eq!(ored.iter().filter(|(p, _)| p.to_string() == hp).count(), holder_fds, "{ored:?}");
    assert!(ored.iter().filter(|(p, _)| p.to_string() == me).count() >= 3, "{ored:?}");
    // Issue 32 (15): -t gives the pids lsof -t gives, one per line, for `kill $(…)`; a
    // selection of fds comes without the limits table and the system line.
    let holder_port = other.local_addr().unwrap().port();
    let terse = |cmd: &mut std::process::Command| -> BTreeSet<String> {
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).filter(|p| [&me, &hp].contains(&p)).collect()
    };
    for spec in [p_port.clone(), format!(":{holder_port}")] {
        let ours = terse(std::process::Command::new(env!("CARGO_BIN_EXE_sockscope")).args(["fds", "-t", "-i", &spec]));
        let theirs = terse(std::process::Command::new("lsof").args(["-t", "-i", &spec]));
        assert_eq!(ours, theirs, "fds -t -i {spec} vs lsof -t -i {spec}");
        assert!(ours.contains(&me), "{ours:?}");
    }
    let table = sockscope_ok(&["fds", "-i", &p_port]);
    assert!(table.contains(&p_port) && !table.contains("system:") && !table.contains("SOFT"), "{table}");
}
