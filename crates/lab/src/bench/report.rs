//! What every benchmark reports, in one shape: figures (throughput, round trip, cost per
//! wait…) measured at each point of a sweep, every run's sample, the spread, ratios taken
//! run by run, latency percentiles, and the verdict on the chapter's claim. The text view,
//! the JSON and the plots all read this.

use super::stats::{Claim, Latencies, Percentiles, Spread, Verdict, figure, higher_or_lower, times};
use crate::LabError;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    /// The chapter's words.
    pub claim: &'static str,
    /// Measured runs per point (after one warm-up run that is thrown away).
    pub runs: usize,
    pub conditions: super::conditions::Conditions,
    pub figures: Vec<Figure>,
}

/// The x axis of a figure: what the sweep varies.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Axis {
    pub label: &'static str,
    pub unit: &'static str,
    /// Points spread over decades: drawn on a log scale.
    pub log: bool,
}

/// One quantity (throughput, round trip…) of several series (TCP, Unix…) over a sweep.
#[derive(Debug, Serialize)]
pub struct Figure {
    pub name: &'static str,
    pub unit: &'static str,
    pub x: Axis,
    pub points: Vec<Point>,
    pub ratio: Option<Ratio>,
    /// The claim's verdict over the points it is judged at; None without a claim.
    pub verdict: Option<Verdict>,
}

/// The ratio of two series of a figure, and the claim about it.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub numerator: &'static str,
    pub denominator: &'static str,
    pub claim: Option<Claim>,
    /// The claim as a bound on this ratio, in words: "Unix ≥ 2× TCP".
    pub says: &'static str,
    /// Only the largest x is judged (a claim about growth: "at 10,000 fds"); else every point.
    pub judged_at_largest_only: bool,
    /// Say the ratio as "14% lower/higher" rather than "0.86×".
    pub as_percent: bool,
}

#[derive(Debug, Serialize)]
pub struct Point {
    pub x: f64,
    pub series: Vec<Series>,
    pub ratio: Option<RatioAt>,
}

#[derive(Debug, Serialize)]
pub struct Series {
    pub name: &'static str,
    /// One per run, in run order.
    pub samples: Vec<f64>,
    #[serde(flatten)]
    pub spread: Spread,
    /// Over every round trip of every run, where the figure is a latency.
    pub latency: Option<Percentiles>,
}

impl Series {
    pub fn new(name: &'static str, samples: Vec<f64>, latency: Option<&Latencies>) -> Series {
        Series { name, spread: Spread::of(&samples), samples, latency: latency.map(Latencies::percentiles) }
    }

    /// A latency series: each run's median round trip (µs) as its sample, and the
    /// distribution over every round trip of every run.
    pub fn of_latencies(name: &'static str, runs: &[Latencies]) -> Series {
        let mut all = Latencies::new();
        for l in runs {
            all.add(l);
        }
        Series::new(name, runs.iter().map(|l| l.median().as_secs_f64() * 1e6).collect(), Some(&all))
    }
}

#[derive(Debug, Serialize)]
pub struct RatioAt {
    pub samples: Vec<f64>,
    #[serde(flatten)]
    pub spread: Spread,
    pub verdict: Option<Verdict>,
}

impl Figure {
    pub fn new(name: &'static str, unit: &'static str, x: Axis) -> Figure {
        Figure { name, unit, x, points: Vec::new(), ratio: None, verdict: None }
    }

    pub fn with_ratio(mut self, ratio: Ratio) -> Figure {
        self.ratio = Some(ratio);
        self
    }

    /// Adds a point, its ratio taken run by run and judged against the claim.
    pub fn push(&mut self, x: f64, series: Vec<Series>) {
        let ratio = self.ratio.as_ref().and_then(|r| {
            let num = series.iter().find(|s| s.name == r.numerator)?;
            let den = series.iter().find(|s| s.name == r.denominator)?;
            let samples = super::stats::paired_ratios(&num.samples, &den.samples);
            let spread = Spread::of(&samples);
            Some(RatioAt { samples, spread, verdict: r.claim.map(|c| Verdict::of(c, spread)) })
        });
        self.points.push(Point { x, series, ratio });
    }

