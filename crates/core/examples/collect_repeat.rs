//! Times one `Collector` collecting again and again, as `watch` and `serve` will: the first
//! collection against the median of the next ones, for the `-tanp` selection (TCP, owners).
//! Run by bench/inside.sh; prints one JSON line.
//!
//!   cargo run --release -p sockscope-core --example collect_repeat -- [REPEATS]

use sockscope_core::model::StateSet;
use sockscope_core::{Collector, Netid, Selection, SnapshotOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repeats: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().map_err(|e| format!("REPEATS must be a number: {e}"))?,
        None => 10,
    };
    let mut opts = SnapshotOptions::new(Selection::resolve(&[Netid::Tcp], &[], StateSet::ALL));
    opts.owners = true;
    let mut collector = Collector::new(opts);
    let started = Instant::now();
    let first = collector.collect()?;
    let first_s = started.elapsed().as_secs_f64();
    let sockets = first.sockets.len();
    drop(first);
    let mut again = Vec::with_capacity(repeats);
    let mut reused = 0;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let snap = collector.collect()?;
        again.push(started.elapsed().as_secs_f64());
        reused = collector.last_reuse().reused;
        drop(snap);
    }
    again.sort_by(f64::total_cmp);
    let median = again[again.len() / 2];
    let once = Instant::now();
    drop(Collector::once(collector.options().clone()).take()?);
    let once_s = once.elapsed().as_secs_f64();
    let out = std::io::stdout();
    let mut out = out.lock();
    use std::io::Write;
    writeln!(
        out,
        "{{\"sockets\": {sockets}, \"first_s\": {first_s:.6}, \"again_median_s\": {median:.6}, \"once_s\": {once_s:.6}, \"processes_reused\": {reused}, \"repeats\": {}}}",
        again.len()
    )?;
    Ok(())
}
