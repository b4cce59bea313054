//! An aligned text table. Every cell is written once into one string arena; widths are the
//! widest cell of each column over all rows, so alignment holds at any row count.

use sockscope_core::text::Colour;
use std::io::{self, Write};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A column, or a pair of sub-columns joined by a separator (`addr:port`), under one heading.
pub struct Column {
    pub heading: &'static str,
    pub align: Align,
    /// `Some(sep)`: this column has two cells per row, printed `left{sep}right` with the left
    /// cell right-aligned and the right cell left-aligned, as ss prints addresses.
    pub split: Option<char>,
}

impl Column {
    /// A column of one cell per row.
    pub fn new(heading: &'static str, align: Align) -> Column {
        Column { heading, align, split: None }
    }
}

pub struct Table {
    columns: Vec<Column>,
    /// Keep every row (the default), or handle each row as soon as it is complete.
    mode: Mode,
    /// Cells per row: one per plain column, two per split column, plus one trailing cell.
    cells_per_row: usize,
    arena: String,
    /// Where each cell ends in the arena (it starts where the one before ended): four bytes
    /// a cell, which at 200k rows of nine cells is 7 MB less than a (start, end) pair.
    ends: Vec<u32>,
    /// Per-row separator override for split columns (Unix endpoints use ' ' not ':').
    seps: Vec<char>,
    /// (column, painter): an SGR code for a cell's text, put around the text, not its padding,
    /// so widths stay right.
    painters: Vec<(usize, Painter)>,
}

/// The SGR parameters (`33`, `2`) to colour a cell's text with, or `None` for none.
pub type Painter = fn(&str) -> Option<Colour>;

impl Table {
    pub fn new(columns: Vec<Column>) -> Table {
        let cells_per_row = columns.iter().map(|c| if c.split.is_some() { 2 } else { 1 }).sum::<usize>() + 1;
        Table {
            columns,
            mode: Mode::Keep,
            cells_per_row,
            arena: String::new(),
            ends: Vec::new(),
            seps: Vec::new(),
            painters: Vec::new(),
        }
    }

    /// Colours the cells of column `column` (a plain column) with `painter`.
    pub fn paint(&mut self, column: usize, painter: Painter) {
        self.painters.push((column, painter));
    }

    pub fn reserve(&mut self, rows: usize) {
        self.ends.reserve(rows * self.cells_per_row);
        self.arena.reserve(rows * 64);
    }

    /// Appends one cell of the current row; `f` writes the text into the arena.
    pub fn cell(&mut self, f: impl FnOnce(&mut String)) {
        f(&mut self.arena);
        // A table over 4 GiB of text is not one anybody reads; saturate rather than wrap.
        self.ends.push(u32::try_from(self.arena.len()).unwrap_or(u32::MAX));
        if self.ends.len() == self.cells_per_row && !matches!(self.mode, Mode::Keep) {
            self.row_done();
        }
    }

    /// A table that keeps no rows, only their widths: the first pass of `stream`.
    fn measuring(columns: Vec<Column>) -> Table {
        let mut t = Table::new(columns);
        t.mode = Mode::Measure { widths: vec![0; t.cells_per_row - 1] };
        t
    }

    /// In a streaming mode, the row just completed is measured or formatted, then dropped.
    fn row_done(&mut self) {
        match std::mem::replace(&mut self.mode, Mode::Keep) {
            Mode::Keep => {}
            Mode::Measure { mut widths } => {
                self.widen(&mut widths);
                self.mode = Mode::Measure { widths };
            }
            Mode::Write { widths, fixed, max_width, mut pending } => {
                self.format_row(0, &widths, fixed, max_width, &mut pending);
                self.mode = Mode::Write { widths, fixed, max_width, pending };
            }
        }
        self.arena.clear();
        self.ends.clear();
        self.seps.clear();
    }

    /// Writes what a streaming table has formatted so far (nothing in the other modes); call
    /// it now and then while filling, so no more than a few rows are ever held.
    pub fn drain(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Mode::Write { pending, .. } = &mut self.mode {
            out.write_all(pending.as_bytes())?;
            pending.clear();
        }
        Ok(())
    }

