//! Captures: everything the reading commands need, recorded in one file (`sockscope record`)
//! and read back later, elsewhere (`--from FILE`), or compared (`sockscope diff`).
//!
//! The file: a fixed preamble any version can read — the magic line, the format version,
//! and the oldest format version a reader must understand to read it — then a small header
//! (host, kernel, who wrote it, when), uncompressed, then one zstd stream of frames (one
//! look each), each a length and its sections. A reader skips sections it does not know, so
//! a later sockscope may add them without raising the minimum version. Layout: docs/record.md.

pub mod codec;
pub mod diff;
pub mod frame;
pub mod replay;
pub mod take;

use codec::{DecodeError, Reader, Writer};
pub use frame::Frame;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The first bytes of every capture.
pub const MAGIC: &[u8; 18] = b"sockscope capture\n";
/// The version this sockscope writes and the newest it reads.
pub const VERSION: u16 = 1;
/// A frame larger than this is refused as damaged (a look at a million sockets is ~600 MB).
const MAX_FRAME_BYTES: u64 = 4 << 30;

/// Who took the capture, where and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The host's name (uname nodename) and kernel release.
    pub hostname: String,
    pub kernel: String,
    /// `sockscope 0.1.0`.
    pub written_by: String,
    /// When recording began: nanoseconds since the Unix epoch.
    pub started_ns: u64,
    /// Whether command lines were left out (`record --redact`).
    pub redacted: bool,
    /// The pause between frames asked for (`--interval`), in milliseconds.
    pub interval_ms: Option<u64>,
}

/// A capture file's contents: its header and its frames, oldest first.
#[derive(Debug, Default)]
pub struct Capture {
    pub header: Header,
    pub frames: Vec<Frame>,
}

/// Why a capture cannot be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot read the capture {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("cannot read the capture {path}: it is empty")]
    Empty { path: PathBuf },
    #[error(
        "cannot read the capture {path}: it is not a sockscope capture (it does not begin with \"sockscope capture\")"
    )]
    NotACapture { path: PathBuf },
    #[error(
        "cannot read the capture {path}: it is format version {version} and needs a reader of version {needs} or later; this sockscope reads version {VERSION} (upgrade sockscope)"
    )]
    TooNew { path: PathBuf, version: u16, needs: u16 },
    #[error("cannot read the capture {path}: it is damaged: {what}")]
    Damaged { path: PathBuf, what: String },
    #[error(
        "cannot read the capture {path}: it holds no look at the host (recording was cut short before the first ended)"
    )]
    NoFrames { path: PathBuf },
    #[error("cannot write the capture {path}: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
}

impl CaptureError {
    fn damaged(path: &Path, what: impl std::fmt::Display) -> CaptureError {
        CaptureError::Damaged { path: path.to_path_buf(), what: what.to_string() }
    }
}

const H_HOST: u8 = 1;
const H_WRITER: u8 = 2;
const H_STARTED: u8 = 3;
const H_REDACTED: u8 = 4;
const H_INTERVAL: u8 = 5;

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.section(H_HOST, |w| {
            w.str(&self.hostname);
            w.str(&self.kernel);
        });
        w.section(H_WRITER, |w| w.str(&self.written_by));
        w.section(H_STARTED, |w| w.u(self.started_ns));
        w.section(H_REDACTED, |w| w.bool(self.redacted));
        if let Some(ms) = self.interval_ms {
            w.section(H_INTERVAL, |w| w.u(ms));
        }
        w.buf
    }

    fn decode(bytes: &[u8]) -> Result<Header, DecodeError> {
        let mut h = Header::default();
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let (tag, mut s) = r.section()?;
            match tag {
                H_HOST => {
                    h.hostname = s.string()?;
                    h.kernel = s.string()?;
                }
                H_WRITER => h.written_by = s.string()?,
                H_STARTED => h.started_ns = s.u()?,
                H_REDACTED => h.redacted = s.bool()?,
                H_INTERVAL => h.interval_ms = Some(s.u()?),
                _ => {}
            }
        }
        Ok(h)
    }
}

/// Writes a capture: the preamble and header at once, then each frame as it is added, so
/// a capture streamed to a pipe (`-o -`) is readable up to its last whole frame.
pub struct Recorder<W: Write> {
    out: zstd::stream::write::Encoder<'static, W>,
    path: PathBuf,
}

