//! `--from CAPTURE [--frame N]`: the look of a capture the reading commands answer from, and
//! how they say so (a note on stderr, a `capture` object in JSON documents).

use crate::render::envelope::{CaptureInfo, rfc3339};
use crate::usage::usage;
use sockscope_core::capture::{Capture, Frame, Header, Keep, Limit};
use sockscope_core::hosts::{CaptureHost, Host, LiveHost};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A capture read for `--from`, and the look chosen.
pub struct Loaded {
    pub path: PathBuf,
    pub header: Header,
    /// The looks kept: all of them for `watch` without `--frame`, else the chosen one.
    pub frames: Vec<Arc<Frame>>,
    /// How many looks the capture holds.
    pub looks: usize,
    /// The index in the capture (from 0) of `frames[0]`.
    pub first_kept: usize,
    /// The index in the capture (from 0) of the look one-shot commands answer from.
    pub chosen: usize,
    /// Whether `--frame` chose it (`watch` then shows that look alone, not all of them).
    pub frame_asked: bool,
}

/// Where a reading command's answer comes from: the host it reads, and when that is a
/// capture's look, what JSON documents say of it.
pub struct Origin {
    pub host: Arc<dyn Host>,
    pub capture: Option<CaptureInfo>,
}

impl Origin {
    /// The running host.
    pub fn live() -> Origin {
        Origin { host: Arc::new(LiveHost::default()), capture: None }
    }

    /// The look of `loaded` the one-shot commands answer from.
    pub fn of(loaded: &Loaded) -> Origin {
        Origin {
            host: Arc::new(CaptureHost::new(Arc::clone(loaded.frame()))),
            capture: Some(loaded.info(loaded.chosen)),
        }
    }
}

/// When the chosen look was taken, for documents' `generated_at`.
pub fn taken_at(frame: &Frame) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_nanos(frame.taken_at_ns)
}

impl Loaded {
    /// Reads `path`; `frame` is 1-based (default: the last look), and only that look is
    /// kept unless `all` asks for every one. A capture that cannot be read, or a frame it
    /// does not have, is an error in the command line (exit 2).
    pub fn read(path: &Path, frame: Option<usize>, all: bool, limit: Limit) -> anyhow::Result<Loaded> {
        let keep = match frame {
            Some(k) => Keep::Number(k),
            None if all => Keep::All,
            None => Keep::Last,
        };
        let capture = Capture::read_keeping(path, keep, limit).map_err(usage)?;
        let n = capture.looks;
        let chosen = match frame {
            None => n - 1,
            Some(k) if (1..=n).contains(&k) => k - 1,
            Some(k) => {
                return Err(usage(anyhow::anyhow!(
                    "--frame {k}: {} holds {n} look{} (1 to {n})",
                    path.display(),
                    if n == 1 { "" } else { "s" }
                )));
            }
        };
        let frames = capture.frames.into_iter().map(Arc::new).collect();
        Ok(Loaded {
            path: path.to_path_buf(),
            header: capture.header,
            frames,
            looks: n,
            first_kept: capture.first_kept,
            chosen,
            frame_asked: frame.is_some(),
        })
    }

    pub fn frame(&self) -> &Arc<Frame> {
        &self.frames[self.chosen - self.first_kept]
    }

    /// What JSON documents say of look `look` (0-based, in the capture; one kept).
    pub fn info(&self, look: usize) -> CaptureInfo {
        let frame = &self.frames[look.saturating_sub(self.first_kept).min(self.frames.len() - 1)];
        CaptureInfo {
            path: self.path.display().to_string(),
            host: self.header.hostname.clone(),
            kernel: self.header.kernel.clone(),
            written_by: self.header.written_by.clone(),
            taken_at: rfc3339(taken_at(frame)),
            frame: look + 1,
            frames: self.looks,
            redacted: self.header.redacted,
        }
    }

    /// Tells the user (stderr) where the answer comes from.
    pub fn announce(&self) {
        let info = self.info(self.chosen);
        let of = if info.frames > 1 { format!(" (look {} of {})", info.frame, info.frames) } else { String::new() };
        crate::stderr_line!(
            "sockscope: note: from the capture {}: host {}, Linux {}, taken {}{of}",
            sockscope_core::text::Untrusted(&info.path),
            sockscope_core::text::Untrusted(&info.host),
            sockscope_core::text::Untrusted(&info.kernel),
            info.taken_at
        );
    }
}
