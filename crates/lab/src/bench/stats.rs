//! The statistics every benchmark reports: the spread of repeated runs (median, min, max),
//! ratios taken run by run, latency distributions, and the verdict on a claim from the spread.

use serde::Serialize;
use std::time::Duration;

/// Median, minimum and maximum of some samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `samples` (NaNs are left out); all zeros when there are none. The median
    /// of an even count is the mean of the middle two.
    pub fn of(samples: &[f64]) -> Spread {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Spread { median: 0.0, min: 0.0, max: 0.0 };
        }
        v.sort_unstable_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Spread { median, min: v[0], max: v[n - 1] }
    }
}

/// `a[i] / b[i]` for each run measured in both: the runs of a pair ran back to back, so the
/// ratio of a pair cancels the drift between runs that a ratio of medians would keep.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| if *y == 0.0 { f64::NAN } else { x / y }).collect()
}

/// A latency distribution in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// Every round trip of a series, in an HDR histogram of nanoseconds: 3 significant digits
/// (0.1% resolution) from 1 ns to an hour, in a few tens of KiB whatever the count.
pub struct Latencies(hdrhistogram::Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Latencies {
        // 1 ns to 1 hour at 3 significant digits is a valid configuration, so this cannot fail.
        #[allow(clippy::expect_used)]
        let h = hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds");
        Latencies(h)
    }

    pub fn record(&mut self, d: Duration) {
        self.0.saturating_record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1));
    }

    pub fn add(&mut self, other: &Latencies) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn median(&self) -> Duration {
        Duration::from_nanos(self.0.value_at_quantile(0.5))
    }

    pub fn percentiles(&self) -> Percentiles {
        let us = |q: f64| self.0.value_at_quantile(q) as f64 / 1000.0;
        Percentiles {
            count: self.0.len(),
            p50_us: us(0.5),
            p90_us: us(0.9),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: self.0.max() as f64 / 1000.0,
        }
    }
}

/// Which side of its bound a claim puts a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    AtLeast,
    AtMost,
}

/// A claim of the chapter as a bound on a ratio: "Unix/TCP throughput at least 2".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Claim {
    pub bound: Bound,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Confirmed,
    NotConfirmed,
    Inconclusive,
}

impl Verdict {
    /// Confirmed when every run's ratio is on the claim's side of the bound, not confirmed
    /// when every run's is on the other side, and inconclusive when the runs straddle it.
    pub fn of(claim: Claim, ratios: Spread) -> Verdict {
        let (holds_all, fails_all) = match claim.bound {
            Bound::AtLeast => (ratios.min >= claim.value, ratios.max < claim.value),
            Bound::AtMost => (ratios.max <= claim.value, ratios.min > claim.value),
        };
        match (holds_all, fails_all) {
            (true, _) => Verdict::Confirmed,
            (_, true) => Verdict::NotConfirmed,
            _ => Verdict::Inconclusive,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::NotConfirmed => "not confirmed",
            Verdict::Inconclusive => "inconclusive on this machine",
        }
    }
}

/// A ratio in words, the way a reader says it: "2.31×" when it is a multiple, and for a
/// comparison of costs "14% lower" or "14% higher" — never a negative "lower".
pub fn times(ratio: f64) -> String {
    format!("{}×", figure(ratio))
}

/// A measured figure as the tables print it: whole above 100, one decimal above 10, two
/// below, and two significant digits however small (0.0011).
pub fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 0.1 || v <= 0.0 {
        format!("{v:.2}")
    } else {
        let places = (1.0 - v.log10().floor()) as usize;
        format!("{v:.places$}")
    }
}