impl<W: Write> Recorder<W> {
    /// `path` names the destination in errors.
    pub fn new(mut out: W, header: &Header, path: &Path) -> Result<Recorder<W>, CaptureError> {
        let err = |cause| CaptureError::Write { path: path.to_path_buf(), cause };
        let head = header.encode();
        let mut pre = Vec::with_capacity(MAGIC.len() + 8 + head.len());
        pre.extend_from_slice(MAGIC);
        pre.extend_from_slice(&VERSION.to_le_bytes());
        // The oldest reader that can read this file: this one's version, until a change
        // that old readers would misread (not merely a new section) raises it.
        pre.extend_from_slice(&1u16.to_le_bytes());
        pre.extend_from_slice(&(head.len() as u32).to_le_bytes());
        pre.extend_from_slice(&head);
        out.write_all(&pre).map_err(err)?;
        // Level 3 (a long window made it slower and the file no smaller: one look's sockets
        // repeat each other's shape within the default window).
        let mut enc = zstd::stream::write::Encoder::new(out, 3).map_err(err)?;
        // A checksum per zstd frame: a flipped bit is an error, not a different capture.
        enc.include_checksum(true).map_err(err)?;
        Ok(Recorder { out: enc, path: path.to_path_buf() })
    }

    /// Appends one look, and flushes it through to the destination.
    pub fn frame(&mut self, frame: &Frame) -> Result<(), CaptureError> {
        let err = |cause| CaptureError::Write { path: self.path.clone(), cause };
        let mut w = Writer::default();
        frame.encode(&mut w);
        let mut len = Writer::default();
        len.u(w.buf.len() as u64);
        self.out.write_all(&len.buf).map_err(err)?;
        self.out.write_all(&w.buf).map_err(err)?;
        self.out.flush().map_err(err)
    }

    /// Ends the stream; returns the destination.
    pub fn finish(self) -> Result<W, CaptureError> {
        let path = self.path;
        self.out.finish().map_err(|cause| CaptureError::Write { path, cause })
    }
}

impl Capture {
    /// Reads a capture file (`-`: standard input).
    pub fn read(path: &Path) -> Result<Capture, CaptureError> {
        let io = |cause| CaptureError::Io { path: path.to_path_buf(), cause };
        let bytes = if path == Path::new("-") {
            let mut b = Vec::new();
            std::io::stdin().lock().read_to_end(&mut b).map_err(io)?;
            b
        } else {
            if path.is_dir() {
                return Err(io(std::io::Error::other("it is a directory")));
            }
            std::fs::read(path).map_err(io)?
        };
        Capture::from_bytes(&bytes, path)
    }

    /// A capture from its bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Capture, CaptureError> {
        if bytes.is_empty() {
            return Err(CaptureError::Empty { path: path.to_path_buf() });
        }
        if !bytes.starts_with(MAGIC) {
            if MAGIC.starts_with(bytes) {
                return Err(CaptureError::damaged(path, "it ends inside its first line (truncated)"));
            }
            return Err(CaptureError::NotACapture { path: path.to_path_buf() });
        }
        let rest = &bytes[MAGIC.len()..];
        let Some(fixed) = rest.get(..8) else {
            return Err(CaptureError::damaged(path, "it ends inside its preamble (truncated)"));
        };
        let version = u16::from_le_bytes([fixed[0], fixed[1]]);
        let needs = u16::from_le_bytes([fixed[2], fixed[3]]);
        if needs > VERSION {
            return Err(CaptureError::TooNew { path: path.to_path_buf(), version, needs });
        }
        if version == 0 || needs == 0 {
            return Err(CaptureError::damaged(path, format!("its format version {version}/{needs} is not valid")));
        }
        let head_len = u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]) as usize;
        let head_start = MAGIC.len() + 8;
        let Some(head) = bytes.get(head_start..head_start.saturating_add(head_len)) else {
            return Err(CaptureError::damaged(path, "its header runs past the end of the file (truncated)"));
        };
        let header = Header::decode(head)
            .map_err(|e| CaptureError::damaged(path, DecodeError { at: e.at + head_start, what: e.what }))?;
        let body_start = head_start + head_len;
        let frames = read_frames(&bytes[body_start..], path)?;
        if frames.is_empty() {
            return Err(CaptureError::NoFrames { path: path.to_path_buf() });
        }
        Ok(Capture { header, frames })
    }
}

/// The frames of the compressed stream. A stream cut off after whole frames (a recording
/// interrupted) gives those frames; one cut inside a frame, or damaged, is an error.
fn read_frames(compressed: &[u8], path: &Path) -> Result<Vec<Frame>, CaptureError> {
    let damaged = |what: String| CaptureError::damaged(path, what);
    let mut dec = zstd::stream::read::Decoder::new(compressed)
        .map_err(|e| damaged(format!("its compressed stream cannot be opened ({e})")))?;
    let mut frames = Vec::new();
    loop {
        // The frame's length: the end of the stream is allowed only before it (a recording
        // stopped early ends there, or inside the compressor's block after a whole frame).
        let len = match codec::read_u(&mut dec) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(frames),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(damaged(format!("frame {} has a malformed length", frames.len() + 1)));
            }
            Err(e) => return Err(damaged(format!("frame {}: {}", frames.len() + 1, decompress_error(&e)))),
        };
        if len > MAX_FRAME_BYTES {
            return Err(damaged(format!("frame {} claims {len} bytes, more than any look holds", frames.len() + 1)));
        }
        // Exactly as long as the frame says, grown 64 MiB at a time as the data arrives: a
        // damaged length must not allocate gigabytes up front.
        let mut body = Vec::new();
        let mut left = len;
        while left > 0 {
            let chunk = usize::try_from(left.min(64 << 20)).unwrap_or(64 << 20);
            let start = body.len();
            body.reserve_exact(chunk);
            body.resize(start + chunk, 0);
            dec.read_exact(&mut body[start..]).map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    "is cut off (truncated)".to_string()
                } else {
                    format!("cannot be read: {}", decompress_error(&e))
                };
                damaged(format!("frame {} {why}", frames.len() + 1))
            })?;
            left -= chunk as u64;
        }
        // The look keeps its socket tables as ranges of this buffer.
        let body = std::sync::Arc::new(body);
        let frame = Frame::decode(&mut Reader::shared(&body))
            .map_err(|e| damaged(format!("frame {}: {e} of the frame", frames.len() + 1)))?;
        frames.push(frame);
    }
}

