//! SVG charts: a benchmark's figures (medians as lines, min–max as bars, the claim as a
//! reference line on the ratio's panel), and any set of series over x, such as the scaling
//! chart of bench/. Log axes are drawn by plotting the log of the values (base 2 for sizes
//! in bytes) on a linear axis and labelling the ticks with the values themselves.

use super::report::{Report, x_text};
use super::stats::{Bound, Spread};
use crate::LabError;
use plotters::prelude::*;
use std::path::Path;

/// One line of a panel: (x, spread) per point.
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, Spread)>,
}

pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Unit of x for tick labels ("bytes" gives B/KiB/MiB).
    pub x_unit: String,
    pub x_log: bool,
    pub y_log: bool,
    pub lines: Vec<Line>,
    /// A horizontal line: (y, label).
    pub reference: Option<(f64, String)>,
    /// The legend in the upper left corner (where lines that rise leave room), else at the
    /// middle right.
    pub legend_upper_left: bool,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// The panels of a report: per figure, its series; and, where it has a ratio, the ratio
/// with the claim as a reference line.
pub fn panels(report: &Report) -> Vec<Panel> {
    let mut out = Vec::new();
    for f in &report.figures {
        let names: Vec<&str> = f.points.first().map(|p| p.series.iter().map(|s| s.name).collect()).unwrap_or_default();
        let lines: Vec<Line> = names
            .iter()
            .map(|name| Line {
                name: name.to_string(),
                points: f
                    .points
                    .iter()
                    .filter_map(|p| Some((p.x, p.series.iter().find(|s| s.name == *name)?.spread)))
                    .collect(),
            })
            .collect();
        let y_log = spans_decades(lines.iter().flat_map(|l| l.points.iter().map(|(_, s)| *s)));
        out.push(Panel {
            title: format!("{}: {} ({} runs, median and min–max)", report.benchmark, f.name, report.runs),
            x_label: format!("{} ({})", f.x.label, f.x.unit),
            y_label: format!("{} ({})", f.name, f.unit),
            x_unit: f.x.unit.to_string(),
            x_log: f.x.log,
            y_log,
            lines,
            reference: None,
            legend_upper_left: false,
        });
        if let Some(r) = &f.ratio {
            let points: Vec<(f64, Spread)> =
                f.points.iter().filter_map(|p| Some((p.x, p.ratio.as_ref()?.spread))).collect();
            let y_log = spans_decades(points.iter().map(|(_, s)| *s));
            out.push(Panel {
                title: format!("{}: {} / {} ({})", report.benchmark, r.numerator, r.denominator, f.name),
                x_label: format!("{} ({})", f.x.label, f.x.unit),
                y_label: "ratio (×)".into(),
                x_unit: f.x.unit.to_string(),
                x_log: f.x.log,
                y_log,
                lines: vec![Line { name: format!("{} / {}", r.numerator, r.denominator), points }],
                reference: r.claim.map(|c| {
                    let side = if c.bound == Bound::AtLeast { "≥" } else { "≤" };
                    (c.value, format!("claim: {side} {}×", c.value))
                }),
                legend_upper_left: false,
            });
        }
    }
    out
}

fn spans_decades(spreads: impl Iterator<Item = Spread>) -> bool {
    let (lo, hi) = spreads.fold((f64::INFINITY, 0.0f64), |(lo, hi), s| (lo.min(s.min), hi.max(s.max)));
    lo > 0.0 && hi / lo >= 100.0
}