    /// A table too large to keep (an `fds` of the whole host): `fill` is called twice, once
    /// to measure the widths and once to write the rows with them, on tables that hold one
    /// row at a time. `fill` must add the same rows both times and call `drain` now and then.
    pub fn stream(
        columns: impl Fn() -> Vec<Column>,
        out: &mut dyn Write,
        header: bool,
        trailing_heading: Option<&str>,
        max_width: Option<usize>,
        mut fill: impl FnMut(&mut Table, &mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut measure = Table::measuring(columns());
        fill(&mut measure, &mut io::sink())?;
        let Mode::Measure { mut widths } = measure.mode else { return Ok(()) };
        let mut t = Table::new(columns());
        if header {
            t.widen_for_headings(&mut widths);
            out.write_all(t.header_line(&widths, trailing_heading).as_bytes())?;
        }
        let fixed = t.fixed_width(&widths);
        t.mode = Mode::Write { widths, fixed, max_width, pending: String::new() };
        fill(&mut t, out)?;
        t.drain(out)
    }

    pub fn cell_str(&mut self, s: &str) {
        self.cell(|a| a.push_str(s));
    }

    /// The separator for this row's split columns (call once per row, before its cells).
    pub fn row_separator(&mut self, sep: char) {
        self.seps.push(sep);
    }

    pub fn rows(&self) -> usize {
        self.ends.len() / self.cells_per_row
    }

    fn text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.arena.get(start..self.ends[i] as usize).unwrap_or_default()
    }

    /// Writes the table. The last cell of a row (owners, details) is never padded; when
    /// `max_width` is given and a row would be wider, that cell moves to its own indented
    /// line, as ss wraps on a narrow terminal.
    pub fn write(
        &self,
        out: &mut impl Write,
        header: bool,
        trailing_heading: Option<&str>,
        max_width: Option<usize>,
    ) -> io::Result<()> {
        Table::write_parts(std::slice::from_ref(self), out, header, trailing_heading, max_width)
    }

    /// Writes tables with the same columns (parts filled on several threads) as one: the
    /// widths hold across all of them, rows in order of the parts.
    pub fn write_parts(
        parts: &[Table],
        out: &mut impl Write,
        header: bool,
        trailing_heading: Option<&str>,
        max_width: Option<usize>,
    ) -> io::Result<()> {
        Table::write_parts_after(parts, out, &mut Vec::new(), header, trailing_heading, max_width)
    }

