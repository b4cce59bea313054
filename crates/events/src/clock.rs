//! The clocks the records are stamped with.

pub use sockscope_core::lookup::monotonic_ns;

/// A CLOCK_MONOTONIC time as ns since the Unix epoch.
pub fn wall_ns(mono_ns: u64) -> u64 {
    let real = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    let real_now = u64::try_from(real.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(real.tv_nsec).unwrap_or(0);
    real_now.saturating_sub(monotonic_ns().saturating_sub(mono_ns))
}
