//! `-K`: destroy the selected TCP, UDP and raw sockets through SOCK_DESTROY, as `ss -K`.

use crate::render::counted;
use sockscope_core::destroy::{DestroyError, Destroyer};
use sockscope_core::filter::Expr;
use sockscope_core::filter::eval::Truth;
use sockscope_core::{Snapshot, SnapshotOptions, Socket};
use std::collections::BTreeMap;
use std::io::Write;

/// The rows -K may destroy: each is checked again in user space, whatever the snapshot did
/// (`--kernel-filter only` skips that check for listing; a refused or partial kernel program
/// must never widen what is destroyed). A condition user space cannot decide (`autobound`
/// without the port range, say) counts only when the kernel's program decided it.
pub fn certainly_selected<'a>(
    snap: &Snapshot,
    rows: Vec<&'a Socket>,
    filter: Option<&Expr>,
    opts: &SnapshotOptions,
) -> Vec<&'a Socket> {
    let Some(f) = filter else { return rows };
    let ctx = sockscope_core::snapshot::eval_context(f, snap, &opts.proc_root);
    rows.into_iter()
        .filter(|s| match f.eval(s, ctx) {
            Truth::True => true,
            Truth::Unknown => snap.kernel_filtered,
            Truth::False => false,
        })
        .collect()
}

/// Prints the sockets destroyed (or, with --dry-run, those that would be) with `print`, and
/// a summary on stderr. Returns false when some could not be destroyed.
pub fn run(
    rows: &[&Socket],
    dry_run: bool,
    out: &mut dyn Write,
    print: impl Fn(&mut dyn Write, &[&Socket]) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let (killable, other): (Vec<&Socket>, Vec<&Socket>) = rows.iter().partition(|s| Destroyer::can_destroy(s));
    if !other.is_empty() {
        crate::stderr_line!(
            "sockscope: note: {} matching socket{} cannot be destroyed (SOCK_DESTROY takes only TCP, UDP and raw sockets read through sock_diag)",
            other.len(),
            if other.len() == 1 { "" } else { "s" }
        );
    }
    if dry_run {
        print(out, &killable)?;
        out.flush()?;
        crate::stderr_line!("sockscope: --dry-run: would destroy {}", counted(killable.len(), "socket", "sockets"));
        return Ok(true);
    }
    let mut destroyer = Destroyer::open()?;
    let mut destroyed = Vec::new();
    let mut gone = 0;
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for s in killable {
        match destroyer.destroy(s) {
            Ok(()) => destroyed.push(s),
            // Closed since the dump — often by us: destroying one end of a local
            // connection resets the other. What -K wanted has happened.
            Err(DestroyError::Gone) => gone += 1,
            Err(e) => *failures.entry(e.to_string()).or_default() += 1,
        }
    }
    print(out, &destroyed)?;
    out.flush()?;
    crate::stderr_line!("sockscope: destroyed {}", counted(destroyed.len(), "socket", "sockets"));
    if gone > 0 {
        crate::stderr_line!("sockscope: {} more had already closed", counted(gone, "socket", "sockets"));
    }
    for (why, n) in &failures {
        crate::stderr_line!("sockscope: could not destroy {}: {why}", counted(*n, "socket", "sockets"));
    }
    Ok(failures.is_empty())
}
