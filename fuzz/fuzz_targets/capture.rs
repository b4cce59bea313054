//! A capture file (`sockscope record`): preamble, header, compressed frames and every
//! section of a frame, then what `--from` does with a frame (the sockets replayed through
//! the sock_diag parsers, the owner index, the doctor's observation, a diff). Any input is a
//! capture or an error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope_core::capture::{Capture, Keep, Limit};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The raw frame encoding too, without the compressed stream around it.
    let mut r = sockscope_core::capture::codec::Reader::new(data);
    if let Ok(frame) = sockscope_core::capture::Frame::decode(&mut r) {
        replay(frame);
    }
    // Under a limit of 4 MiB (a bomb or a size claim is an error there, never an allocation
    // past it; the proportional limit's floor of 64 MiB would make each bomb run slow), every
    // look kept, then as --from keeps them.
    let path = Path::new("fuzz.cap");
    if let Ok(c) = Capture::from_reader(data, path, Keep::All, Limit::Bytes(4 << 20)) {
        for f in c.frames {
            replay(f);
        }
    }
    for keep in [Keep::Last, Keep::Number(2)] {
        let _ = Capture::from_reader(data, path, keep, Limit::Bytes(1 << 20));
    }
});

fn replay(frame: sockscope_core::capture::Frame) {
    use sockscope_core::hosts::{CaptureHost, Host};
    let _ = frame.socket_count();
    let host = CaptureHost::new(std::sync::Arc::new(frame));
    let sel = sockscope_core::Selection::resolve(&[], &[], sockscope_core::model::StateSet::EVERY);
    let mut opts = sockscope_core::SnapshotOptions::new(sel);
    opts.owners = true;
    opts.extensions = sockscope_core::Extensions { memory: true, tcp_info: true, ..Default::default() };
    let _ = host.snapshot(&opts);
    let o = sockscope_core::diagnose::observe::ObserveOptions::default();
    let _ = sockscope_core::diagnose::observe::observe(&host, &o);
    let _ = sockscope_core::diagnose::diff::diff(&host, &host, &sockscope_core::diagnose::Thresholds::default());
}
