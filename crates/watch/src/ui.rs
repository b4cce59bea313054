//! Drawing one screen with ratatui: a line of tabs, the current view's table (only the rows
//! that fit are made), a detail line (sparkline, confirmation, filter input, news) and a
//! footer with the keys and the collector's own cost. Works from 80×24 up; colour only when
//! allowed (NO_COLOR, --color never). Every text from the system is escaped in `columns`.

use crate::app::{App, Drill, Mode};
use crate::columns::{self, View};
use crate::frame::Series;
use ratatui::Frame as Screen;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Sparkline, Table, Wrap};

pub const KEYS: &str = "q quit  Tab view  ↑↓ PgUp/PgDn move  s/S sort  / filter  Enter open  Esc back  p pause  +/- interval  k kill  ? help";

/// One line each at 80 columns.
const HELP: &[(&str, &str)] = &[
    ("↑ ↓ PgUp PgDn Home End", "move the selection"),
    ("Tab, Shift-Tab", "next / previous view"),
    ("s / S", "sort by the next column / reverse"),
    ("/", "filter (Enter applies, Esc cancels)"),
    ("Enter", "a process's fds, a listener's connections"),
    ("Esc", "back from a drill-down"),
    ("t", "what the sparkline shows"),
    ("p", "pause or resume"),
    ("+ / -", "longer / shorter interval"),
    ("k", "kill the connection (SOCK_DESTROY), asks y/n"),
    ("q, Ctrl-C", "quit"),
];

fn style(app: &App, s: Style) -> Style {
    if app.colour { s } else { Style::default() }
}

/// Draws the whole screen.
pub fn draw(screen: &mut Screen, app: &mut App) {
    let area = screen.area();
    let [tabs, body, detail, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(3), Constraint::Length(2)])
            .areas(area);
    draw_tabs(screen, app, tabs);
    match &app.drill {
        Some(Drill::Process { .. }) => draw_process(screen, app, body),
        _ => draw_table(screen, app, body),
    }
    draw_detail(screen, app, detail);
    draw_footer(screen, app, footer);
    if app.mode == Mode::Help {
        draw_help(screen, app, area);
    }
}

