//! sockscope-lab: real sockets, real processes, real namespaces — the ground truth tests and
//! benchmarks check sockscope against, and the conditions `sockscope lab` shows people.
//! Nothing here is a mock of the kernel.
//!
//! Every scenario starts when constructed, returns what it made (pids, ports, fds, counts),
//! and removes everything when dropped. Loops are bounded in count and time; sizes beyond
//! what the machine allows are refused before anything is created; no sysctl and no limit of
//! any other process is changed.

pub mod bench;
pub mod cleanup;
pub mod counters;
pub mod holder;
pub mod limits;
pub mod netns;
pub mod scenarios;
pub mod sockets;
pub mod worker;

pub use holder::Holder;
pub use netns::enter_private_netns;

/// What can go wrong starting a scenario.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The requested size does not fit the machine's limits; nothing was created.
    #[error("refused: {0}")]
    Limit(String),
    /// The io::Error is part of this message, not a `source`: an error chain printed as
    /// "a: b: c" would otherwise say it twice.
    #[error("{what}: {}", errno_text(error))]
    Io { what: String, error: std::io::Error },
    #[error("lab worker: {0}")]
    Worker(String),
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
    let what = what.into();
    move |error| LabError::Io { what, error }
}

/// The errno name and text of an error, as people search for it: `EADDRINUSE (Address
/// already in use)`.
pub fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let errno = rustix::io::Errno::from_raw_os_error(code);
            let name = match errno {
                rustix::io::Errno::ADDRINUSE => "EADDRINUSE",
                rustix::io::Errno::ADDRNOTAVAIL => "EADDRNOTAVAIL",
                rustix::io::Errno::MFILE => "EMFILE",
                rustix::io::Errno::NFILE => "ENFILE",
                rustix::io::Errno::CONNREFUSED => "ECONNREFUSED",
                rustix::io::Errno::AGAIN => "EAGAIN",
                rustix::io::Errno::INPROGRESS => "EINPROGRESS",
                _ => "",
            };
            let text = std::io::Error::from_raw_os_error(code).to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            if name.is_empty() { text } else { format!("{name} ({text})") }
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    /// Security issue 20: a lab error said its cause twice ("Network is unreachable (os error
    /// 101): Network is unreachable (os error 101)"): the io::Error was both in the message
    /// and its `source`.
    #[test]
    fn a_lab_error_says_its_cause_once() {
        let e = super::io("connect")(std::io::Error::from_raw_os_error(101));
        assert_eq!(e.to_string(), "connect: Network is unreachable");
        assert!(std::error::Error::source(&e).is_none(), "no second copy in the chain");
    }
}
