//! `sockscope --version`: what was built (version, git commit, build date, target), and the
//! kernel features it needs with whether this kernel has each, as text or (`--json`) one
//! document for bug reports.

use serde::Serialize;
use sockscope_core::kernel_features::{self, Feature};
use std::io::Write;

#[derive(Serialize)]
struct Version {
    name: &'static str,
    version: &'static str,
    /// The git commit built from ("-modified" when the tree had changes), or "unknown".
    commit: &'static str,
    /// UTC, YYYY-MM-DD (SOURCE_DATE_EPOCH's when the build set it).
    build_date: &'static str,
    target: &'static str,
    kernel: Kernel,
    kernel_features: Vec<Feature>,
}

#[derive(Serialize)]
struct Kernel {
    /// The running kernel's release (uname -r).
    release: String,
    machine: String,
}

pub fn write(json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let uname = rustix::system::uname();
    let v = Version {
        name: "sockscope",
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("SOCKSCOPE_COMMIT"),
        build_date: env!("SOCKSCOPE_BUILD_DATE"),
        target: env!("SOCKSCOPE_TARGET"),
        kernel: Kernel {
            release: uname.release().to_string_lossy().into_owned(),
            machine: uname.machine().to_string_lossy().into_owned(),
        },
        kernel_features: kernel_features::probe(),
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "sockscope {}", v.version)?;
    writeln!(out, "commit {}, built {} for {}", v.commit, v.build_date, v.target)?;
    writeln!(out, "running on Linux {} ({})", crate::escape::escape(&v.kernel.release), v.kernel.machine)?;
    writeln!(out, "kernel features (on this kernel: yes, no, or ? where no harmless check can tell):")?;
    let width = v.kernel_features.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in &v.kernel_features {
        let has = match f.available {
            Some(true) => "yes",
            Some(false) => "no ",
            None => "?  ",
        };
        writeln!(out, "  {has} {:width$}  {}; for {}", f.name, f.config, f.used_by)?;
    }
    Ok(())
}