fn decompress_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the compressed stream is cut off (truncated)".into()
    } else {
        format!("the compressed stream is damaged ({e})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let header = Header { hostname: "web1".into(), kernel: "6.1".into(), ..Header::default() };
        let mut rec = Recorder::new(Vec::new(), &header, Path::new("t.cap")).unwrap();
        let mut f = Frame { taken_at_ns: 42, ..Frame::default() };
        f.files.insert("net/netstat".into(), "TcpExt: A\nTcpExt: 1\n".into());
        rec.frame(&f).unwrap();
        f.taken_at_ns = 43;
        rec.frame(&f).unwrap();
        rec.finish().unwrap()
    }

    /// A capture written by format version 1 (a private namespace, redacted) stays readable:
    /// the version policy's promise, checked on every build.
    #[test]
    fn a_version_1_capture_reads_and_replays() {
        let bytes = include_bytes!("../../tests/fixtures/capture_v1.cap");
        let c = Capture::from_bytes(bytes, Path::new("capture_v1.cap")).unwrap();
        assert!(c.header.redacted && c.header.written_by.starts_with("sockscope "));
        assert_eq!(c.frames.len(), 1);
        let f = &c.frames[0];
        assert!(f.processes.iter().all(|p| p.cmdline.is_none()), "redacted");
        assert!(f.processes.iter().any(|p| !p.fds.is_empty()));
        let all = crate::Selection::resolve(&[], &[], replay::every_state());
        let mut opts = crate::SnapshotOptions::new(all);
        opts.owners = true;
        let snap = replay::snapshot(f, &opts).unwrap();
        assert_eq!(snap.sockets.len(), f.socket_count());
        assert!(snap.sockets.iter().any(|s| s.netid == crate::Netid::Netlink), "the recorder's own sock_diag socket");
        assert!(!f.counters().is_empty() && f.file("sys/fs/nr_open").is_some());
    }

    #[test]
    fn frames_and_header_read_back() {
        let c = Capture::from_bytes(&sample(), Path::new("t.cap")).unwrap();
        assert_eq!(c.header.hostname, "web1");
        assert_eq!(c.frames.iter().map(|f| f.taken_at_ns).collect::<Vec<_>>(), vec![42, 43]);
        assert_eq!(c.frames[1].files["net/netstat"], "TcpExt: A\nTcpExt: 1\n");
    }

    #[test]
    fn damaged_captures_are_one_error_each() {
        let good = sample();
        let p = Path::new("t.cap");
        let msg = |b: &[u8]| Capture::from_bytes(b, p).unwrap_err().to_string();
        assert_eq!(msg(b""), "cannot read the capture t.cap: it is empty");
        assert!(msg(b"hello world, not a capture").contains("not a sockscope capture"));
        assert!(msg(&good[..10]).contains("truncated"), "{}", msg(&good[..10]));
        let mut newer = good.clone();
        newer[MAGIC.len() + 2] = 9;
        assert!(msg(&newer).contains("needs a reader of version 9 or later"), "{}", msg(&newer));
        for cut in [MAGIC.len() + 4, MAGIC.len() + 12] {
            let m = msg(&good[..cut]);
            assert!(m.contains("damaged") || m.contains("no look"), "{cut}: {m}");
        }
        // Cut after its last whole look (a recording stopped early): the looks it has.
        for cut in (MAGIC.len() + 30..good.len()).rev().take(40) {
            if let Ok(c) = Capture::from_bytes(&good[..cut], p) {
                assert!(c.frames.iter().all(|f| f.files["net/netstat"] == "TcpExt: A\nTcpExt: 1\n"));
            }
        }
        // Every single-bit flip is an error or a capture, never a panic.
        for i in 0..good.len() {
            for bit in [0, 3, 7] {
                let mut b = good.clone();
                b[i] ^= 1 << bit;
                let _ = Capture::from_bytes(&b, p);
            }
        }
    }
}
