//! `sockscope serve`: the Prometheus exporter on a port, until SIGTERM or Ctrl-C.

use crate::args::ServeArgs;
use sockscope_core::model::StateSet;
use sockscope_core::{Extensions, Netid, Selection, SnapshotOptions};
use sockscope_serve::http::Server;
use sockscope_serve::metrics::Limits;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let mut collect = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp, Netid::Udp], &[], StateSet::ALL));
    collect.owners = true;
    collect.extensions = Extensions { vitals: true, ..Extensions::default() };
    collect.namespaces = crate::plan::namespaces(&args.namespaces, false, &collect.proc_root)?;
    let listener = std::net::TcpListener::bind(args.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    if args.listen.ip().is_unspecified() {
        crate::stderr_line!(
            "sockscope: warning: listening on {} exposes the metrics to the network (process names and ports); prefer 127.0.0.1 behind a proxy, or a firewall",
            args.listen
        );
    }
    if !rustix::process::geteuid().is_root() {
        crate::stderr_line!(
            "sockscope: note: not running as root: other users' processes are not read, so their sockets have no owner and their fds are not counted (CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH give that without root)"
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let exporter = Arc::new(sockscope_serve::Exporter::new(sockscope_serve::Options {
        collect,
        min_interval: args.min_interval,
        limits: Limits {
            max_listeners: args.max_listeners,
            top_processes: args.top_processes,
            top_destinations: args.top_destinations,
        },
        thresholds: sockscope_core::diagnose::Thresholds::default(),
    })?);
    crate::stderr_line!("sockscope: serving metrics on http://{}/metrics", listener.local_addr()?);
    let workers = usize::from(args.max_connections);
    let handler = Arc::new(move |req: &sockscope_serve::http::Request| exporter.handle(req));
    Server::new(listener, workers, 64 * workers).run(handler, &stop)?;
    Ok(())
}
