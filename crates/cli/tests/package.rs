//! The Debian package (packaging/README.md): the pages and completions it installs are the
//! ones the command line generates today; and the package itself, extracted into a scratch
//! root, runs, renders every page without a roff warning, completes a subcommand in bash, and
//! ships a unit systemd accepts. The second test needs the built package: packaging/check.sh
//! (run by .ci/run) builds it and runs it with SOCKSCOPE_DEB set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file of a directory, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sockscope-package-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("scratch dir");
    dir
}

#[test]
fn packaged_pages_and_completions_are_the_command_lines_own() {
    let dir = scratch("generated");
    for (what, sub) in [("man", "man"), ("completions", "completions")] {
        let out = dir.join(sub);
        std::fs::create_dir(&out).expect("dir");
        common::sockscope_ok(&[what, "--dir", out.to_str().expect("utf-8")]);
        let packaged = files(&repo().join("packaging").join(sub));
        let now = files(&out);
        assert_eq!(
            packaged.keys().collect::<Vec<_>>(),
            now.keys().collect::<Vec<_>>(),
            "packaging/{sub} lists other files than `sockscope {what} --dir` writes: run packaging/generate.sh"
        );
        for (name, text) in &now {
            assert!(packaged[name] == *text, "packaging/{sub}/{name} is out of date: run packaging/generate.sh");
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
#[ignore = "needs the built package: packaging/check.sh runs it with SOCKSCOPE_DEB"]
fn the_package_installs_runs_and_documents_itself() {
    let deb = std::env::var("SOCKSCOPE_DEB").expect("SOCKSCOPE_DEB: the .deb to check (packaging/check.sh sets it)");
    let root = scratch("root");
    let ok = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root).status().expect("dpkg-deb").success();
    assert!(ok, "dpkg-deb -x {deb}");
    for path in [
        "usr/bin/sockscope",
        "usr/share/man/man1/sockscope.1.gz",
        "usr/share/man/man1/sockscope-serve.1.gz",
        "usr/share/bash-completion/completions/sockscope",
        "usr/share/zsh/vendor-completions/_sockscope",
        "usr/share/fish/vendor_completions.d/sockscope.fish",
        "usr/lib/systemd/system/sockscope-serve.service",
        "usr/share/sockscope/prometheus/alerts.yml",
        "usr/share/sockscope/grafana/sockscope.json",
        "usr/share/doc/sockscope/copyright",
        "usr/share/doc/sockscope/changelog.Debian.gz",
    ] {
        assert!(root.join(path).is_file(), "the package has no {path}");
    }
    let bin = root.join("usr/bin/sockscope");

    // It runs: --version, and the socket table of a namespace of its own with one listener.
    let out = Command::new(&bin).arg("--version").output().expect("run the packaged binary");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().next(), Some(format!("sockscope {}", env!("CARGO_PKG_VERSION")).as_str()));
    common::private_netns();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let out = Command::new(&bin).args(["-tanH"]).output().expect("-tanH");
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(common::rows(&table), common::rows(&common::ss(&["-tanH"])), "the packaged binary reads as ss");
    assert!(table.contains(&format!("127.0.0.1:{port}")));

    // Every page renders without a roff warning (man reads the gzip itself).
    let pages = files(&root.join("usr/share/man/man1"));
    assert_eq!(pages.len(), files(&repo().join("packaging/man")).len(), "a page per command");
    for name in pages.keys() {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(root.join("usr/share/man/man1").join(name))
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .expect("man (man-db)");
        assert!(out.status.success(), "man -l {name}");
        assert!(out.stderr.is_empty(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("sockscope"), "{name} renders empty");
    }

    // The bash completion completes a subcommand.
    let completion = root.join("usr/share/bash-completion/completions/sockscope");
    let script = format!(
        "source '{}'; COMP_WORDS=(sockscope doc); COMP_CWORD=1; COMP_LINE='sockscope doc'; COMP_POINT=13; _sockscope sockscope doc sockscope; echo \"${{COMPREPLY[@]}}\"",
        completion.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "doctor", "{}", String::from_utf8_lossy(&out.stderr));

    // systemd accepts the unit (where systemd-analyze exists), with the packaged binary and
    // pages standing where the package puts them.
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/sockscope-serve.service")).expect("unit");
    assert!(unit.contains("ExecStart=/usr/bin/sockscope serve"), "the unit runs the packaged binary");
    if Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let checked = root.join("sockscope-serve.service");
        std::fs::write(&checked, unit.replace("/usr/bin/sockscope", bin.to_str().expect("utf-8"))).expect("unit");
        let out = Command::new("systemd-analyze")
            .args(["verify"])
            .arg(&checked)
            .env("MANPATH", root.join("usr/share/man"))
            .output()
            .expect("systemd-analyze");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        let note = "package: systemd-analyze is not installed here: the unit was not verified";
        let _ = writeln!(std::io::stderr(), "{note}");
    }
    std::fs::remove_dir_all(&root).expect("clean up");
    drop(listener);
}