/// Writes `panels` one above the other into an SVG file, created with `mode`
/// (`sockscope_core::outfile`: an existing file is replaced, no symlink of another user's
/// followed).
pub fn write_svg(path: &Path, panels: &[Panel], mode: u32) -> Result<(), LabError> {
    if panels.is_empty() {
        return Err(LabError::Limit("nothing to plot".into()));
    }
    let height = 440 * panels.len() as u32;
    let err = |e: &dyn std::fmt::Display| LabError::Io {
        what: format!("plot {}", path.display()),
        error: std::io::Error::other(e.to_string()),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        for (area, panel) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
            draw(area, panel).map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    if svg.is_empty() {
        return Err(err(&"the chart is empty"));
    }
    let io = |error| LabError::Io { what: format!("plot {}", path.display()), error };
    let mut file =
        sockscope_core::outfile::create(path, sockscope_core::outfile::Existing::Replace, mode).map_err(|e| err(&e))?;
    std::io::Write::write_all(&mut file, svg.as_bytes()).map_err(io)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(area: &Area<'_>, p: &Panel) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    // Sizes in bytes go on a log2 axis, so that ticks fall on powers of two (64 B, 1 KiB).
    let x_base: f64 = if p.x_unit == "bytes" { 2.0 } else { 10.0 };
    let tx = |v: f64| if p.x_log { v.max(1e-12).log(x_base) } else { v };
    let ty = |v: f64| if p.y_log { v.max(1e-12).log10() } else { v };
    let xs: Vec<f64> = p.lines.iter().flat_map(|l| l.points.iter().map(|(x, _)| tx(*x))).collect();
    let mut ys: Vec<f64> =
        p.lines.iter().flat_map(|l| l.points.iter().flat_map(|(_, s)| [ty(s.min), ty(s.max)])).collect();
    if let Some((y, _)) = &p.reference {
        ys.push(ty(*y));
    }
    let (x0, x1) = padded(&xs, p.x_log, false);
    let (y0, y1) = padded(&ys, p.y_log, !p.y_log);
    // Ticks: x at every measured point (a sweep's sizes are what a reader looks for); y at
    // whole powers of ten on a log axis, else at round steps.
    let mut x_ticks: Vec<f64> = xs.clone();
    x_ticks.sort_by(f64::total_cmp);
    x_ticks.dedup();
    let y_ticks = if p.y_log {
        // 1, 2 and 5 of each decade when that stays readable, else the decades alone.
        let decades = (y0.floor() as i64)..=(y1.ceil() as i64);
        let fine: Vec<f64> = decades
            .clone()
            .flat_map(|e| [1f64, 2.0, 5.0].map(|m| e as f64 + m.log10()))
            .filter(|t| (y0..=y1).contains(t))
            .collect();
        if fine.len() <= 12 { fine } else { decades.map(|e| e as f64).filter(|t| (y0..=y1).contains(t)).collect() }
    } else {
        round_steps(y0, y1)
    };
    let x_unit = p.x_unit.clone();
    let x_log = p.x_log;
    let x_fmt = move |v: &f64| {
        let raw = if x_log { x_base.powf(*v) } else { *v };
        if x_unit == "bytes" { x_text(raw.round(), "bytes") } else { short(raw) }
    };
    let y_log = p.y_log;
    // 10^log10(2) is 2 give or take a rounding error: round to three significant digits.
    let y_fmt = move |v: &f64| short(if y_log { significant(10f64.powf(*v)) } else { *v });
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(Ticked { lo: x0, hi: x1, ticks: x_ticks }, Ticked { lo: y0, hi: y1, ticks: y_ticks })?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    for (i, line) in p.lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = line.points.iter().map(|(x, s)| (tx(*x), ty(s.median))).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(line.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, color.filled())))?;
        chart.draw_series(
            line.points
                .iter()
                .map(|(x, s)| ErrorBar::new_vertical(tx(*x), ty(s.min), ty(s.median), ty(s.max), color, 8)),
        )?;
    }
    if let Some((y, label)) = &p.reference {
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(DashedLineSeries::new([(x0, ty(*y)), (x1, ty(*y))], 8, 5, red.stroke_width(2)))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    }
    let position = if p.legend_upper_left { SeriesLabelPosition::UpperLeft } else { SeriesLabelPosition::MiddleRight };
    chart.configure_series_labels().position(position).border_style(BLACK).background_style(WHITE.mix(0.85)).draw()?;
    Ok(())
}

fn significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powf(v.abs().log10().floor() - 2.0);
    (v / scale).round() * scale
}

/// A linear axis whose ticks are the ones given.
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl plotters::coord::ranged1d::Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let frac = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * frac).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// About six ticks between `lo` and `hi` at steps of 1, 2 or 5 times a power of ten.
fn round_steps(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / 6.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let mut ticks = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 && ticks.len() < 50 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    ticks
}

/// The range of some (transformed) values with a margin; a single value gets room around it.
fn padded(v: &[f64], log: bool, from_zero: bool) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.08
    } else if log {
        0.3
    } else {
        hi.abs().max(1.0) * 0.5
    };
    let lo = if from_zero && lo >= 0.0 { 0.0 } else { lo - pad };
    (lo, hi + pad)
}

/// A tick value, short: 1.5k, 2M, 0.25.
fn short(v: f64) -> String {
    let trimmed = |x: f64, places: usize| {
        let t = format!("{x:.places$}");
        if t.contains('.') { t.trim_end_matches('0').trim_end_matches('.').to_string() } else { t }
    };
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", trimmed(v / 1e9, 2))
    } else if a >= 1e6 {
        format!("{}M", trimmed(v / 1e6, 2))
    } else if a >= 1e4 {
        format!("{}k", trimmed(v / 1e3, 2))
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        // Two significant digits however small: 0.5, 0.03, 0.0012.
        let places = (1.0 - a.log10().floor()).max(0.0) as usize;
        trimmed(v, places)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_written_with_its_series_and_claim() {
        let s = |m: f64| Spread { median: m, min: m * 0.9, max: m * 1.1 };
        let panel = || Panel {
            title: "t".into(),
            x_label: "message size (bytes)".into(),
            y_label: "ratio (×)".into(),
            x_unit: "bytes".into(),
            x_log: true,
            y_log: false,
            lines: vec![Line { name: "Unix / TCP".into(), points: vec![(64.0, s(2.2)), (1048576.0, s(1.7))] }],
            reference: Some((2.0, "claim: ≥ 2×".into())),
            legend_upper_left: false,
        };
        let dir = std::env::temp_dir().join(format!("sockscope-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.svg");
        write_svg(&path, &[panel()], 0o600).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
        for text in ["Unix / TCP", "claim: ≥ 2×", "64 B", "1 MiB", "message size (bytes)"] {
            assert!(svg.contains(text), "{text} missing");
        }
        let _ = std::fs::remove_dir_all(&dir);
        // A chart that cannot be written is an error, and so is nothing to draw.
        assert!(write_svg(Path::new("/nonexistent-dir/x.svg"), &[panel()], 0o600).is_err());
        assert!(write_svg(&dir.join("empty.svg"), &[], 0o600).is_err());
    }

    #[test]
    fn round_steps_cover_the_range() {
        assert_eq!(round_steps(0.0, 3.0), vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(round_steps(0.0, 100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(round_steps(1.0, 1.0), vec![1.0]);
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(short(1500.0), "1500");
        assert_eq!(short(25000.0), "25k");
        assert_eq!(short(2_000_000.0), "2M");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(2.26), "2.3");
        assert_eq!(short(0.0012), "0.0012");
        assert_eq!(short(0.03), "0.03");
    }
}