pub fn higher_or_lower(ratio: f64) -> String {
    let pct = (ratio - 1.0) * 100.0;
    if pct.abs() < 0.5 {
        "the same".to_string()
    } else if pct < 0.0 {
        format!("{:.0}% lower", -pct)
    } else {
        format!("{pct:.0}% higher")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_of_odd_even_and_empty_samples() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]), Spread { median: 2.0, min: 1.0, max: 3.0 });
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]), Spread { median: 2.5, min: 1.0, max: 4.0 });
        assert_eq!(Spread::of(&[5.0]), Spread { median: 5.0, min: 5.0, max: 5.0 });
        assert_eq!(Spread::of(&[]), Spread { median: 0.0, min: 0.0, max: 0.0 });
        assert_eq!(Spread::of(&[f64::NAN, 2.0]), Spread { median: 2.0, min: 2.0, max: 2.0 });
    }

    #[test]
    fn ratios_pair_run_by_run() {
        // Drift: both doubled in the second run. Pairwise, the ratio is 2 both times; the
        // ratio of medians (3 / 1.5) would be too, but the spread would not be honest if the
        // pairs were mixed (6 / 1 = 6, 2 / 2 = 1).
        let r = paired_ratios(&[2.0, 4.0], &[1.0, 2.0]);
        assert_eq!(r, vec![2.0, 2.0]);
        assert!(paired_ratios(&[1.0], &[0.0])[0].is_nan());
        assert_eq!(paired_ratios(&[1.0, 2.0, 3.0], &[1.0]).len(), 1);
    }

    #[test]
    fn percentiles_come_in_order_from_the_histogram() {
        let mut l = Latencies::new();
        for us in 1..=1000u64 {
            l.record(Duration::from_micros(us));
        }
        let p = l.percentiles();
        assert_eq!(p.count, 1000);
        let near = |a: f64, b: f64| (a - b).abs() <= b * 0.002;
        assert!(near(p.p50_us, 500.0) && near(p.p90_us, 900.0) && near(p.p99_us, 990.0), "{p:?}");
        assert!(near(p.p999_us, 999.0) && near(p.max_us, 1000.0), "{p:?}");
        assert!(p.p50_us <= p.p90_us && p.p90_us <= p.p99_us && p.p99_us <= p.p999_us && p.p999_us <= p.max_us);
        let mut sum = Latencies::new();
        sum.add(&l);
        sum.add(&l);
        assert_eq!(sum.percentiles().count, 2000);
        assert!(near(sum.median().as_secs_f64() * 1e6, 500.0));
    }

    #[test]
    fn verdicts_from_the_spread_and_the_straddling_case() {
        let at_least_2 = Claim { bound: Bound::AtLeast, value: 2.0 };
        let s = |min, max| Spread { median: (min + max) / 2.0, min, max };
        assert_eq!(Verdict::of(at_least_2, s(2.1, 2.9)), Verdict::Confirmed);
        assert_eq!(Verdict::of(at_least_2, s(2.0, 2.0)), Verdict::Confirmed);
        assert_eq!(Verdict::of(at_least_2, s(1.2, 1.9)), Verdict::NotConfirmed);
        // The four runs of the issue: 1.79× … 2.85× straddle 2.
        assert_eq!(Verdict::of(at_least_2, s(1.79, 2.85)), Verdict::Inconclusive);
        let at_most = Claim { bound: Bound::AtMost, value: 0.7 };
        assert_eq!(Verdict::of(at_most, s(0.5, 0.69)), Verdict::Confirmed);
        assert_eq!(Verdict::of(at_most, s(0.8, 0.95)), Verdict::NotConfirmed);
        assert_eq!(Verdict::of(at_most, s(0.6, 0.8)), Verdict::Inconclusive);
    }

    #[test]
    fn ratios_in_words_never_say_negative_lower() {
        assert_eq!(higher_or_lower(1.14), "14% higher");
        assert_eq!(higher_or_lower(0.86), "14% lower");
        assert_eq!(higher_or_lower(1.001), "the same");
        assert_eq!(times(2.3456), "2.35×");
        assert_eq!(times(28.0), "28.0×");
        assert_eq!(times(2800.0), "2800×");
        assert_eq!(times(0.0011), "0.0011×");
        assert_eq!(times(0.25), "0.25×");
    }
}
