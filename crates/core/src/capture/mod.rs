//! Captures: everything the reading commands need, recorded in one file (`sockscope record`)
//! and read back later, elsewhere (`--from FILE`), or compared (`sockscope diff`).
//!
//! The file: a fixed preamble any version can read — the magic line, the format version,
//! and the oldest format version a reader must understand to read it — then a small header
//! (host, kernel, who wrote it, when), uncompressed, then one zstd stream (a series of zstd
//! frames: the recorder writes a table it compressed while dumping as frames of its own) of
//! looks, each a length and its sections. A reader skips sections it does not know, so
//! a later sockscope may add them without raising the minimum version. Layout: docs/record.md.

pub mod codec;
pub mod fdlist;
pub mod frame;
pub mod spool;

use codec::{DecodeError, Reader, Writer};
pub use frame::Frame;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The first bytes of every capture.
pub const MAGIC: &[u8; 18] = b"sockscope capture\n";
/// The version this sockscope writes and the newest it reads.
/// 2 added the MPTCP table, which version 1 readers would take for damage.
pub const VERSION: u16 = 2;
/// A frame larger than this is refused as damaged (a look at a million sockets is ~600 MB).
const MAX_FRAME_BYTES: u64 = 4 << 30;
/// Which looks of a capture to keep as it is read. The others are decompressed past (and
/// count against the limit) but never kept, so memory follows the looks asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every look (`watch --from` replays them all).
    All,
    /// The first look only (`diff`'s earlier capture).
    First,
    /// The last look only (the default of `--from`).
    Last,
    /// Look N, counted from 1 (`--frame N`); no look is kept when the capture has fewer.
    Number(usize),
}

/// How much a capture may decompress to, in all (skipped looks included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// In proportion to the compressed bytes read so far (`DECOMPRESSION_RATIO`, with
    /// `DECOMPRESSED_FLOOR` for small files), and never past `DECOMPRESSED_CEILING`.
    Proportional,
    /// Exactly this many bytes (`--max-decompressed`), whatever the file's size.
    Bytes(u64),
}

/// A look at the host compresses about 20–60 times (the sock_diag replies of one socket
/// repeat the shape of the last); this allows four times the most seen. A decompression
/// bomb compresses thousands of times.
pub const DECOMPRESSION_RATIO: u64 = 256;
/// Any capture may decompress to this much, however small.
pub const DECOMPRESSED_FLOOR: u64 = 64 << 20;
/// No capture decompresses past this unless `--max-decompressed` says so.
pub const DECOMPRESSED_CEILING: u64 = 16 << 30;
/// A header is a few names and numbers.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// The step in which a look is decompressed (and the limit checked).
const STEP: u64 = 4 << 20;
/// What each look costs against the limit besides its bytes: a look of a few bytes still
/// becomes a whole `Frame`, so millions of empty looks must not fit in a small limit.
const LOOK_COST: u64 = 16 << 10;

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

/// A capture file's contents: its header and the looks kept of it (`Keep`), oldest first.
#[derive(Debug, Default)]
pub struct Capture {
    pub header: Header,
    pub frames: Vec<Frame>,
    /// How many looks the file holds, kept or not.
    pub looks: usize,
    /// The index (from 0) in the file of `frames[0]`.
    pub first_kept: usize,
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
    #[error(
        "cannot read the capture {path}: it decompresses to more than {limit} bytes from {compressed} compressed bytes{why}"
    )]
    TooLarge { path: PathBuf, limit: u64, compressed: u64, why: String },
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
    /// `None` only after a write failed while a spooled table's frames were being written.
    out: Option<zstd::stream::write::Encoder<'static, W>>,
    path: PathBuf,
}