    /// The verdict over the judged points: one verdict when they agree, else inconclusive.
    pub fn judge(mut self) -> Figure {
        // A claim judged at the largest x says nothing of the other points.
        if self.ratio.as_ref().is_some_and(|r| r.judged_at_largest_only) {
            let largest = self.points.iter().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max);
            for p in self.points.iter_mut().filter(|p| p.x != largest) {
                if let Some(r) = &mut p.ratio {
                    r.verdict = None;
                }
            }
        }
        let judged: Vec<Verdict> = self.judged_points().filter_map(|p| p.ratio.as_ref()?.verdict).collect();
        self.verdict = match judged.first() {
            Some(first) if judged.iter().all(|v| v == first) => Some(*first),
            Some(_) => Some(Verdict::Inconclusive),
            None => None,
        };
        self
    }

    fn judged_points(&self) -> impl Iterator<Item = &Point> {
        let largest = self.points.iter().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max);
        let only_largest = self.ratio.as_ref().is_some_and(|r| r.judged_at_largest_only);
        self.points.iter().filter(move |p| !only_largest || p.x == largest)
    }

    /// The figure as text: a table of medians [min–max], the ratio and the verdict per
    /// point, latency percentiles where measured, and the claim's verdict in words.
    pub fn lines(&self, runs: usize) -> Vec<String> {
        let mut out = vec![format!("{} ({}), median [min–max] of {runs} runs:", self.name, self.unit)];
        let names: Vec<&str> =
            self.points.first().map(|p| p.series.iter().map(|s| s.name).collect()).unwrap_or_default();
        let mut rows = vec![{
            let mut h = vec![self.x.label.to_string()];
            h.extend(names.iter().map(|n| n.to_string()));
            if let Some(r) = &self.ratio {
                h.push(format!("{} / {}", r.numerator, r.denominator));
                if r.claim.is_some() {
                    h.push("verdict".into());
                }
            }
            h
        }];
        for p in &self.points {
            let mut row = vec![x_text(p.x, self.x.unit)];
            for name in &names {
                row.push(p.series.iter().find(|s| s.name == *name).map_or("-".into(), |s| spread_text(s.spread)));
            }
            if let (Some(r), Some(at)) = (&self.ratio, &p.ratio) {
                row.push(ratio_text(at.spread, r.as_percent));
                if let Some(v) = at.verdict {
                    row.push(v.words().into());
                }
            }
            rows.push(row);
        }
        out.extend(table(&rows));
        let with_latency: Vec<&Point> =
            self.points.iter().filter(|p| p.series.iter().any(|s| s.latency.is_some())).collect();
        if !with_latency.is_empty() {
            out.push(format!("{} distribution over every round trip of every run (µs):", self.name));
            let mut rows =
                vec![[self.x.label, "series", "count", "p50", "p90", "p99", "p99.9", "max"].map(String::from).to_vec()];
            for p in with_latency {
                for s in &p.series {
                    let Some(l) = s.latency else { continue };
                    rows.push(vec![
                        x_text(p.x, self.x.unit),
                        s.name.into(),
                        l.count.to_string(),
                        figure(l.p50_us),
                        figure(l.p90_us),
                        figure(l.p99_us),
                        figure(l.p999_us),
                        figure(l.max_us),
                    ]);
                }
            }
            out.extend(table(&rows));
        }
        if let (Some(r), Some(v)) = (&self.ratio, self.verdict) {
            out.push(format!("claim: {} — {}", r.says, self.verdict_text(r, v)));
        }
        out
    }

    /// The verdict with the measured ranges: "confirmed at 64 B (3.46×–5.52×)", or, when the
    /// points disagree, which points say what: "depends on message size: confirmed at 64 B
    /// (…); not confirmed at 1 MiB (…)".
    fn verdict_text(&self, r: &Ratio, overall: Verdict) -> String {
        let judged: Vec<(&Point, &RatioAt)> =
            self.judged_points().filter_map(|p| Some((p, p.ratio.as_ref()?))).collect();
        let at = |p: &Point, ratio: &RatioAt| {
            let range = if r.as_percent {
                format!("{} to {}", higher_or_lower(ratio.spread.min), higher_or_lower(ratio.spread.max))
            } else {
                format!("{}–{}", times(ratio.spread.min), times(ratio.spread.max))
            };
            format!("{} ({range})", x_text(p.x, self.x.unit))
        };
        let by = |v: Verdict| -> Vec<String> {
            judged.iter().filter(|(_, ratio)| ratio.verdict == Some(v)).map(|(p, ratio)| at(p, ratio)).collect()
        };
        if judged.iter().all(|(_, ratio)| ratio.verdict == Some(overall)) {
            return format!("{} at {}", overall.words(), by(overall).join(", "));
        }
        let parts: Vec<String> = [Verdict::Confirmed, Verdict::Inconclusive, Verdict::NotConfirmed]
            .into_iter()
            .filter_map(|v| {
                let here = by(v);
                (!here.is_empty()).then(|| format!("{} at {}", v.words(), here.join(", ")))
            })
            .collect();
        format!("depends on {}: {}", self.x.label, parts.join("; "))
    }
}

impl Report {
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.figures {
            out.extend(f.lines(self.runs));
        }
        out.push(format!("chapter: {}", self.claim));
        out.extend(self.conditions.lines());
        out
    }
}

/// Runs `measure(series)` for every series once as a warm-up (thrown away), then `runs`
/// rounds of every series, the order alternating round by round (A B, then B A) so that
/// drift and warm caches favour neither. Returns the samples by series, in run order.
pub fn rounds<T>(
    runs: usize,
    series: usize,
    mut measure: impl FnMut(usize) -> Result<T, LabError>,
) -> Result<Vec<Vec<T>>, LabError> {
    for s in 0..series {
        measure(s)?;
    }
    let mut out: Vec<Vec<T>> = (0..series).map(|_| Vec::with_capacity(runs)).collect();
    for run in 0..runs {
        for i in 0..series {
            let s = if run % 2 == 0 { i } else { series - 1 - i };
            out[s].push(measure(s)?);
        }
    }
    Ok(out)
}

