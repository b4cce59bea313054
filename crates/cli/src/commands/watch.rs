//! `sockscope watch`: the live view on a terminal; on a pipe, or with `--once` / `--count`,
//! the view as text or JSON, refresh by refresh.

use crate::args::{WatchArgs, WatchView};
use crate::render::names::Namer;
use crate::usage::usage;
use sockscope_core::filter::Pred;
use sockscope_core::hosts::{CaptureHost, Host, LiveHost};
use sockscope_core::model::StateSet;
use sockscope_core::names::Services;
use sockscope_watch::columns::View;
use std::io::Write;
use std::sync::Arc;

/// `capture`: a capture to replay (`--from`): all its looks, or the one `--frame` names.
pub fn run(args: &WatchArgs, capture: Option<&crate::from::Loaded>, colour: bool) -> anyhow::Result<()> {
    let services = Services::load();
    let text = args.filter.join(" ");
    let f = sockscope_core::filter::parse(&text, &services).map_err(usage)?;
    let default_states = StateSet::ALL;
    let mut collect = sockscope_live::live_options(f.states.unwrap_or(default_states));
    let by_namespace =
        f.expr.as_ref().is_some_and(|e| e.preds().iter().any(|p| matches!(p, Pred::Netns(_) | Pred::Container(_))));
    collect.filter = f.expr;
    // The looks shown: the host, read again each refresh, or the capture's looks, and the
    // index in the capture of the first.
    let (hosts, first_look): (Vec<Arc<dyn Host>>, usize) = match capture {
        Some(c) if c.frame_asked => (vec![Arc::new(CaptureHost::new(Arc::clone(c.frame())))], c.chosen),
        Some(c) => (
            c.frames.iter().map(|f| Arc::new(CaptureHost::new(Arc::clone(f))) as Arc<dyn Host>).collect(),
            c.first_kept,
        ),
        None => (vec![Arc::new(LiveHost::default())], 0),
    };
    let host = Arc::clone(&hosts[hosts.len() - 1]);
    collect.namespaces = crate::plan::namespaces(&args.namespaces, by_namespace, &*host)?;
    if let Some(e) = collect.filter.as_mut() {
        let scope = sockscope_core::host::FilterScope::reading(&collect.namespaces);
        sockscope_core::host::resolve_filter(e, &*host, scope).map_err(usage)?;
    }
    let mut thresholds = sockscope_core::diagnose::Thresholds::default();
    if let Some(path) = &args.config {
        let text = crate::input::read_text(path, "the config file", false)?;
        sockscope_core::diagnose::thresholds::read_toml(&mut thresholds, &path.display().to_string(), &text)
            .map_err(usage)?;
    }
    let view = match args.view {
        WatchView::Processes => View::Processes,
        WatchView::Listeners => View::Listeners,
        WatchView::Connections => View::Connections,
        WatchView::Findings => View::Findings,
    };
    let opts = sockscope_watch::Options {
        collect,
        default_states,
        interval: args.interval.unwrap_or(std::time::Duration::from_secs(1)),
        view,
        filter_text: text,
        colour,
        thresholds,
        hosts,
    };
    let terminal = rustix::termios::isatty(std::io::stdout()) && rustix::termios::isatty(std::io::stdin());
    // --once --interval T: a first look, then the one printed, with rates and findings.
    let (count, unprinted) = match (args.once, args.interval) {
        (true, Some(_)) => (Some(2), 1),
        (true, None) => (Some(1), 0),
        (false, _) => (args.count, 0),
    };
    let mut looked = 0u64;
    if terminal && count.is_none() && !args.json {
        return sockscope_watch::interactive(opts);
    }
    let mut out = crate::output::Guarded::new(std::io::BufWriter::new(std::io::stdout()));
    let mut namer = Namer::new(true, false, services);
    namer.interfaces.read_in(&host, &opts.collect.namespaces);
    sockscope_watch::frames(&opts, count.unwrap_or(u64::MAX), |frame| {
        looked += 1;
        if looked <= unprinted {
            return Ok(());
        }
        // Each document is as of the look it shows.
        let info = capture.map(|c| c.info(first_look + frame.look));
        for w in &frame.snapshot.warnings {
            crate::stderr_line!("sockscope: warning: {w}");
        }
        if args.json {
            crate::render::watch::write(&mut out, frame, &mut namer, info.as_ref())?;
        } else {
            let order = sockscope_watch::default_order(frame, view);
            sockscope_watch::plain::write(&mut out, frame, view, &order)?;
            writeln!(out)?;
        }
        out.flush()?;
        Ok(())
    })
}