/// Level 3 (a long window made it slower and the file no smaller: one look's sockets
/// repeat each other's shape within the default window), a checksum per zstd frame: a
/// flipped bit is an error, not a different capture.
fn encoder<W: Write>(out: W) -> std::io::Result<zstd::stream::write::Encoder<'static, W>> {
    let mut enc = zstd::stream::write::Encoder::new(out, 3)?;
    enc.include_checksum(true)?;
    Ok(enc)
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
        pre.extend_from_slice(&2u16.to_le_bytes());
        pre.extend_from_slice(&(head.len() as u32).to_le_bytes());
        pre.extend_from_slice(&head);
        out.write_all(&pre).map_err(err)?;
        Ok(Recorder { out: Some(encoder(out).map_err(err)?), path: path.to_path_buf() })
    }

    /// Appends one look, and flushes it through to the destination. Its spooled tables are
    /// already compressed: the encoder's frame is ended before them and a new one begun
    /// after, and their frames written between as they are.
    pub fn frame(&mut self, frame: &Frame) -> Result<(), CaptureError> {
        self.write_look(frame).map_err(|cause| CaptureError::Write { path: self.path.clone(), cause })
    }

    fn write_look(&mut self, frame: &Frame) -> std::io::Result<()> {
        let pieces = frame.pieces();
        let mut len = codec::Writer::default();
        len.u(pieces.iter().map(frame::Piece::decoded_len).sum());
        self.write(&len.buf)?;
        for piece in &pieces {
            match piece {
                frame::Piece::Bytes(b) => self.write(b)?,
                frame::Piece::Spool(s) => self.write_frames(s)?,
            }
        }
        self.encoder()?.flush()
    }

    fn encoder(&mut self) -> std::io::Result<&mut zstd::stream::write::Encoder<'static, W>> {
        self.out.as_mut().ok_or_else(|| std::io::Error::other("an earlier write failed"))
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.encoder()?.write_all(bytes)
    }

    fn write_frames(&mut self, spool: &spool::Spool) -> std::io::Result<()> {
        if spool.frames().next().is_none() {
            return Ok(());
        }
        let mut out = self.out.take().ok_or_else(|| std::io::Error::other("an earlier write failed"))?.finish()?;
        for f in spool.frames() {
            out.write_all(f)?;
        }
        self.out = Some(encoder(out)?);
        Ok(())
    }

    /// Ends the stream; returns the destination.
    pub fn finish(self) -> Result<W, CaptureError> {
        let cause = |cause| CaptureError::Write { path: self.path.clone(), cause };
        match self.out {
            Some(enc) => enc.finish().map_err(cause),
            None => Err(cause(std::io::Error::other("an earlier write failed"))),
        }
    }
}

impl Capture {
    /// Reads a capture file (`-`: standard input; a FIFO or `/dev/fd/N` is read as a stream),
    /// keeping the looks `keep` asks for. Nothing past the magic line is read from a file
    /// that does not begin with it.
    pub fn read_keeping(path: &Path, keep: Keep, limit: Limit) -> Result<Capture, CaptureError> {
        let io = |cause| CaptureError::Io { path: path.to_path_buf(), cause };
        if path == Path::new("-") {
            return Capture::from_reader(std::io::stdin().lock(), path, keep, limit);
        }
        if path.is_dir() {
            return Err(io(std::io::Error::other("it is a directory")));
        }
        let file = std::fs::File::open(path).map_err(io)?;
        Capture::from_reader(std::io::BufReader::new(file), path, keep, limit)
    }