/// Checks a `--runs` value.
pub fn check_runs(runs: usize) -> Result<(), LabError> {
    if (1..=1000).contains(&runs) { Ok(()) } else { Err(LabError::Limit("--runs must be 1..=1000".into())) }
}

/// An x value as a reader wants it: sizes in B/KiB/MiB, counts with thousands separators.
pub fn x_text(x: f64, unit: &str) -> String {
    if unit == "bytes" {
        let b = x as u64;
        return match b {
            _ if b >= 1 << 20 && b.is_multiple_of(1 << 20) => format!("{} MiB", b >> 20),
            _ if b >= 1 << 10 && b.is_multiple_of(1 << 10) => format!("{} KiB", b >> 10),
            _ => format!("{b} B"),
        };
    }
    let s = format!("{}", x.round() as u64);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn spread_text(s: Spread) -> String {
    format!("{} [{}–{}]", figure(s.median), figure(s.min), figure(s.max))
}

fn ratio_text(s: Spread, as_percent: bool) -> String {
    if as_percent {
        format!("{} [{} … {}]", higher_or_lower(s.median), higher_or_lower(s.min), higher_or_lower(s.max))
    } else {
        format!("{} [{}–{}]", times(s.median), times(s.min), times(s.max))
    }
}

/// Left-aligned columns two spaces apart, with no trailing spaces.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|r| {
            let mut line = String::from("  ");
            for (c, cell) in r.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < r.len() {
                    line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::Bound;

    fn figure(claim: f64, judged_at_largest_only: bool) -> Figure {
        let ratio = Ratio {
            numerator: "Unix",
            denominator: "TCP",
            claim: Some(Claim { bound: Bound::AtLeast, value: claim }),
            says: "Unix ≥ 2× TCP",
            judged_at_largest_only,
            as_percent: false,
        };
        let mut f = Figure::new("throughput", "MiB/s", Axis { label: "message size", unit: "bytes", log: true })
            .with_ratio(ratio);
        f.push(
            64.0,
            vec![Series::new("TCP", vec![10.0, 20.0, 10.0], None), Series::new("Unix", vec![30.0, 40.0, 25.0], None)],
        );
        f.push(
            1048576.0,
            vec![Series::new("TCP", vec![10.0, 10.0, 10.0], None), Series::new("Unix", vec![18.0, 25.0, 22.0], None)],
        );
        f.judge()
    }

    #[test]
    fn ratios_are_paired_and_judged_per_point_and_overall() {
        let f = figure(2.0, false);
        let first = f.points[0].ratio.as_ref().unwrap();
        assert_eq!(first.samples, vec![3.0, 2.0, 2.5]);
        assert_eq!(first.verdict, Some(Verdict::Confirmed));
        let last = f.points[1].ratio.as_ref().unwrap();
        assert_eq!((last.spread.min, last.spread.max), (1.8, 2.5));
        assert_eq!(last.verdict, Some(Verdict::Inconclusive));
        // The points disagree: overall inconclusive, and the text says where.
        assert_eq!(f.verdict, Some(Verdict::Inconclusive));
        let text = f.lines(3).join("\n");
        assert!(
            text.contains("claim: Unix ≥ 2× TCP — depends on message size: confirmed at 64 B (2.00×–3.00×); inconclusive on this machine at 1 MiB (1.80×–2.50×)"),
            "{text}"
        );
        let agreeing = figure(1.5, false).lines(3).join("\n");
        assert!(agreeing.contains("— confirmed at 64 B (2.00×–3.00×), 1 MiB (1.80×–2.50×)"), "{agreeing}");
        assert!(
            text.contains("  64 B          10.0 [10.0–20.0]  30.0 [25.0–40.0]  2.50× [2.00×–3.00×]  confirmed"),
            "{text}"
        );
        // Judged at the largest point only: that point decides, and the others have no verdict.
        assert_eq!(figure(1.5, true).verdict, Some(Verdict::Confirmed));
        assert_eq!(figure(1.5, true).points[0].ratio.as_ref().unwrap().verdict, None);
        assert_eq!(figure(3.0, true).verdict, Some(Verdict::NotConfirmed));
    }

    #[test]
    fn rounds_warm_up_then_alternate_the_order() {
        let mut calls = Vec::new();
        let out = rounds(3, 2, |s| {
            calls.push(s);
            Ok(calls.len())
        })
        .unwrap();
        assert_eq!(calls, vec![0, 1, 0, 1, 1, 0, 0, 1]);
        assert_eq!(out, vec![vec![3, 6, 7], vec![4, 5, 8]]);
        assert!(check_runs(0).is_err() && check_runs(5).is_ok());
    }

    #[test]
    fn x_values_read_as_sizes_and_counts() {
        assert_eq!(x_text(64.0, "bytes"), "64 B");
        assert_eq!(x_text(65536.0, "bytes"), "64 KiB");
        assert_eq!(x_text(1048576.0, "bytes"), "1 MiB");
        assert_eq!(x_text(10000.0, "fds"), "10,000");
        assert_eq!(x_text(100.0, "fds"), "100");
    }
}