    /// `write_parts` for a listing written in pieces: `widths` are those of the pieces
    /// written before (empty at first), widened for these rows and never narrowed, so the
    /// columns can only widen further down (as ss's do when it writes a long listing in
    /// pieces). `header`: the heading line first.
    pub fn write_parts_after(
        parts: &[Table],
        out: &mut impl Write,
        widths: &mut Vec<usize>,
        header: bool,
        trailing_heading: Option<&str>,
        max_width: Option<usize>,
    ) -> io::Result<()> {
        let Some(first) = parts.first() else { return Ok(()) };
        if widths.is_empty() {
            *widths = vec![0usize; first.cells_per_row - 1];
        }
        for part in parts {
            debug_assert_eq!(part.cells_per_row, first.cells_per_row);
            part.widen(widths);
        }
        if header {
            first.widen_for_headings(widths);
        }
        let fixed = first.fixed_width(widths);
        if header {
            out.write_all(first.header_line(widths, trailing_heading).as_bytes())?;
        }
        let mut line = String::with_capacity(fixed + 64);
        for part in parts {
            for r in 0..part.rows() {
                line.clear();
                part.format_row(r, widths, fixed, max_width, &mut line);
                out.write_all(line.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Writes this table's rows after the pieces before (`write_parts_after`), then forgets
    /// them, to be filled with the next piece.
    pub fn write_batch(
        &mut self,
        out: &mut dyn Write,
        widths: &mut Vec<usize>,
        header: bool,
        trailing_heading: Option<&str>,
        max_width: Option<usize>,
    ) -> io::Result<()> {
        Table::write_parts_after(
            std::slice::from_ref(self),
            &mut &mut *out,
            widths,
            header,
            trailing_heading,
            max_width,
        )?;
        self.arena.clear();
        self.ends.clear();
        self.seps.clear();
        Ok(())
    }

    /// The width of everything before the trailing cell.
    fn fixed_width(&self, widths: &[usize]) -> usize {
        self.columns.iter().enumerate().map(|(c, col)| self.column_width(widths, c, col) + 1).sum()
    }

    /// The heading line, ending in a newline.
    fn header_line(&self, widths: &[usize], trailing_heading: Option<&str>) -> String {
        let mut line = String::new();
        for (c, col) in self.columns.iter().enumerate() {
            let w = self.column_width(widths, c, col);
            pad(&mut line, col.heading, w, if col.split.is_some() { Align::Right } else { col.align });
            line.push(' ');
        }
        if let Some(h) = trailing_heading {
            line.push_str(h);
        }
        truncate_trailing_spaces(&mut line);
        line.push('\n');
        line
    }

    /// Row `r` as one line (or two, when the trailing cell wraps), ending in a newline.
    fn format_row(&self, r: usize, widths: &[usize], fixed: usize, max_width: Option<usize>, line: &mut String) {
        let mut cell = r * self.cells_per_row;
        let mut sub = 0;
        for (index, col) in self.columns.iter().enumerate() {
            match col.split {
                None => {
                    let text = self.text(cell);
                    match self.painters.iter().find(|(c, _)| *c == index).and_then(|(_, p)| p(text)) {
                        Some(colour) => painted(line, text, widths[sub], col.align, colour),
                        None => pad(line, text, widths[sub], col.align),
                    }
                    cell += 1;
                    sub += 1;
                }
                Some(default_sep) => {
                    pad(line, self.text(cell), widths[sub], Align::Right);
                    // An endpoint with no port part (`*`) gets no separator.
                    let right = self.text(cell + 1);
                    line.push(if right.is_empty() { ' ' } else { self.seps.get(r).copied().unwrap_or(default_sep) });
                    pad(line, right, widths[sub + 1], Align::Left);
                    cell += 2;
                    sub += 2;
                }
            }
            line.push(' ');
        }
        let trailing = self.text(cell);
        if trailing.is_empty() || trailing.starts_with('\n') {
            truncate_trailing_spaces(line);
            line.push_str(trailing);
        } else if max_width.is_some_and(|w| fixed + width(trailing) > w) {
            truncate_trailing_spaces(line);
            line.push_str("\n\t");
            line.push_str(trailing);
        } else {
            line.push_str(trailing);
        }
        line.push('\n');
    }

    /// Grows each sub-column width (split columns count as two) to this table's widest cell.
    fn widen(&self, w: &mut [usize]) {
        for r in 0..self.rows() {
            for (s, wi) in w.iter_mut().enumerate() {
                *wi = (*wi).max(width(self.text(r * self.cells_per_row + s)));
            }
        }
    }

    /// Grows the widths so every heading fits over its column.
    fn widen_for_headings(&self, w: &mut [usize]) {
        let mut sub = 0;
        for col in &self.columns {
            let hw = width(col.heading);
            if col.split.is_some() {
                // Grow the address part so the heading fits over addr{sep}port.
                let have = w[sub] + 1 + w[sub + 1];
                if hw > have {
                    w[sub] += hw - have;
                }
                sub += 2;
            } else {
                w[sub] = w[sub].max(hw);
                sub += 1;
            }
        }
    }

    fn column_width(&self, widths: &[usize], c: usize, col: &Column) -> usize {
        let sub: usize = self.columns[..c].iter().map(|c| if c.split.is_some() { 2 } else { 1 }).sum();
        if col.split.is_some() { widths[sub] + 1 + widths[sub + 1] } else { widths[sub] }
    }
}

/// What a table does with a row once it is complete.
enum Mode {
    Keep,
    Measure { widths: Vec<usize> },
    Write { widths: Vec<usize>, fixed: usize, max_width: Option<usize>, pending: String },
}

/// Columns a cell takes on a terminal: CJK and emoji take two, combining marks none.
fn width(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { unicode_width::UnicodeWidthStr::width(s) }
}

/// `pad`, with the text (not the padding) painted (`text::push_painted`).
fn painted(line: &mut String, text: &str, w: usize, align: Align, colour: Colour) {
    let fill = w.saturating_sub(width(text));
    if align == Align::Right {
        spaces(line, fill);
    }
    sockscope_core::text::push_painted(line, colour, text);
    if align == Align::Left {
        spaces(line, fill);
    }
}

fn pad(line: &mut String, text: &str, w: usize, align: Align) {
    let fill = w.saturating_sub(width(text));
    if align == Align::Right {
        spaces(line, fill);
        line.push_str(text);
    } else {
        line.push_str(text);
        spaces(line, fill);
    }
}

/// Appends `n` spaces (a slice copy, not a push per space: this runs for every cell).
fn spaces(line: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        line.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn truncate_trailing_spaces(line: &mut String) {
    let len = line.trim_end_matches(' ').len();
    line.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: widths counted characters, so a CJK process name pushed its row out of line.
    #[test]
    fn wide_characters_keep_columns_aligned() {
        let mut t = Table::new(vec![
            Column { heading: "COMMAND", align: Align::Left, split: None },
            Column { heading: "PID", align: Align::Right, split: None },
        ]);
        for (name, pid) in [("nginx", "1"), ("日本語", "22"), ("cafe\u{301}", "333")] {
            t.cell_str(name);
            t.cell_str(pid);
            t.cell_str("x");
        }
        let mut out = Vec::new();
        t.write(&mut out, true, Some("T"), None).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let ends: Vec<usize> =
            text.lines().map(|l| unicode_width::UnicodeWidthStr::width(&l[..l.rfind(' ').unwrap_or(0)])).collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    fn sample(rows: &[(&str, &str, &str, &str)]) -> String {
        let mut t = Table::new(vec![
            Column { heading: "State", align: Align::Left, split: None },
            Column { heading: "Local Address:Port", align: Align::Left, split: Some(':') },
        ]);
        for (state, addr, port, tail) in rows {
            t.row_separator(':');
            t.cell_str(state);
            t.cell_str(addr);
            t.cell_str(port);
            t.cell_str(tail);
        }
        let mut out = Vec::new();
        t.write(&mut out, true, Some("Process"), None).expect("write to vec");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn columns_line_up_for_every_row() {
        let text = sample(&[
            ("LISTEN", "0.0.0.0", "22", ""),
            ("ESTAB", "[::1]", "8080", "users(x)"),
            ("X", "10.0.0.1", "1", ""),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        let colon: Vec<usize> = lines[1..].iter().map(|l| l.rfind(':').expect("colon")).collect();
        assert!(colon.windows(2).all(|w| w[0] == w[1]), "{text}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{text}");
        assert!(lines[0].starts_with("State "));
    }

    #[test]
    fn parts_filled_apart_align_as_one_table() {
        let part = |rows: &[(&str, &str)]| {
            let mut t = Table::new(vec![
                Column { heading: "State", align: Align::Left, split: None },
                Column { heading: "Local", align: Align::Left, split: Some(':') },
            ]);
            for (addr, port) in rows {
                t.row_separator(':');
                t.cell_str("ESTAB");
                t.cell_str(addr);
                t.cell_str(port);
                t.cell_str("");
            }
            t
        };
        let parts = [part(&[("1.1.1.1", "1")]), part(&[("[2001:db8::1]", "65535")])];
        let mut out = Vec::new();
        Table::write_parts(&parts, &mut out, true, None, None).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        let mut whole = part(&[("1.1.1.1", "1")]);
        whole.row_separator(':');
        for c in ["ESTAB", "[2001:db8::1]", "65535", ""] {
            whole.cell_str(c);
        }
        let mut one = Vec::new();
        whole.write(&mut one, true, None, None).expect("write");
        assert_eq!(text, String::from_utf8(one).expect("utf8"));
        let colons: Vec<usize> = text.lines().skip(1).map(|l| l.rfind(':').expect("colon")).collect();
        assert_eq!(colons[0], colons[1], "{text}");
    }

    #[test]
    fn narrow_terminal_wraps_the_trailing_cell() {
        let mut t = Table::new(vec![Column { heading: "A", align: Align::Left, split: None }]);
        t.cell_str("x");
        t.cell_str("a-long-trailing-cell");
        let mut out = Vec::new();
        t.write(&mut out, false, None, Some(10)).expect("write");
        assert_eq!(String::from_utf8(out).expect("utf8"), "x\n\ta-long-trailing-cell\n");
    }
}
