//! The view as plain text, for `--once`, `--count N` and a stdout that is not a terminal:
//! the same columns and rows as the screen, all rows, aligned, escaped.

use crate::columns::{self, View};
use crate::frame::Frame;
use std::io::{self, Write};

/// Writes one view of a frame as an aligned text table, with a line saying what it is.
pub fn write(out: &mut impl Write, frame: &Frame, view: View, order: &[usize]) -> io::Result<()> {
    let headings: Vec<&str> = view.columns().iter().map(|(h, _, _)| *h).collect();
    let rows: Vec<Vec<String>> = order.iter().map(|&i| columns::cells(view, frame, i)).collect();
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    writeln!(
        out,
        "# {}: {} rows; collected in {} ms, {} sockets, {} processes",
        view.title(),
        rows.len(),
        frame.taken.as_millis(),
        frame.snapshot.sockets.len(),
        frame.processes.len()
    )?;
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            s.push_str(c);
            if i < last {
                s.extend(std::iter::repeat_n(' ', w - c.chars().count() + 1));
            }
        }
        s
    };
    writeln!(out, "{}", line(headings.clone()))?;
    for r in &rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