    /// A capture from its bytes, every look kept; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Capture, CaptureError> {
        Capture::from_reader(bytes, path, Keep::All, Limit::Proportional)
    }

    /// A capture read from `input` as a stream; `path` names it in errors. With
    /// `Keep::Number` beyond the last look, `frames` is empty and `looks` says how many
    /// there are.
    pub fn from_reader(input: impl Read, path: &Path, keep: Keep, limit: Limit) -> Result<Capture, CaptureError> {
        let mut input = Counted { inner: input, read: 0 };
        let io = |cause| CaptureError::Io { path: path.to_path_buf(), cause };
        let mut magic = Vec::with_capacity(MAGIC.len());
        (&mut input).take(MAGIC.len() as u64).read_to_end(&mut magic).map_err(io)?;
        if magic.is_empty() {
            return Err(CaptureError::Empty { path: path.to_path_buf() });
        }
        if magic != MAGIC {
            if MAGIC.starts_with(&magic) {
                return Err(CaptureError::damaged(path, "it ends inside its first line (truncated)"));
            }
            return Err(CaptureError::NotACapture { path: path.to_path_buf() });
        }
        let mut fixed = [0u8; 8];
        input.read_exact(&mut fixed).map_err(|e| truncated_or(path, e, "it ends inside its preamble (truncated)"))?;
        let version = u16::from_le_bytes([fixed[0], fixed[1]]);
        let needs = u16::from_le_bytes([fixed[2], fixed[3]]);
        if needs > VERSION {
            return Err(CaptureError::TooNew { path: path.to_path_buf(), version, needs });
        }
        if version == 0 || needs == 0 {
            return Err(CaptureError::damaged(path, format!("its format version {version}/{needs} is not valid")));
        }
        let head_len = u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]) as usize;
        if head_len > MAX_HEADER_BYTES {
            return Err(CaptureError::damaged(
                path,
                format!("its header claims {head_len} bytes, more than any holds"),
            ));
        }
        let mut head = vec![0u8; head_len];
        input
            .read_exact(&mut head)
            .map_err(|e| truncated_or(path, e, "its header runs past the end of the file (truncated)"))?;
        let head_start = MAGIC.len() + 8;
        let header = Header::decode(&head)
            .map_err(|e| CaptureError::damaged(path, DecodeError { at: e.at + head_start, what: e.what }))?;
        let (frames, looks, first_kept) = read_frames(input, path, keep, limit)?;
        if looks == 0 {
            return Err(CaptureError::NoFrames { path: path.to_path_buf() });
        }
        Ok(Capture { header, frames, looks, first_kept })
    }
}

fn truncated_or(path: &Path, e: std::io::Error, truncated: &str) -> CaptureError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        CaptureError::damaged(path, truncated)
    } else {
        CaptureError::Io { path: path.to_path_buf(), cause: e }
    }
}

/// A reader that counts the bytes it hands out: the compressed bytes read so far, which
/// the decompressed total is held in proportion to.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The decompressed bytes so far against the limit.
struct Budget {
    limit: Limit,
    decompressed: u64,
}

impl Budget {
    /// After `more` bytes came out of the decompressor, having read `compressed` in all.
    fn spend(&mut self, more: u64, compressed: u64, path: &Path) -> Result<(), CaptureError> {
        self.decompressed = self.decompressed.saturating_add(more);
        let allowed = match self.limit {
            Limit::Bytes(n) => n,
            Limit::Proportional => {
                compressed.saturating_mul(DECOMPRESSION_RATIO).clamp(DECOMPRESSED_FLOOR, DECOMPRESSED_CEILING)
            }
        };
        if self.decompressed <= allowed {
            return Ok(());
        }
        let why = match self.limit {
            Limit::Bytes(_) => " (the limit --max-decompressed set)".to_string(),
            Limit::Proportional => format!(
                ", more than an honest capture does ({DECOMPRESSION_RATIO} times its size, {} MiB to {} GiB): it is damaged or hostile (--max-decompressed SIZE reads it anyway)",
                DECOMPRESSED_FLOOR >> 20,
                DECOMPRESSED_CEILING >> 30
            ),
        };
        Err(CaptureError::TooLarge { path: path.to_path_buf(), limit: allowed, compressed, why })
    }
}

