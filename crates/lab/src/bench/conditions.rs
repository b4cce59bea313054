//! The conditions a measurement depends on, printed with it: cores, CPU model, kernel,
//! whether client and server were pinned, and how busy the machine was at the start (a busy
//! machine is warned about: its numbers measure the other load too). And the pinning itself.

use crate::LabError;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct Conditions {
    pub cores: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// `--cpus`: the CPU the client side ran on and the one the server side ran on.
    pub pinned: Option<Pinning>,
    /// The 1-minute load average at the start.
    pub load_1m: f64,
    /// The share of all cores busy during a quarter second before the first run (0..1).
    pub busy_at_start: f64,
    pub warning: Option<String>,
}

/// Busier than this at the start, and the numbers are warned about.
const BUSY: f64 = 0.25;

impl Conditions {
    /// Reads the machine's conditions; takes a quarter of a second to measure how busy it is.
    pub fn now(pinned: Option<Pinning>) -> Conditions {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| Some(l.strip_prefix("model name")?.split_once(':')?.1.trim().to_string()))
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = rustix::system::uname().release().to_string_lossy().into_owned();
        let load_1m = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let busy_at_start = busy_share(Duration::from_millis(250)).unwrap_or(0.0);
        let warning = (busy_at_start > BUSY).then(|| {
            format!(
                "the machine was busy at the start ({:.0}% of {cores} cores, load {load_1m:.2}): these numbers measure that load too",
                busy_at_start * 100.0
            )
        });
        Conditions { cores, cpu_model, kernel, pinned, load_1m, busy_at_start, warning }
    }

    pub fn lines(&self) -> Vec<String> {
        let pinned = match self.pinned {
            Some(p) => format!("client pinned to CPU {}, server to CPU {}", p.client, p.server),
            None => "not pinned (--cpus C,S pins client and server)".into(),
        };
        let mut out = vec![format!(
            "conditions: {} cores ({}), Linux {}, {pinned}, {:.0}% busy at start (load {:.2})",
            self.cores,
            self.cpu_model,
            self.kernel,
            self.busy_at_start * 100.0,
            self.load_1m
        )];
        if let Some(w) = &self.warning {
            out.push(format!("warning: {w}"));
        }
        out
    }
}

/// The share of all CPU time that was not idle over `d`, from /proc/stat's first line.
fn busy_share(d: Duration) -> Option<f64> {
    let sample = || -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
        let total: u64 = fields.iter().sum();
        // idle + iowait
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        Some((total, idle))
    };
    let (t0, i0) = sample()?;
    std::thread::sleep(d);
    let (t1, i1) = sample()?;
    let total = t1.saturating_sub(t0);
    (total > 0).then(|| 1.0 - i1.saturating_sub(i0) as f64 / total as f64)
}

/// `--cpus C,S`: the client side of a benchmark runs on CPU C, the server side on CPU S.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pinning {
    pub client: usize,
    pub server: usize,
}

impl Pinning {
    /// From `--cpus`: one CPU (both sides on it) or two. Each must be one this process may
    /// run on.
    pub fn new(cpus: &[usize]) -> Result<Pinning, LabError> {
        let (client, server) = match cpus {
            [one] => (*one, *one),
            [c, s] => (*c, *s),
            _ => return Err(LabError::Limit("--cpus takes one CPU or two (client,server)".into())),
        };
        let allowed = rustix::thread::sched_getaffinity(None)
            .map_err(|e| LabError::Io { what: "sched_getaffinity".into(), error: e.into() })?;
        for cpu in [client, server] {
            if cpu >= rustix::thread::CpuSet::MAX_CPU || !allowed.is_set(cpu) {
                return Err(LabError::Limit(format!("--cpus: CPU {cpu} is not one this process may run on")));
            }
        }
        Ok(Pinning { client, server })
    }

    /// Pins the calling thread to the client's CPU.
    pub fn client(&self) -> Result<(), LabError> {
        pin(self.client)
    }

    /// Pins the calling thread to the server's CPU.
    pub fn server(&self) -> Result<(), LabError> {
        pin(self.server)
    }
}

fn pin(cpu: usize) -> Result<(), LabError> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set)
        .map_err(|e| LabError::Io { what: format!("pin to CPU {cpu}"), error: e.into() })
}

/// Pins the calling thread to the client's or the server's CPU, when pinning was asked for.
/// The CPUs were checked when `--cpus` was read; a thread that still cannot be pinned runs
/// where the scheduler puts it.
pub fn pin_side(p: Option<Pinning>, client: bool) {
    if let Some(p) = p {
        let _ = if client { p.client() } else { p.server() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_read_and_said() {
        let c = Conditions::now(None);
        assert!(c.cores >= 1 && !c.kernel.is_empty());
        assert!((0.0..=1.0).contains(&c.busy_at_start));
        assert!(c.lines()[0].contains("not pinned"));
    }

    #[test]
    fn pinning_checks_the_cpus() {
        assert!(Pinning::new(&[0]).is_ok());
        assert!(Pinning::new(&[]).is_err());
        assert!(Pinning::new(&[0, 1, 2]).is_err());
        let err = Pinning::new(&[100_000]).unwrap_err().to_string();
        assert!(err.contains("CPU 100000"), "{err}");
    }
}