fn draw_tabs(screen: &mut Screen, app: &App, area: Rect) {
    let mut spans = vec![Span::raw("sockscope watch ")];
    for v in View::ALL {
        let title = format!(" {} ", v.title());
        spans.push(if v == app.view {
            Span::styled(title, style(app, Style::default().add_modifier(Modifier::REVERSED)))
        } else {
            Span::raw(title)
        });
    }
    let mut right = format!("  every {}", interval_text(app.interval));
    if app.paused {
        right.push_str("  PAUSED");
    }
    if let Some(Drill::Port(p)) = &app.drill {
        right.push_str(&format!("  port {p}"));
    }
    spans.push(Span::raw(right));
    screen.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn interval_text(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

fn widths(view: View, shown: &[usize]) -> Vec<Constraint> {
    shown
        .iter()
        .map(|&i| match view.columns()[i].1 {
            0 => Constraint::Min(columns::FILL_MIN),
            w => Constraint::Length(w),
        })
        .collect()
}

/// The cells of the columns shown.
fn pick(cells: Vec<String>, shown: &[usize]) -> Vec<String> {
    let mut cells: Vec<Option<String>> = cells.into_iter().map(Some).collect();
    shown.iter().filter_map(|&i| cells.get_mut(i).and_then(Option::take)).collect()
}

fn draw_table(screen: &mut Screen, app: &mut App, area: Rect) {
    let view = app.view;
    let sort = app.sort_column();
    let shown = view.visible(area.width);
    let header = Row::new(shown.iter().map(|&i| view.columns()[i].0).map(|h| {
        if h == sort { Span::styled(format!("{h}▼"), style(app, Style::default().bold())) } else { Span::raw(h) }
    }))
    .style(style(app, Style::default().add_modifier(Modifier::UNDERLINED)));
    let Some(frame) = app.frame.clone() else {
        screen.render_widget(Paragraph::new("collecting…"), area);
        return;
    };
    // The rows that fit: header takes one line.
    let height = area.height.saturating_sub(1) as usize;
    let v = view.index();
    let selected = app.selected[v];
    if selected < app.offset[v] {
        app.offset[v] = selected;
    } else if height > 0 && selected >= app.offset[v] + height {
        app.offset[v] = selected + 1 - height;
    }
    let offset = app.offset[v];
    let rows: Vec<Row> = app
        .order
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(pos, &i)| {
            let row = Row::new(pick(columns::cells(view, &frame, i), &shown));
            let mut st = Style::default();
            match view {
                View::Connections => {
                    let c = &frame.connections[i];
                    if c.closed {
                        st = st.add_modifier(Modifier::DIM);
                    } else if c.fresh {
                        st = st.fg(ratatui::style::Color::Green);
                    }
                }
                View::Listeners if frame.listeners[i].overflowing => st = st.fg(ratatui::style::Color::Red),
                View::Findings => {
                    st = match frame.findings[i].finding.severity {
                        sockscope_core::diagnose::Severity::Crit => st.fg(ratatui::style::Color::Red),
                        sockscope_core::diagnose::Severity::Warn => st.fg(ratatui::style::Color::Yellow),
                        _ => st,
                    }
                }
                _ => {}
            }
            // Colours only when allowed; the selection shows even without them.
            let mut st = style(app, st);
            if pos == selected {
                st = st.add_modifier(Modifier::REVERSED);
            }
            row.style(st)
        })
        .collect();
    if rows.is_empty() {
        let empty = match view {
            View::Findings => "no findings: every rule is quiet",
            View::Listeners => "no TCP listener matches",
            _ => "no socket matches",
        };
        screen.render_widget(Table::new(Vec::<Row>::new(), widths(view, &shown)).header(header), area);
        if area.height > 2 {
            let below = Rect { y: area.y + 1, height: 1, ..area };
            screen.render_widget(Paragraph::new(empty), below);
        }
        return;
    }
    screen.render_widget(Table::new(rows, widths(view, &shown)).header(header).column_spacing(1), area);
}

fn draw_process(screen: &mut Screen, app: &App, area: Rect) {
    let Some(Drill::Process { pid, command, lines }) = &app.drill else { return };
    let title = format!(" fds of {}[{pid}] (Esc back) ", sockscope_core::text::escape(command));
    let text: Vec<Line> = lines.iter().skip(app.drill_offset).map(|l| Line::raw(l.as_str())).collect();
    screen.render_widget(Paragraph::new(text).block(Block::default().borders(Borders::TOP).title(title)), area);
}

fn draw_detail(screen: &mut Screen, app: &App, area: Rect) {
    let line = match &app.mode {
        Mode::Filter(text) => Some(Line::from(vec![Span::raw("filter: "), Span::raw(text.clone()), Span::raw("▏")])),
        Mode::Confirm { what, .. } => Some(Line::styled(what.clone(), style(app, Style::default().bold()))),
        _ => None,
    };
    let [first, spark] = Layout::vertical([Constraint::Length(1), Constraint::Length(2)]).areas(area);
    let news = line.or_else(|| {
        app.filter_error
            .as_ref()
            .map(|e| Line::styled(format!("filter not applied: {e}"), style(app, Style::default().red())))
            .or_else(|| app.status.as_ref().map(|s| Line::raw(s.clone())))
            .or_else(|| (!app.filter.is_empty()).then(|| Line::raw(format!("filter: {}", app.filter))))
    });
    if let Some(line) = news {
        screen.render_widget(Paragraph::new(line), first);
    }
    // The selected finding's evidence and what to do.
    if app.view == View::Findings
        && let (Some(frame), Some(row)) = (&app.frame, app.selected_row())
    {
        let f = &frame.findings[row].finding;
        let evidence: Vec<String> = f.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let lines = vec![
            Line::raw(format!("evidence: {}", evidence.join(" "))),
            // The rules escape what they quote from the system (as doctor prints them).
            Line::raw(format!("fix: {}", f.fix)),
        ];
        screen.render_widget(Paragraph::new(lines), spark);
    }
    // The selected process's last minute of one series.
    if app.view == View::Processes
        && let (Some(frame), Some(row)) = (&app.frame, app.selected_row())
    {
        let p = &frame.processes[row];
        let data: Vec<u64> = frame.history.get(&p.pid).and_then(|h| h.get(&app.series)).cloned().unwrap_or_default();
        let name = match app.series {
            Series::Sockets => "sockets",
            Series::Fds => "fds",
            Series::BytesIn => "bytes in/s",
            Series::BytesOut => "bytes out/s",
            Series::NewConnections => "new/s",
        };
        let label = format!("{}[{}] {name} (t): ", sockscope_core::text::escape(&p.command), p.pid);
        let width = (label.chars().count() as u16).min(spark.width / 2);
        let [l, r] = Layout::horizontal([Constraint::Length(width), Constraint::Fill(1)]).areas(spark);
        screen.render_widget(Paragraph::new(label), l);
        let shown = &data[data.len().saturating_sub(r.width as usize)..];
        screen.render_widget(Sparkline::default().data(shown).style(style(app, Style::default().cyan())), r);
    }
}

fn draw_footer(screen: &mut Screen, app: &App, area: Rect) {
    let cost = match &app.frame {
        Some(f) => format!(
            "collected in {} ms · {} sockets · {} processes · {} listeners{}",
            f.taken.as_millis(),
            f.snapshot.sockets.len(),
            f.processes.len(),
            f.listeners.len(),
            if f.overflows > 0 { format!(" · ListenOverflows +{}", f.overflows) } else { String::new() }
        ),
        None => "collecting…".into(),
    };
    let text = vec![Line::raw(cost), Line::styled(KEYS, style(app, Style::default().dim()))];
    screen.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

fn draw_help(screen: &mut Screen, app: &App, area: Rect) {
    let w = area.width.min(100);
    let h = (HELP.len() as u16 + 2).min(area.height);
    let rect = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    screen.render_widget(Clear, rect);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![Span::styled(format!("{k:<24}"), style(app, Style::default().bold())), Span::raw(*what)])
        })
        .collect();
    screen.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")).wrap(Wrap { trim: true }),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Tracker;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use sockscope_core::Socket;
    use sockscope_core::diagnose::Thresholds;
    use sockscope_core::model::SockState;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const HOSTILE: &str = "\u{1b}]0;pwned\u{7}evil";

    fn socket(state: SockState, local: u16, peer: u16, id: u64) -> Socket {
        let mut s = crate::testdata::tcp(state, local, peer, id);
        if state == SockState::Listen {
            (s.recv_q, s.send_q) = (5, Some(4));
        }
        s
    }

    /// Two refreshes of a listener with a full queue and 12 CLOSE-WAIT connections, held by a
    /// process with a hostile name; or of nothing.
    fn frame(empty: bool) -> Arc<crate::frame::Frame> {
        let sockets: Vec<Socket> = if empty {
            Vec::new()
        } else {
            std::iter::once(socket(SockState::Listen, 8080, 0, 1))
                .chain((0..12).map(|i| socket(SockState::CloseWait, 8080, 40000 + i, 100 + u64::from(i))))
                .collect()
        };
        let snap = crate::testdata::held_by(4242, HOSTILE, sockets);
        let host = crate::testdata::nowhere();
        let mut t = Tracker::new(Thresholds::default());
        let t0 = Instant::now();
        t.update(&host, 0, Arc::clone(&snap), Duration::from_millis(3), t0, Default::default());
        Arc::new(t.update(&host, 0, snap, Duration::from_millis(3), t0 + Duration::from_secs(1), Default::default()))
    }

    fn render(view: View, empty: bool, width: u16, height: u16) -> String {
        let mut app = App::new(view, Duration::from_secs(1), String::new(), true);
        app.set_frame(frame(empty));
        let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
        term.draw(|s| draw(s, &mut app)).unwrap();
        let buf = term.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..height {
            for x in 0..width {
                let sym = buf[(x, y)].symbol();
                assert!(!sym.chars().any(|c| c.is_control()), "a control character reached the screen at {x},{y}");
                text.push_str(sym);
            }
            text.push('\n');
        }
        text
    }

    /// The text under `heading` in the row that starts with `start` (cells are one character
    /// each in the test buffer, so character positions line up).
    fn under(text: &str, start: &str, heading: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let Some(h) = lines.iter().find(|l| l.contains(heading)) else { return format!("(no {heading})") };
        let col = h.split(heading).next().map_or(0, |before| before.chars().count());
        let Some(row) = lines.iter().find(|l| l.trim_start().starts_with(start)) else { return "(no row)".into() };
        row.chars().skip(col).take_while(|c| *c != ' ').collect()
    }

    #[test]
    fn each_view_at_80x24_and_200x50_shows_the_counts_escaped() {
        for (w, h) in [(80, 24), (200, 50)] {
            let p = render(View::Processes, false, w, h);
            assert!(p.contains("Processes") && p.contains("q quit"), "{p}");
            let cell = |heading: &str| under(&p, "4242", heading);
            assert_eq!(
                [cell("SOCK"), cell("ESTAB"), cell("LISTEN"), cell("CLOSE-WAIT")],
                ["13", "0", "1", "12"],
                "{w}x{h}:\n{p}"
            );
            assert!(cell("COMMAND").starts_with("\\x1b]0;"), "the name escaped: {}", cell("COMMAND"));
            if w == 200 {
                assert_eq!(cell("USER"), "root", "{p}");
            }
            assert!(p.contains("collected in 3 ms · 13 sockets · 1 processes · 1 listeners"), "{p}");
            let l = render(View::Listeners, false, w, h);
            let cell = |heading: &str| under(&l, "127.0.0.1:8080", heading);
            assert_eq!([cell("QUEUE"), cell("Q%"), cell("CLOSE-WAIT")], ["5/4", "████125%", "12"], "{w}x{h}:\n{l}");
            let c = render(View::Connections, false, w, h);
            assert_eq!(c.lines().filter(|l| l.starts_with("CLOSE-WAIT")).count(), 12.min(usize::from(h) - 7), "{c}");
            let f = render(View::Findings, false, w, h);
            assert!(f.contains("close-wait-leak"), "the doctor's rule over the two looks:\n{f}");
            assert!(f.contains("evidence: ") && f.contains("fix: "), "the selected finding's evidence:\n{f}");
            assert!(!f.contains("\\\\x1b"), "escaped once, by the rule, not twice:\n{f}");
        }
    }

    #[test]
    fn empty_states_say_so() {
        for (view, words) in [
            (View::Processes, "no socket matches"),
            (View::Listeners, "no TCP listener matches"),
            (View::Connections, "no socket matches"),
            (View::Findings, "no findings"),
        ] {
            let text = render(view, true, 80, 24);
            assert!(text.contains(words), "{view:?}:\n{text}");
        }
    }

    #[test]
    fn the_help_and_a_confirmation_fit_the_smallest_screen() {
        let mut app = App::new(View::Connections, Duration::from_secs(1), String::new(), false);
        app.set_frame(frame(false));
        app.mode = Mode::Help;
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        term.draw(|s| draw(s, &mut app)).unwrap();
        let text: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(text.contains("keys (any key closes)") && text.contains("SOCK_DESTROY"), "{text}");
    }
}
