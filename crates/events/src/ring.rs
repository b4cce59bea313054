//! Tracepoint records from perf_event_open: one event per online CPU per tracepoint, each
//! with its memory-mapped ring buffer (perf-event2 owns the mapping and the ring protocol),
//! drained every few milliseconds. (perf-event2 gives a ring's fd only as a raw number, and
//! polling it would take unsafe code to borrow it; a ring of megabytes drained every 20 ms
//! holds ten times the records of the heaviest loads measured.)

use perf_event::events::Tracepoint;
use perf_event::{Builder, Clock, SampleFlag, Sampler};

#[derive(Debug, thiserror::Error)]
pub enum RingError {
    #[error(
        "the kernel refused to open the tracepoint ({0}): reading tracepoints needs root or CAP_PERFMON with kernel.perf_event_paranoid <= 1"
    )]
    NotAllowed(std::io::Error),
    #[error("cannot open the tracepoint on CPU {cpu}: {error}")]
    Open { cpu: usize, error: std::io::Error },
    #[error("cannot read the online CPUs from /sys/devices/system/cpu/online: {0}")]
    Cpus(String),
}

/// One tracepoint's record, as it comes out of a ring.
pub struct Sample<'a> {
    /// Which of the tracepoints given to `Rings::open`.
    pub event: usize,
    /// CLOCK_MONOTONIC, in nanoseconds.
    pub time_ns: u64,
    /// The task the kernel was running for when the tracepoint fired (in softirq context,
    /// whatever task happened to be on the CPU).
    pub pid: u32,
    pub tid: u32,
    pub raw: &'a [u8],
}

/// What a ring holds: tracepoint records, and (in the first tracepoint's rings) the kernel's
/// notes of a process's new command name (exec), so that a process that connects and exits
/// at once is still named.
pub enum Item<'a> {
    Sample(Sample<'a>),
    Comm { pid: u32, comm: &'a [u8] },
}

pub struct Rings {
    samplers: Vec<(usize, Sampler)>,
    /// Records the kernel dropped because a ring was full, per tracepoint.
    pub lost: Vec<u64>,
    /// Records that could not be read (shorter than their layout).
    pub unreadable: u64,
}

impl Rings {
    /// Opens every tracepoint (id, bytes of ring per CPU) on every online CPU and enables them.
    pub fn open(events: &[(u64, usize)]) -> Result<Rings, RingError> {
        let cpus = online_cpus()?;
        let mut samplers = Vec::with_capacity(cpus.len() * events.len());
        for (i, &(id, bytes)) in events.iter().enumerate() {
            for &cpu in &cpus {
                let mut b = Builder::new(Tracepoint::with_id(id));
                b.one_cpu(cpu)
                    .any_pid()
                    .include_kernel()
                    .sample_period(1)
                    .sample(SampleFlag::RAW | SampleFlag::TID | SampleFlag::TIME)
                    .clockid(Clock::MONOTONIC)
                    // The reader drains on its own clock; no wakeups needed.
                    .wakeup_watermark(bytes)
                    .comm(i == 0)
                    .comm_exec(i == 0);
                let counter = b.build().map_err(|error| match error.raw_os_error() {
                    Some(1 | 13) => RingError::NotAllowed(error),
                    _ => RingError::Open { cpu, error },
                })?;
                let mut sampler = counter.sampled(bytes).map_err(|error| RingError::Open { cpu, error })?;
                sampler.enable().map_err(|error| RingError::Open { cpu, error })?;
                samplers.push((i, sampler));
            }
        }
        Ok(Rings { samplers, lost: vec![0; events.len()], unreadable: 0 })
    }

    /// Hands the records in every ring to `f`, at most `max` from each ring, counting the
    /// ones the kernel reports lost and the ones that cannot be read. Returns, when a ring
    /// was left with records in it, the time of the last record taken from such a ring: the
    /// records before it are all taken, later ones may not be.
    pub fn drain(&mut self, max: usize, mut f: impl FnMut(Item<'_>)) -> Option<u64> {
        let mut cut: Option<u64> = None;
        for (event, sampler) in &mut self.samplers {
            let mut last = None;
            let mut taken = 0;
            while taken < max
                && let Some(record) = sampler.next_record()
            {
                taken += 1;
                // A record may wrap around the ring's end: copied then, borrowed otherwise.
                let bytes = record.to_contiguous();
                match parse(record.ty(), *event, &bytes) {
                    Some(Parsed::Item(item)) => {
                        if let Item::Sample(s) = &item {
                            last = Some(s.time_ns);
                        }
                        f(item)
                    }
                    Some(Parsed::Lost(n)) => self.lost[*event] += n,
                    Some(Parsed::Other) => {}
                    None => self.unreadable += 1,
                }
            }
            if taken == max {
                let t = last.unwrap_or(0);
                cut = Some(cut.map_or(t, |c| c.min(t)));
            }
        }
        cut
    }
}

const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_COMM: u32 = 3;
const PERF_RECORD_SAMPLE: u32 = 9;

enum Parsed<'a> {
    Item(Item<'a>),
    Lost(u64),
    Other,
}

/// A record's body (after its header), as the sample type asked for lays it out:
/// PERF_SAMPLE_TID (u32 pid, u32 tid), TIME (u64), RAW (u32 size, then the tracepoint's
/// record). Read by hand: three fixed fields.
fn parse(ty: u32, event: usize, b: &[u8]) -> Option<Parsed<'_>> {
    let u32_at = |o: usize| b.get(o..o + 4).and_then(|s| s.try_into().ok()).map(u32::from_ne_bytes);
    let u64_at = |o: usize| b.get(o..o + 8).and_then(|s| s.try_into().ok()).map(u64::from_ne_bytes);
    Some(match ty {
        PERF_RECORD_SAMPLE => {
            let (pid, tid, time_ns) = (u32_at(0)?, u32_at(4)?, u64_at(8)?);
            let size = usize::try_from(u32_at(16)?).ok()?;
            let raw = b.get(20..20usize.checked_add(size)?)?;
            Parsed::Item(Item::Sample(Sample { event, time_ns, pid, tid, raw }))
        }
        PERF_RECORD_LOST => Parsed::Lost(u64_at(8)?),
        PERF_RECORD_COMM => {
            let (pid, tid) = (u32_at(0)?, u32_at(4)?);
            let comm = b.get(8..)?;
            let comm = &comm[..comm.iter().position(|c| *c == 0).unwrap_or(comm.len())];
            if pid != tid {
                return Some(Parsed::Other);
            }
            Parsed::Item(Item::Comm { pid, comm })
        }
        _ => Parsed::Other,
    })
}

/// /sys/devices/system/cpu/online: "0-3,5,7-8".
fn online_cpus() -> Result<Vec<usize>, RingError> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").map_err(|e| RingError::Cpus(e.to_string()))?;
    parse_cpu_list(text.trim()).ok_or_else(|| RingError::Cpus(format!("unreadable list '{}'", text.trim())))
}

pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 65536 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample as the kernel lays it out for TID | TIME | RAW.
    fn sample(raw: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&42u32.to_ne_bytes());
        b.extend_from_slice(&43u32.to_ne_bytes());
        b.extend_from_slice(&1_000_000_007u64.to_ne_bytes());
        b.extend_from_slice(&(raw.len() as u32).to_ne_bytes());
        b.extend_from_slice(raw);
        b
    }

    #[test]
    fn reads_samples_lost_and_comm_records() {
        let b = sample(&[1, 2, 3, 4]);
        let Some(Parsed::Item(Item::Sample(s))) = parse(PERF_RECORD_SAMPLE, 1, &b) else { panic!("not a sample") };
        assert_eq!((s.event, s.pid, s.tid, s.time_ns, s.raw), (1, 42, 43, 1_000_000_007, &[1u8, 2, 3, 4][..]));
        // A raw size past the record's end is unreadable, not a panic.
        assert!(parse(PERF_RECORD_SAMPLE, 0, &b[..b.len() - 1]).is_none());
        let mut lost = 7u64.to_ne_bytes().to_vec();
        lost.extend_from_slice(&12u64.to_ne_bytes());
        assert!(matches!(parse(PERF_RECORD_LOST, 0, &lost), Some(Parsed::Lost(12))));
        let mut comm = 5u32.to_ne_bytes().to_vec();
        comm.extend_from_slice(&5u32.to_ne_bytes());
        comm.extend_from_slice(b"curl\0\0\0\0");
        let Some(Parsed::Item(Item::Comm { pid, comm })) = parse(PERF_RECORD_COMM, 0, &comm) else {
            panic!("not comm")
        };
        assert_eq!((pid, comm), (5, &b"curl"[..]));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic(ty in 0u32..20, b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = parse(ty, 0, &b);
        }
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0-2,4,6-7"), Some(vec![0, 1, 2, 4, 6, 7]));
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
    }
}
