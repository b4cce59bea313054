//! The view's state and what each key does. No terminal and no system calls here: keys come
//! in, the state changes, and what needs the system (a new filter, a kill, a process's fd
//! table) goes out as an `Action` for the event loop to carry out.

use crate::columns::{self, View};
use crate::frame::{Frame, Series};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;
use std::time::Duration;

/// What the event loop must do after a key.
#[derive(Debug, PartialEq)]
pub enum Action {
    None,
    Quit,
    /// Parse and apply this filter text (errors come back through `App::filter_failed`).
    Filter(String),
    Pause(bool),
    Interval(Duration),
    /// Read this process's fd table for the drill-down.
    OpenProcess(u32),
    /// Destroy the connection at this index of the frame's snapshot (confirmed).
    Kill(usize),
}

/// What the screen is in besides the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    /// Typing a filter after `/`.
    Filter(String),
    /// `k` asked for confirmation of destroying this snapshot socket (its text shown).
    Confirm {
        index: usize,
        what: String,
    },
}

/// A drill-down: a process's fd table, or a listener's connections.
#[derive(Clone, Debug, PartialEq)]
pub enum Drill {
    Process { pid: u32, command: String, lines: Vec<String> },
    Port(u16),
}

pub struct App {
    pub view: View,
    /// Per view: the sort column (index into `View::sortable`) and whether reversed.
    pub sorts: [(usize, bool); 4],
    /// Per view: the selected row (position in `order`) and the first row shown.
    pub selected: [usize; 4],
    pub offset: [usize; 4],
    pub frame: Option<Arc<Frame>>,
    /// The current view's rows in display order (indexes into the frame's rows).
    pub order: Vec<usize>,
    pub mode: Mode,
    pub drill: Option<Drill>,
    pub filter: String,
    /// The last filter that failed, and why; the previous filter stays in force.
    pub filter_error: Option<String>,
    pub paused: bool,
    pub interval: Duration,
    /// One line of news: a kill's result, a collection error.
    pub status: Option<String>,
    pub colour: bool,
    /// The series the sparkline shows.
    pub series: Series,
    /// Lines of the fd table scrolled past, in a process drill-down.
    pub drill_offset: usize,
}

const INTERVALS: [u64; 8] = [250, 500, 1000, 2000, 3000, 5000, 10_000, 30_000];

impl App {
    pub fn new(view: View, interval: Duration, filter: String, colour: bool) -> App {
        App {
            view,
            sorts: [(0, false); 4],
            selected: [0; 4],
            offset: [0; 4],
            frame: None,
            order: Vec::new(),
            mode: Mode::Normal,
            drill: None,
            filter,
            filter_error: None,
            paused: false,
            interval,
            status: None,
            colour,
            series: Series::Sockets,
            drill_offset: 0,
        }
    }

    /// A new frame: the rows are sorted again and the selection kept in range.
    pub fn set_frame(&mut self, frame: Arc<Frame>) {
        self.frame = Some(frame);
        self.reorder();
    }

