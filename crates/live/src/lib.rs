//! sockscope-live: the refresh model of a live view. A host (the running one, or a capture's
//! looks) is read again and again; each look becomes a `Frame` — per-connection rates and
//! ages by cookie, sockets that closed since, per-process and per-listener counts with
//! history, and the doctor's findings over the interval. `watch` draws frames, `serve`
//! exports them: this crate has no terminal code, so the exporter pulls in none.
#![forbid(unsafe_code)]

pub mod collect;
pub mod finals;
pub mod frame;
#[cfg(any(test, feature = "testing"))]
pub mod testdata;

use sockscope_core::SnapshotOptions;
use sockscope_core::model::StateSet;

/// What a live view (`watch`, `serve`) collects each refresh: TCP and UDP sockets in
/// `states`, with their owners and the few tcp_info numbers rates and the doctor need.
pub fn live_options(states: StateSet) -> SnapshotOptions {
    let mut opts = SnapshotOptions::new(sockscope_core::Selection::resolve(
        &[sockscope_core::Netid::Tcp, sockscope_core::Netid::Udp],
        &[],
        states,
    ));
    opts.owners = true;
    opts.extensions = sockscope_core::Extensions { vitals: true, ..sockscope_core::Extensions::default() };
    opts
}
