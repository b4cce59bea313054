//! `sockscope watch`: top for sockets. A collector thread turns a snapshot per interval into
//! a `Frame` (rates, ages, per-process counts, listeners, the doctor's findings) and sends
//! it to the UI thread, which draws the last frame it has and answers keys while the next is
//! made (bottom's design: the UI never waits on collection).
//!
//! `columns` is the one place the views' columns are defined; `ui` draws them full-screen,
//! `plain` as text for `--once`, `--count` and pipes.
#![forbid(unsafe_code)]

pub mod app;
pub mod columns;
pub mod plain;
mod term;
pub mod ui;

#[cfg(test)]
use sockscope_live::testdata;
pub use sockscope_live::{collect, frame, live_options};

use app::{Action, App, Drill};
use columns::View;
use crossterm::event::{self, Event, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use sockscope_core::SnapshotOptions;
use sockscope_core::diagnose::Thresholds;
use sockscope_core::hosts::Host;
use sockscope_core::model::StateSet;
use sockscope_core::names::Services;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What to watch and how.
pub struct Options {
    /// What each refresh collects (selection, filter, namespaces, owners).
    pub collect: SnapshotOptions,
    /// The states a filter without `state` clauses selects.
    pub default_states: StateSet,
    pub interval: Duration,
    pub view: View,
    /// The filter as the user wrote it (shown, and edited with `/`).
    pub filter_text: String,
    pub colour: bool,
    pub thresholds: Thresholds,
    /// Where frames come from: one live host, read again each refresh, or a capture's looks,
    /// replayed in order (`watch --from`).
    pub hosts: Vec<Arc<dyn Host>>,
}

/// The rows of a frame in the order a view shows them by default.
pub fn default_order(frame: &Arc<frame::Frame>, view: View) -> Vec<usize> {
    let mut app = App::new(view, Duration::from_secs(1), String::new(), false);
    app.set_frame(Arc::clone(frame));
    app.order
}

/// `count` frames, `interval` apart, each handed to `each` (for `--once`, `--count`, pipes).
pub fn frames(
    opts: &Options,
    count: u64,
    mut each: impl FnMut(&Arc<frame::Frame>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut looks = collect::Looks::new(opts.collect.clone(), opts.hosts.clone(), opts.thresholds.clone());
    // A capture's looks follow each other at once; a live host is read every interval.
    let recorded = opts.hosts.iter().any(|h| h.taken_at().is_some());
    for n in 0..count {
        let started = Instant::now();
        let Some(f) = looks.next_frame() else { break };
        each(&f?)?;
        if n + 1 < count && !recorded {
            std::thread::sleep(opts.interval.saturating_sub(started.elapsed()));
        }
    }
    Ok(())
}

/// The full-screen view, until `q`, Ctrl-C, SIGTERM or SIGHUP.
pub fn interactive(opts: Options) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let feed = collect::start(
        collect::Looks::new(opts.collect.clone(), opts.hosts.clone(), opts.thresholds.clone()),
        opts.interval,
    )?;
    let services = Services::load();
    let mut app = App::new(opts.view, opts.interval, opts.filter_text.clone(), opts.colour);
    let guard = term::Guard::enter()?;
    // The alternate screen starts blank, and the first draw paints all of it (no clear: it
    // asks the terminal where the cursor is, which some terminals never answer).
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let mut dirty = true;
    let mut collector_gone = false;
    while !stop.load(Ordering::Relaxed) {
        loop {
            let update = match feed.updates.try_recv() {
                Ok(u) => u,
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    if !collector_gone {
                        collector_gone = true;
                        app.status = Some("the collector thread stopped: the view no longer refreshes".into());
                        dirty = true;
                    }
                    break;
                }
            };
            match update {
                collect::Update::Frame(f) => {
                    app.set_frame(f);
                    if app.status.as_deref().is_some_and(|s| s.starts_with("collection failed")) {
                        app.status = None;
                    }
                }
                collect::Update::Error(e) => app.status = Some(format!("collection failed: {e}")),
                collect::Update::Slowed { took, interval } if interval > app.interval => {
                    app.status = Some(format!(
                        "a refresh takes {:.1} s: refreshing every {:.1} s instead of {:.1} s, so collecting takes at most half the time",
                        took.as_secs_f64(),
                        interval.as_secs_f64(),
                        app.interval.as_secs_f64()
                    ));
                }
                collect::Update::Slowed { .. } => {
                    app.status = Some(format!("refreshing every {:.1} s again", app.interval.as_secs_f64()));
                }
            }
            dirty = true;
        }
        if dirty {
            terminal.draw(|screen| ui::draw(screen, &mut app))?;
            dirty = false;
        }
        if !event::poll(Duration::from_millis(50))? {
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind == KeyEventKind::Press => {
                let page = usize::from(terminal.size()?.height.saturating_sub(8));
                app.status = None;
                match app.key(k, page) {
                    Action::Quit => break,
                    Action::None => {}
                    Action::Pause(p) => {
                        let _ = feed.control.send(collect::Control::Pause(p));
                    }
                    Action::Interval(d) => {
                        let _ = feed.control.send(collect::Control::Interval(d));
                    }
                    Action::Filter(text) => apply_filter(&mut app, &feed, &services, &opts, text),
                    Action::OpenProcess(pid) => open_process(&mut app, pid),
                    Action::Kill(index) => kill(&mut app, index),
                }
                dirty = true;
            }
            // The next draw resizes its buffers to the new size.
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    }
    drop(terminal);
    drop(guard);
    Ok(())
}

/// A filter typed after `/`: parsed and resolved here, so an error is shown in place and the
/// collector keeps the filter it has.
fn apply_filter(app: &mut App, feed: &collect::Feed, services: &Services, opts: &Options, text: String) {
    let parsed = sockscope_core::filter::parse(&text, services).and_then(|mut f| {
        if let Some(e) = &mut f.expr {
            let host: Arc<dyn Host> = match opts.hosts.last() {
                Some(h) => Arc::clone(h),
                None => Arc::new(sockscope_core::hosts::LiveHost::default()),
            };
            let scope = sockscope_core::host::FilterScope::reading(&opts.collect.namespaces);
            sockscope_core::host::resolve_filter(e, &*host, scope)?;
        }
        Ok(f)
    });
    match parsed {
        Ok(f) => {
            let states = f.states.unwrap_or(opts.default_states);
            let _ = feed.control.send(collect::Control::Filter(f.expr, states));
            app.filter = text;
            app.filter_error = None;
            app.status = Some("filter applied; the next refresh shows it".into());
        }
        Err(e) => app.filter_failed(e.to_string()),
    }
}

/// A process's fd table for the drill-down, as `sockscope fds PID` lists it.
fn open_process(app: &mut App, pid: u32) {
    use sockscope_core::fdview::{FdView, FdViewOptions, ReadOptions, Which};
    let Some(host) = app.frame.as_ref().map(|f| Arc::clone(&f.host)) else { return };
    let which = Which { pids: vec![pid], names: Vec::new() };
    let view_opts =
        FdViewOptions { read: ReadOptions { fdinfo: false, specials: false, skip_socket_fdinfo: false }, peers: false };
    match FdView::collect(&*host, &which, &view_opts) {
        Ok(view) => {
            let Some(p) = view.processes.first() else {
                app.status = Some(format!("process {pid} could not be read"));
                return;
            };
            let limit = p.limit.soft.map_or("unlimited".to_string(), |l| l.to_string());
            let mut lines = vec![format!("{} open fds, soft limit {limit}", p.open)];
            for row in p.fds.iter() {
                let what = match &row.socket {
                    Some(s) => format!(
                        "{} {} {} -> {}",
                        s.netid.ss_name(),
                        s.state.ss_name(),
                        s.end_text(&s.local),
                        s.end_text(&s.peer)
                    ),
                    None => row.entry.link().into_owned(),
                };
                lines.push(
                    sockscope_core::text::escape(&format!(
                        "{:>6} {:<9} {what}",
                        row.entry.fd.to_string(),
                        row.entry.kind_name()
                    ))
                    .into_owned(),
                );
            }
            app.drill = Some(Drill::Process { pid, command: p.command.clone(), lines });
            app.drill_offset = 0;
        }
        Err(e) => app.status = Some(e.to_string()),
    }
}

/// Destroys a confirmed connection, and says how it went.
fn kill(app: &mut App, index: usize) {
    let Some(frame) = &app.frame else { return };
    let s = &frame.snapshot.sockets[index];
    let text = format!("{} -> {}", s.end_text(&s.local), s.end_text(&s.peer));
    app.status = Some(match frame.host.destroy(s) {
        Ok(()) => format!("killed {}", sockscope_core::text::escape(&text)),
        Err(e) => format!("could not kill {}: {e}", sockscope_core::text::escape(&text)),
    });
}
