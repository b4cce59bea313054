//! `sockscope -E` (ss -E): the TCP and UDP sockets the selection and filter take, printed as
//! the kernel destroys them, from the sock_diag destroy groups, until Ctrl-C or SIGTERM.
//! Each is the socket's last look: state CLOSE (UNCONN), its queues, ends and, with -e, -m
//! or -i, what the kernel sent with it. A destroyed socket has no owner left to name.

use crate::plan::ListPlan;
use crate::render::Format;
use crate::usage::usage;
use rustix::event::{PollFd, PollFlags};
use sockscope_core::freed::FreedListener;
use sockscope_core::{Netid, Socket};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How long a wait for records lasts before the stop flag is looked at again.
const WAIT_MS: i64 = 200;

/// Follows destroyed sockets; `write(out, rows, header)` prints a batch of them.
pub fn follow(
    plan: &ListPlan,
    out: &mut impl Write,
    mut write: impl FnMut(&mut dyn Write, &[&Socket], bool) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    if plan.output.format == Format::Json {
        return Err(usage(anyhow::anyhow!("-E streams sockets until stopped: use --jsonl (a line each), not --json")));
    }
    let selection = &plan.collect.selection;
    let (tcp, udp) = (selection.has_netid(Netid::Tcp), selection.has_netid(Netid::Udp));
    if !tcp && !udp {
        return Err(usage(anyhow::anyhow!(
            "-E: the kernel reports the destruction of TCP and UDP sockets only (select them with -t or -u)"
        )));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
    }
    let mut freed = FreedListener::open(udp).map_err(|e| anyhow::anyhow!("-E: {e}"))?;
    write(out, &[], true)?;
    out.flush()?;
    let mut batch: Vec<Socket> = Vec::new();
    let mut reported = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut fds: Vec<PollFd<'_>> = freed.fds().map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)).collect();
        // EINTR (a signal to stop) ends the wait early, which is what it should do.
        let _ =
            rustix::event::poll(&mut fds, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: WAIT_MS * 1_000_000 }));
        drop(fds);
        freed.drain(|f| {
            if keeps(plan, &f.socket) {
                batch.push(f.socket);
            }
        })?;
        if freed.overflows != reported {
            crate::stderr_line!(
                "sockscope: warning: the destroy records' buffer overflowed {} times: sockets destroyed then are missing",
                freed.overflows - reported
            );
            reported = freed.overflows;
        }
        if batch.is_empty() {
            continue;
        }
        let rows: Vec<&Socket> = batch.iter().collect();
        if let Err(e) = write(out, &rows, false).and_then(|()| out.flush().map_err(anyhow::Error::from)) {
            // A closed pipe (`| head`) ends quietly.
            return match e.downcast_ref::<std::io::Error>() {
                Some(io) if io.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
                _ => Err(e),
            };
        }
        batch.clear();
    }
    Ok(true)
}

/// Whether the selection (tables, families, states) and the filter take a destroyed socket.
fn keeps(plan: &ListPlan, s: &Socket) -> bool {
    let selection = &plan.collect.selection;
    selection.has_netid(s.netid)
        && selection.has_family(s.family)
        && selection.states.contains(s.state)
        && plan.filter().is_none_or(|f| f.keeps(s, sockscope_core::filter::eval::Context::default()))
}
