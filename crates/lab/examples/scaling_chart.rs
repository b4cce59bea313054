//! Draws bench/scaling.svg from the benchmarks' raw data (bench/raw/run from bench/run.sh,
//! 25k–200k sockets; bench/raw/million from bench/million.sh, 250k–1M): the time to list
//! every TCP socket with its process, against the number of sockets, for sockscope, ss,
//! netstat and lsof (the runs' median and min–max), log–log. A peer stopped at million.sh's
//! cap has no time there, and no point.
//!
//!   cargo run --release -p sockscope-lab --example scaling_chart -- RAW_DIR... OUT.svg

use sockscope_lab::bench::plot::{Line, Panel, write_svg};
use sockscope_lab::bench::stats::Spread;
use std::path::Path;

/// The commands charted, as bench/inside.sh runs them (sockscope by its path), and their names.
const COMMANDS: [(&str, &str); 4] = [
    ("sockscope -tanp", "sockscope -tanp"),
    ("ss -tanp", "ss -tanp"),
    ("netstat -tanp", "netstat -tanp"),
    ("lsof -nP -iTCP", "lsof -nP -iTCP"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some((out, raws)) = args.get(1..).and_then(<[String]>::split_last).filter(|(_, r)| !r.is_empty()) else {
        return Err("usage: scaling_chart RAW_DIR... OUT.svg".into());
    };
    let mut lines: Vec<Line> =
        COMMANDS.iter().map(|(_, name)| Line { name: name.to_string(), points: Vec::new() }).collect();
    for entry in raws.iter().map(std::fs::read_dir).collect::<Result<Vec<_>, _>>()?.into_iter().flatten() {
        let path = entry?.path();
        let Some(size) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("times.")?.strip_suffix(".json")?.parse::<f64>().ok())
        else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        for result in doc["results"].as_array().into_iter().flatten() {
            let command = result["command"].as_str().unwrap_or("");
            // bench/inside.sh runs sockscope by its full path.
            let command = match command.split_once("sockscope ") {
                Some((path, rest)) if !path.contains(' ') => format!("sockscope {rest}"),
                _ => command.to_string(),
            };
            let Some(i) = COMMANDS.iter().position(|(c, _)| *c == command) else { continue };
            let times: Vec<f64> = result["times"].as_array().into_iter().flatten().filter_map(|t| t.as_f64()).collect();
            lines[i].points.push((size, Spread::of(&times)));
        }
    }
    for l in &mut lines {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    lines.retain(|l| !l.points.is_empty());
    if lines.is_empty() {
        return Err(format!("no times.SIZE.json with the charted commands in {}", raws.join(", ")).into());
    }
    let panel = Panel {
        title: "Listing every TCP socket with its process: time against socket count".into(),
        x_label: "sockets (lab farm)".into(),
        y_label: "seconds (median, min–max of the runs)".into(),
        x_unit: "sockets".into(),
        x_log: true,
        y_log: true,
        lines,
        reference: None,
        legend_upper_left: true,
    };
    // A chart for the repository: readable by all.
    write_svg(Path::new(out), &[panel], 0o644)?;
    Ok(())
}
