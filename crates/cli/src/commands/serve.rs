//! `sockscope serve`: the Prometheus exporter on a port, until SIGTERM or Ctrl-C.

use crate::args::ServeArgs;
use sockscope_core::model::StateSet;
use sockscope_serve::config::Config;
use sockscope_serve::http::Server;
use sockscope_serve::metrics::Limits;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    // A configuration that does not read is a wrong command line: nothing starts.
    let config = match &args.config {
        Some(path) => {
            let text = crate::input::read_text(path, "--config", false).map_err(crate::usage::usage)?;
            Config::parse(&path.display().to_string(), &text).map_err(crate::usage::usage)?
        }
        None => Config::default(),
    };
    // A flag given wins over the file, the file over the default.
    let d = Limits::default();
    let limits = Limits {
        max_listeners: args.max_listeners.or(config.max_listeners).unwrap_or(d.max_listeners),
        top_processes: args.top_processes.or(config.top_processes).unwrap_or(d.top_processes),
        top_destinations: args.top_destinations.or(config.top_destinations).unwrap_or(d.top_destinations),
    };
    let min_interval = args.min_interval.or(config.min_interval).unwrap_or(std::time::Duration::from_secs(1));
    let host: Arc<dyn sockscope_core::hosts::Host> = Arc::new(sockscope_core::hosts::LiveHost::default());
    let mut collect = sockscope_live::live_options(StateSet::ALL);
    collect.namespaces = crate::plan::namespaces(&args.namespaces, false, &*host)?;
    let listener = std::net::TcpListener::bind(args.listen).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot listen on {}: {e}; use --listen ADDRESS:PORT, or `sockscope who :{}` to see who holds it",
                args.listen,
                args.listen.port()
            )
        } else {
            anyhow::anyhow!("cannot listen on {}: {e}", args.listen)
        }
    })?;
    if args.listen.ip().is_unspecified() {
        crate::stderr_line!(
            "sockscope: warning: listening on {} exposes the metrics to the network (process names and ports); prefer 127.0.0.1 behind a proxy, or a firewall",
            args.listen
        );
    }
    if let Some(note) = unseen_note(&collect.proc_root) {
        crate::stderr_line!("sockscope: note: {note}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let lifetimes = if args.events {
        // The namespaces the table reads, followed as they come and go with --all-netns.
        let scope = match (&collect.namespaces, args.namespaces.all_netns) {
            (_, true) => sockscope_events::Scope::All,
            (list, false) if list.is_empty() => sockscope_events::Scope::Own,
            (list, false) => sockscope_events::Scope::These(list.clone()),
        };
        let started = sockscope_serve::lifetimes::start(Arc::clone(&stop), scope);
        Some(started.map_err(|e| anyhow::anyhow!("--events: {e}"))?)
    } else {
        None
    };
    let exporter = Arc::new(sockscope_serve::Exporter::new(sockscope_serve::Options {
        host,
        collect,
        min_interval,
        limits,
        families: config.families,
        interest: config.interest,
        thresholds: config.thresholds,
        lifetimes,
    })?);
    crate::stderr_line!("sockscope: serving metrics on http://{}/metrics", listener.local_addr()?);
    let workers = usize::from(args.max_connections);
    let handler = Arc::new(move |req: &sockscope_serve::http::Request| exporter.handle(req));
    Server::new(listener, workers, 64 * workers).run(handler, &stop)?;
    Ok(())
}

/// What serve cannot see with the capabilities it runs with, said once at start: reading
/// other users' fd tables needs CAP_SYS_PTRACE (ptrace read access) and CAP_DAC_READ_SEARCH
/// (their /proc directories). Root normally has both; a hardened unit or a container may not.
fn unseen_note(proc_root: &std::path::Path) -> Option<String> {
    use sockscope_core::host::{CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, effective_capabilities};
    let eff = match effective_capabilities(proc_root, "self") {
        Ok(eff) => eff,
        Err(e) => return Some(format!("cannot read its own capabilities ({e}); other users' processes may be unread")),
    };
    let missing: Vec<&str> = [(CAP_SYS_PTRACE, "CAP_SYS_PTRACE"), (CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH")]
        .into_iter()
        .filter(|(bit, _)| eff & (1 << bit) == 0)
        .map(|(_, name)| name)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "without {}: other users' processes are not read, so their sockets have no owner and their fds are not counted",
            missing.join(" and ")
        )
    })
}
