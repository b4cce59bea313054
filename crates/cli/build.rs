//! Stamps the build for `sockscope --version`: the git commit the binary was built from
//! ("unknown" outside a git checkout, as from a source tarball) and the build date (UTC, from
//! SOURCE_DATE_EPOCH when set, so a reproducible build gets the same bytes).

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

// Cargo reads a build script's stdout: println! is its interface here.
#[allow(clippy::disallowed_macros)]
fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // A new commit moves HEAD or the branch it names; a rebuild then restamps.
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{branch}");
        }
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    let dirty =
        commit.is_some() && git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let commit = match commit {
        Some(c) if dirty => format!("{c}-modified"),
        Some(c) => c,
        None => "unknown".to_string(),
    };
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    println!("cargo:rustc-env=SOCKSCOPE_COMMIT={commit}");
    println!("cargo:rustc-env=SOCKSCOPE_BUILD_DATE={}", date(secs / 86_400));
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=SOCKSCOPE_TARGET={target}");
}

/// A git command's trimmed output, when git is there and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// YYYY-MM-DD of a count of days since 1970-01-01 (Howard Hinnant's civil_from_days).
fn date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
