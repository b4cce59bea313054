//! Text files named on the command line (`-F`, `--config`), read whole but never past a
//! bound: `-F /dev/urandom` or `--config /dev/zero` ends with an error, not with the
//! machine's memory.

use anyhow::{Context, bail};
use std::io::Read;
use std::path::Path;

/// Real filters are a few KiB (a generated list of 100,000 ports is about 1.5 MiB), and
/// configurations a few lines.
pub const MAX_TEXT_FILE: u64 = 8 << 20;

/// The text of `path` (`-`: standard input, when `stdin_dash`); `what` names it in errors
/// ("filter file", "--config").
pub fn read_text(path: &Path, what: &str, stdin_dash: bool) -> anyhow::Result<String> {
    let shown = crate::escape::escape_path(path);
    let mut bytes = Vec::new();
    let limited = |r: &mut dyn Read, bytes: &mut Vec<u8>| r.take(MAX_TEXT_FILE + 1).read_to_end(bytes);
    let read = if stdin_dash && path.as_os_str() == "-" {
        limited(&mut std::io::stdin().lock(), &mut bytes)
    } else if path.is_dir() {
        Err(std::io::Error::other("it is a directory"))
    } else {
        std::fs::File::open(path).and_then(|mut f| limited(&mut f, &mut bytes))
    };
    read.with_context(|| format!("cannot read {what} {shown}"))?;
    if bytes.len() as u64 > MAX_TEXT_FILE {
        bail!("{what} {shown} is larger than {} MiB; a file that long is not one", MAX_TEXT_FILE >> 20);
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!("{what} {shown} is not UTF-8 text (bad byte at offset {})", e.utf8_error().valid_up_to())
    })
}