/// The looks of the compressed stream that `keep` asks for, how many it holds, and the
/// index of the first kept. A stream cut off after whole looks (a recording interrupted)
/// gives those; one cut inside a look, or damaged, is an error.
fn read_frames(
    compressed: Counted<impl Read>,
    path: &Path,
    keep: Keep,
    limit: Limit,
) -> Result<(Vec<Frame>, usize, usize), CaptureError> {
    let damaged = |what: String| CaptureError::damaged(path, what);
    let mut dec = zstd::stream::read::Decoder::new(compressed)
        .map_err(|e| damaged(format!("its compressed stream cannot be opened ({e})")))?;
    let mut budget = Budget { limit, decompressed: 0 };
    let mut frames = Vec::new();
    let mut looks = 0usize;
    let mut first_kept = 0usize;
    loop {
        // The look's length: the end of the stream is allowed only before it (a recording
        // stopped early ends there, or inside the compressor's block after a whole look).
        let number = looks + 1;
        let len = match codec::read_u(&mut dec) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok((frames, looks, first_kept)),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(damaged(format!("frame {number} has a malformed length")));
            }
            Err(e) => return Err(damaged(format!("frame {number}: {}", decompress_error(&e)))),
        };
        if len > MAX_FRAME_BYTES {
            return Err(damaged(format!("frame {number} claims {len} bytes, more than any look holds")));
        }
        budget.spend(LOOK_COST, dec.get_ref().get_ref().read, path)?;
        let wanted = match keep {
            Keep::All => true,
            Keep::First => number == 1,
            Keep::Last => true,
            Keep::Number(n) => n == number,
        };
        let cut = |e: std::io::Error| {
            let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "is cut off (truncated)".to_string()
            } else {
                format!("cannot be read: {}", decompress_error(&e))
            };
            damaged(format!("frame {number} {why}"))
        };
        // Exactly as long as the look says, in steps as the data arrives, the limit checked
        // after each: a damaged length or a bomb never allocates past it.
        let mut body = Vec::new();
        let mut left = len;
        while left > 0 {
            let step = left.min(STEP);
            let got = if wanted {
                // Exactly one step more (glibc grows a buffer this large by remapping its
                // pages, not copying them): a bomb never holds memory past the limit.
                body.reserve_exact(step as usize);
                (&mut dec).take(step).read_to_end(&mut body).map_err(cut)? as u64
            } else {
                std::io::copy(&mut (&mut dec).take(step), &mut std::io::sink()).map_err(cut)?
            };
            if got < step {
                return Err(cut(std::io::ErrorKind::UnexpectedEof.into()));
            }
            budget.spend(step, dec.get_ref().get_ref().read, path)?;
            left -= step;
        }
        looks = number;
        if !wanted {
            continue;
        }
        // The look keeps its socket tables as ranges of this buffer.
        let body = std::sync::Arc::new(body);
        let frame = Frame::decode(&mut Reader::shared(&body))
            .map_err(|e| damaged(format!("frame {number}: {e} of the frame")))?;
        if keep == Keep::Last {
            frames.clear();
            first_kept = number - 1;
        } else if frames.is_empty() {
            first_kept = number - 1;
        }
        frames.push(frame);
        if keep == Keep::First {
            // The rest of the file is not needed.
            return Ok((frames, looks, first_kept));
        }
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

    /// A look whose table is spooled (its zstd frames written between the encoder's own)
    /// reads back as one stream, twice in a row, each look whole.
    #[test]
    fn spooled_tables_read_back_between_the_encoders_frames() {
        let messages: Vec<Vec<u8>> = (0..200_000u32).map(|i| i.to_be_bytes().repeat(1 + (i % 13) as usize)).collect();
        let mut spooler = spool::Spooler::new().unwrap();
        messages.iter().for_each(|m| spooler.push(m));
        let source = frame::TableSource::Spooled(spooler.finish().unwrap());
        let mut f = Frame { taken_at_ns: 7, ..Frame::default() };
        f.tables.push(frame::Table { name: frame::TableName::Tcp, source });
        f.files.insert("net/snmp".into(), "Tcp: A\nTcp: 1\n".into());
        let mut rec = Recorder::new(Vec::new(), &Header::default(), Path::new("t.cap")).unwrap();
        rec.frame(&f).unwrap();
        rec.frame(&f).unwrap();
        let c = Capture::from_bytes(&rec.finish().unwrap(), Path::new("t.cap")).unwrap();
        assert_eq!(c.frames.len(), 2);
        for back in &c.frames {
            assert_eq!(back.files, f.files);
            let mut got = Vec::new();
            back.tables[0].source.each_message(|m| got.push(m.to_vec())).unwrap();
            assert_eq!(got, messages);
        }
    }

    /// Found by the capture fuzz target: a megabyte of zero-length looks became a million
    /// `Frame`s (2 GB) inside a 4 MiB limit. Each look now costs `LOOK_COST` too.
    #[test]
    fn millions_of_empty_looks_count_against_the_limit() {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend(zstd::encode_all(&vec![0u8; 1 << 20][..], 3).unwrap());
        let e = Capture::from_reader(&b[..], Path::new("t.cap"), Keep::All, Limit::Bytes(4 << 20)).unwrap_err();
        assert!(matches!(e, CaptureError::TooLarge { .. }), "{e}");
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