    pub fn sort_column(&self) -> &'static str {
        let (i, _) = self.sorts[self.view.index()];
        self.view.sortable().get(i).copied().unwrap_or("")
    }

    /// Sorts the current view's rows, keeping only a drilled-into port's connections.
    pub fn reorder(&mut self) {
        let Some(frame) = &self.frame else {
            self.order.clear();
            return;
        };
        let view = self.view;
        let port = match &self.drill {
            Some(Drill::Port(p)) if view == View::Connections => Some(*p),
            _ => None,
        };
        let mut order: Vec<usize> = (0..columns::row_count(view, frame))
            .filter(|&i| match port {
                None => true,
                Some(p) => frame.connections[i]
                    .socket(frame)
                    .is_some_and(|s| s.local.port() == Some(p) && s.state != sockscope_core::SockState::Listen),
            })
            .collect();
        let column = self.sort_column();
        let (_, reverse) = self.sorts[view.index()];
        order.sort_by(|a, b| {
            let o = columns::compare(view, column, frame, *a, *b);
            if reverse { o.reverse() } else { o }
        });
        self.order = order;
        let v = view.index();
        self.selected[v] = self.selected[v].min(self.order.len().saturating_sub(1));
    }

    fn switch(&mut self, view: View) {
        self.view = view;
        self.reorder();
    }

    fn move_by(&mut self, delta: isize) {
        let v = self.view.index();
        let last = self.order.len().saturating_sub(1) as isize;
        self.selected[v] = (self.selected[v] as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// The selected row's index into the frame's rows of the current view.
    pub fn selected_row(&self) -> Option<usize> {
        self.order.get(self.selected[self.view.index()]).copied()
    }

    /// A filter the collector could not use: shown in place, the old one kept.
    pub fn filter_failed(&mut self, why: String) {
        self.filter_error = Some(why);
    }

    pub fn key(&mut self, k: KeyEvent, page: usize) -> Action {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Normal;
                return if k.code == KeyCode::Char('q') { Action::Quit } else { Action::None };
            }
            Mode::Filter(mut text) => {
                match k.code {
                    KeyCode::Enter => {
                        self.mode = Mode::Normal;
                        return Action::Filter(text);
                    }
                    KeyCode::Esc => self.mode = Mode::Normal,
                    KeyCode::Backspace => {
                        text.pop();
                        self.mode = Mode::Filter(text);
                    }
                    KeyCode::Char(c) if !c.is_control() => {
                        text.push(c);
                        self.mode = Mode::Filter(text);
                    }
                    _ => {}
                }
                return Action::None;
            }
            Mode::Confirm { index, .. } => {
                self.mode = Mode::Normal;
                return if k.code == KeyCode::Char('y') {
                    Action::Kill(index)
                } else {
                    self.status = Some("not killed".into());
                    Action::None
                };
            }
            Mode::Normal => {}
        }
        let page = page.max(1) as isize;
        match k.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('?') | KeyCode::F(1) => self.mode = Mode::Help,
            KeyCode::Down => self.move_by(1),
            KeyCode::Up => self.move_by(-1),
            KeyCode::PageDown => self.move_by(page),
            KeyCode::PageUp => self.move_by(-page),
            KeyCode::Home => self.move_by(isize::MIN / 2),
            KeyCode::End => self.move_by(isize::MAX / 2),
            KeyCode::Tab => {
                self.drill = None;
                self.switch(self.view.next());
            }
            KeyCode::BackTab => {
                self.drill = None;
                self.switch(self.view.previous());
            }
            KeyCode::Char('s') => {
                let v = self.view.index();
                self.sorts[v].0 = (self.sorts[v].0 + 1) % self.view.sortable().len();
                self.sorts[v].1 = false;
                self.reorder();
            }
            KeyCode::Char('S') => {
                let v = self.view.index();
                self.sorts[v].1 = !self.sorts[v].1;
                self.reorder();
            }
            KeyCode::Char('/') => self.mode = Mode::Filter(self.filter.clone()),
            KeyCode::Char('p') => {
                self.paused = !self.paused;
                return Action::Pause(self.paused);
            }
            KeyCode::Char('+') => return self.step_interval(1),
            KeyCode::Char('-') => return self.step_interval(-1),
            KeyCode::Char('t') => {
                self.series = match self.series {
                    Series::Sockets => Series::Fds,
                    Series::Fds => Series::BytesIn,
                    Series::BytesIn => Series::BytesOut,
                    Series::BytesOut => Series::NewConnections,
                    Series::NewConnections => Series::Sockets,
                }
            }
            KeyCode::Enter => return self.enter(),
            KeyCode::Esc if self.drill.take().is_some() => {
                self.drill_offset = 0;
                self.reorder();
            }
            KeyCode::Char('k') => self.ask_kill(),
            _ => {}
        }
        Action::None
    }

    fn step_interval(&mut self, dir: i32) -> Action {
        let now = self.interval.as_millis() as u64;
        let at = INTERVALS.iter().position(|i| *i >= now).unwrap_or(INTERVALS.len() - 1);
        let next = if dir > 0 { (at + 1).min(INTERVALS.len() - 1) } else { at.saturating_sub(1) };
        self.interval = Duration::from_millis(INTERVALS[next]);
        Action::Interval(self.interval)
    }

    fn enter(&mut self) -> Action {
        let (Some(frame), Some(row)) = (&self.frame, self.selected_row()) else { return Action::None };
        match self.view {
            View::Processes => {
                let pid = frame.processes[row].pid;
                Action::OpenProcess(pid)
            }
            View::Listeners => {
                let port = frame.listeners[row].port;
                self.drill = Some(Drill::Port(port));
                self.switch(View::Connections);
                self.selected[View::Connections.index()] = 0;
                Action::None
            }
            _ => Action::None,
        }
    }

    fn ask_kill(&mut self) {
        if self.view != View::Connections {
            self.status = Some("k kills a connection: select one in Connections (Tab)".into());
            return;
        }
        let Some(frame) = &self.frame else { return };
        let Some(index) = self.selected_row().and_then(|r| frame.connections[r].index()) else {
            self.status = Some("that connection is already closed".into());
            return;
        };
        let s = &frame.snapshot.sockets[index];
        if !sockscope_core::destroy::Destroyer::can_destroy(s) {
            self.status = Some("only TCP, UDP and raw sockets can be destroyed (SOCK_DESTROY)".into());
            return;
        }
        let what = format!(
            "kill {} {} -> {}? (y/n)",
            s.netid.ss_name(),
            sockscope_core::text::escape(&s.end_text(&s.local)),
            sockscope_core::text::escape(&s.end_text(&s.peer))
        );
        self.mode = Mode::Confirm { index, what };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn filter_typing_is_applied_on_enter_and_dropped_on_escape() {
        let mut app = App::new(View::Processes, Duration::from_secs(1), "state established".into(), false);
        assert_eq!(app.key(key(KeyCode::Char('/')), 10), Action::None);
        assert_eq!(app.mode, Mode::Filter("state established".into()));
        for _ in 0.."state established".len() {
            app.key(key(KeyCode::Backspace), 10);
        }
        for c in "dport = :80".chars() {
            app.key(key(KeyCode::Char(c)), 10);
        }
        assert_eq!(app.key(key(KeyCode::Enter), 10), Action::Filter("dport = :80".into()));
        app.key(key(KeyCode::Char('/')), 10);
        app.key(key(KeyCode::Char('x')), 10);
        assert_eq!(app.key(key(KeyCode::Esc), 10), Action::None);
        assert_eq!(app.mode, Mode::Normal);
    }

    #[test]
    fn tab_cycles_views_and_keys_change_interval_and_pause() {
        let mut app = App::new(View::Processes, Duration::from_secs(1), String::new(), false);
        for want in [View::Listeners, View::Connections, View::Findings, View::Processes] {
            app.key(key(KeyCode::Tab), 10);
            assert_eq!(app.view, want);
        }
        assert_eq!(app.key(key(KeyCode::Char('+')), 10), Action::Interval(Duration::from_secs(2)));
        assert_eq!(app.key(key(KeyCode::Char('-')), 10), Action::Interval(Duration::from_secs(1)));
        assert_eq!(app.key(key(KeyCode::Char('p')), 10), Action::Pause(true));
        assert_eq!(app.key(key(KeyCode::Char('q')), 10), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(app.key(ctrl_c, 10), Action::Quit);
    }

    #[test]
    fn sort_keys_cycle_columns_and_reverse() {
        let mut app = App::new(View::Connections, Duration::from_secs(1), String::new(), false);
        assert_eq!(app.sort_column(), "IN/s");
        app.key(key(KeyCode::Char('s')), 10);
        assert_eq!(app.sort_column(), "OUT/s");
        app.key(key(KeyCode::Char('S')), 10);
        assert!(app.sorts[View::Connections.index()].1);
    }
}
