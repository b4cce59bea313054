//! `-K`: destroy the selected TCP, UDP and raw sockets through SOCK_DESTROY, as `ss -K`.

use crate::args::ListArgs;
use sockscope_core::netlink::DiagSocket;
use sockscope_core::{Netid, Snapshot, Socket};
use std::collections::BTreeMap;
use std::io::Write;

/// Prints the sockets destroyed (or, with --dry-run, those that would be) with `print`, and
/// a summary on stderr. Returns false when some could not be destroyed.
pub fn run(
    _snap: &Snapshot,
    rows: &[&Socket],
    args: &ListArgs,
    out: &mut dyn Write,
    print: impl Fn(&mut dyn Write, &[&Socket]) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let (killable, other): (Vec<&Socket>, Vec<&Socket>) =
        rows.iter().partition(|s| matches!(s.netid, Netid::Tcp | Netid::Udp | Netid::Raw) && s.cookie.is_some());
    if !other.is_empty() {
        crate::stderr_line!(
            "sockscope: note: {} matching socket{} cannot be destroyed (SOCK_DESTROY takes only TCP, UDP and raw sockets read through sock_diag)",
            other.len(),
            if other.len() == 1 { "" } else { "s" }
        );
    }
    if args.dry_run {
        print(out, &killable)?;
        out.flush()?;
        crate::stderr_line!("sockscope: --dry-run: would destroy {} socket{}", killable.len(), plural(killable.len()));
        return Ok(true);
    }
    let mut diag = DiagSocket::open()?;
    let mut destroyed = Vec::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for s in killable {
        match diag.destroy(s) {
            Ok(()) => destroyed.push(s),
            Err(e) => *failures.entry(e.to_string()).or_default() += 1,
        }
    }
    print(out, &destroyed)?;
    out.flush()?;
    crate::stderr_line!("sockscope: destroyed {} socket{}", destroyed.len(), plural(destroyed.len()));
    for (why, n) in &failures {
        crate::stderr_line!("sockscope: could not destroy {n} socket{}: {why}", plural(*n));
    }
    Ok(failures.is_empty())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
