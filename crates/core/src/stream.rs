//! The socket table without keeping it: each socket handed on as the kernel's dump yields it,
//! for listings that need no socket but the one at hand (no owners, no Unix peers, no sort
//! beyond the tables' order, one namespace). A million connections then cost the few rows
//! being written, not 150 MB of sockets.

use crate::collector::{filter_in_user_space, kernel_program, mptcp_unread, refused_program};
use crate::filter::Pred;
use crate::model::{Netid, Socket};
use crate::netlink::{DiagSocket, Query};
use crate::procfs;
use crate::select::Selection;
use crate::snapshot::{KernelFilter, Snapshot, SnapshotError, SnapshotOptions, Source, eval_context};

/// The tables a stream can hold: those whose sockets need no other socket to be shown.
const STREAMABLE: [Netid; 4] = [Netid::Tcp, Netid::Udp, Netid::Raw, Netid::Mptcp];

/// Whether `opts` asks for nothing a stream cannot give.
pub fn can_stream(opts: &SnapshotOptions) -> bool {
    let filter_alone = opts
        .filter
        .as_ref()
        .is_none_or(|f| !f.preds().iter().any(|p| matches!(p, Pred::Pid(_) | Pred::Comm(_) | Pred::Autobound)));
    opts.namespaces.is_empty()
        && !opts.owners
        && !opts.threads
        && opts.tcp_diag_file.is_none()
        && opts.source != Source::Proc
        && opts.selection.netids().all(|n| STREAMABLE.contains(&n))
        && filter_alone
}

/// Hands every selected socket to `sink`, table by table in the order the listing prints
/// them, as the snapshot would hold them after its filter. Returns the snapshot's notes
/// (warnings, /proc fallbacks) with no sockets, or None when `opts` cannot be streamed
/// (`can_stream`).
pub fn sockets(opts: &SnapshotOptions, sink: &mut dyn FnMut(Socket)) -> Result<Option<Snapshot>, SnapshotError> {
    if !can_stream(opts) {
        return Ok(None);
    }
    let mut snap = Snapshot::default();
    let mut code = kernel_program(opts, &mut snap.warnings)?;
    let mut diag = DiagSocket::open()?;
    let empty = Snapshot::default();
    let user_filter = opts.filter.as_ref().filter(|_| opts.kernel_filter != KernelFilter::Only);
    let ctx = user_filter.map(|f| eval_context(f, &empty, &opts.proc_root));
    let mut keep = |s: Socket| {
        if let (Some(f), Some(ctx)) = (user_filter, ctx)
            && !f.keeps(&s, ctx)
        {
            return;
        }
        sink(s);
    };
    let sel = &opts.selection;
    let net_dir = procfs::net_dir(&opts.proc_root);
    snap.kernel_filtered = code.is_some();
    for netid in sel.netids() {
        let one = Selection::exact(&[netid], &netid_families(sel, netid), sel.states);
        fn query<'a>(one: Selection, opts: &SnapshotOptions, code: Option<&'a [u8]>) -> Query<'a> {
            Query { selection: one, extensions: opts.extensions, bytecode: code, one_walk: false }
        }
        let mut emitted = 0usize;
        let mut result = diag.collect_each(&query(one, opts, code.as_deref()), &mut |s| {
            emitted += 1;
            keep(s);
        });
        if code.is_some() && refused_program(&result) {
            if emitted > 0 {
                return Err(SnapshotError::Unsupported(
                    "the kernel refused the filter program part way through the dump".into(),
                ));
            }
            snap.warnings.push(filter_in_user_space(opts, &result)?);
            code = None;
            snap.kernel_filtered = false;
            result = diag.collect_each(&query(one, opts, None), &mut keep);
        }
        for (failed, e) in result? {
            if failed == Netid::Mptcp {
                mptcp_unread(&mut snap, &e.to_string());
                continue;
            }
            if opts.source == Source::Netlink {
                return Err(SnapshotError::Unsupported(format!(
                    "{e} (and --source netlink forbids reading /proc/net)"
                )));
            }
            let note = format!("{e}; read from /proc/net instead");
            if !snap.fallbacks.contains(&note) {
                snap.fallbacks.push(note);
            }
            snap.fallback_tables.push(failed);
            let mut read = Vec::new();
            procfs::net::collect(&net_dir, &one, Some(&[failed]), &mut read)?;
            read.into_iter().for_each(&mut keep);
        }
    }
    if diag.interrupted {
        snap.warnings
            .push("the kernel reported that sockets changed during the dump; some may be missing or doubled".into());
    }
    Ok(Some(snap))
}

/// The selection's families that `netid` can hold.
fn netid_families(sel: &Selection, netid: Netid) -> Vec<crate::model::Family> {
    netid.families().iter().copied().filter(|f| sel.has_family(*f)).collect()
}
