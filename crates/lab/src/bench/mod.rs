//! Measurements of the seed's claims, each bounded in time, each reporting its figures beside
//! the claim it tests.

pub mod blocking_vs_epoll;
pub mod conditions;
pub mod nagle;
pub mod plot;
pub mod poll_vs_epoll;
pub mod report;
pub mod stats;
pub mod unix_vs_tcp;

/// How every benchmark repeats and pins: `--runs` measured runs per point (after one
/// warm-up), and `--cpus`.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub runs: usize,
    pub pin: Option<conditions::Pinning>,
}

/// Runs `f` on a new thread pinned to one side (or not pinned), and returns what it returns.
pub(crate) fn on_thread<T: Send + 'static>(
    pin: Option<conditions::Pinning>,
    client: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        conditions::pin_side(pin, client);
        f()
    })
}
