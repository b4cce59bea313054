//! `sockscope watch`: the live view on a terminal; on a pipe, or with `--once` / `--count`,
//! the view as text or JSON, refresh by refresh.

use crate::args::{WatchArgs, WatchView};
use crate::render::names::Namer;
use crate::usage::usage;
use sockscope_core::filter::Pred;
use sockscope_core::model::StateSet;
use sockscope_core::names::Services;
use sockscope_watch::columns::View;
use std::io::Write;

/// `capture`: a capture to replay (`--from`): all its looks, or the one `--frame` names.
pub fn run(args: &WatchArgs, capture: Option<crate::from::Loaded>, colour: bool) -> anyhow::Result<()> {
    let services = Services::load();
    let text = args.filter.join(" ");
    let f = sockscope_core::filter::parse(&text, &services).map_err(usage)?;
    let default_states = StateSet::ALL;
    let mut collect = sockscope_watch::live_options(f.states.unwrap_or(default_states));
    let by_namespace =
        f.expr.as_ref().is_some_and(|e| e.preds().iter().any(|p| matches!(p, Pred::Netns(_) | Pred::Container(_))));
    collect.filter = f.expr;
    // The replayed looks, and the index in the capture of the first.
    let (replay, first_look) = match &capture {
        Some(c) if c.frame_asked => (vec![std::sync::Arc::clone(c.frame())], c.chosen),
        Some(c) => (c.frames.clone(), c.first_kept),
        None => (Vec::new(), 0),
    };
    let look = capture.as_ref().map(|c| &**c.frame());
    collect.namespaces = crate::plan::namespaces(&args.namespaces, by_namespace, &collect.proc_root, look)?;
    if let Some(e) = collect.filter.as_mut() {
        let scope = sockscope_core::host::FilterScope::reading(&collect.namespaces, look.is_none());
        sockscope_core::host::resolve_filter(e, scope, &collect.proc_root).map_err(usage)?;
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
        interval: args.interval,
        view,
        filter_text: text,
        colour,
        thresholds: sockscope_core::diagnose::Thresholds::default(),
        replay,
    };
    let terminal = rustix::termios::isatty(std::io::stdout()) && rustix::termios::isatty(std::io::stdin());
    let count = if args.once { Some(1) } else { args.count };
    if terminal && count.is_none() && !args.json {
        return sockscope_watch::interactive(opts);
    }
    let mut out = crate::output::Guarded::new(std::io::BufWriter::new(std::io::stdout()));
    let mut namer = Namer::new(true, false, services);
    if opts.replay.is_empty() {
        namer.interfaces.read_in(&opts.collect.namespaces, &opts.collect.proc_root);
    } else {
        namer.interfaces.recorded();
    }
    sockscope_watch::frames(&opts, count.unwrap_or(u64::MAX), |frame| {
        if let Some(look) = &frame.capture
            && let Some(i) = opts.replay.iter().position(|l| std::sync::Arc::ptr_eq(l, look))
        {
            crate::from::showing(first_look + i, look);
        }
        for w in &frame.snapshot.warnings {
            crate::stderr_line!("sockscope: warning: {w}");
        }
        if args.json {
            crate::render::watch::write(&mut out, frame, &mut namer)?;
        } else {
            let order = sockscope_watch::default_order(frame, view);
            sockscope_watch::plain::write(&mut out, frame, view, &order)?;
            writeln!(out)?;
        }
        out.flush()?;
        Ok(())
    })
}
