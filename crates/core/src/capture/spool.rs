//! A socket table's reply messages while a look is being recorded, held compressed.
//!
//! A capture stores a table as its messages, each with its varint length before it. A
//! million sockets' messages are ~400 MB, but compress twenty times and more, so the
//! recorder keeps them as zstd frames of about `CHUNK_BYTES` each (with checksums) as the
//! dump arrives. A zstd stream may be a series of frames, so the recorder writes these into
//! the capture as they are; the look's other sections go through its own encoder.

use std::io;

/// The uncompressed bytes a frame holds: large enough to compress as well as one stream
/// does, small enough that the recorder holds little uncompressed at a time.
const CHUNK_BYTES: usize = 4 << 20;
/// The capture's level (`Recorder`), so a spooled table takes the room it would have.
const LEVEL: i32 = 3;

/// A table's messages, compressed; built by a `Spooler`.
#[derive(Clone, Debug, Default)]
pub struct Spool {
    /// Each zstd frame and how many bytes it decompresses to (whole messages only).
    frames: Vec<(Vec<u8>, usize)>,
    raw_len: u64,
}

impl Spool {
    /// The bytes the messages take uncompressed, lengths included: the table's length in
    /// the capture.
    pub fn raw_len(&self) -> u64 {
        self.raw_len
    }

    /// The compressed frames, in order: written into a capture's stream as they are.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        self.frames.iter().map(|(f, _)| f.as_slice())
    }

    /// Each stretch of messages decompressed, in order (whole messages, each with its
    /// length before it): one `CHUNK_BYTES` buffer at a time is held.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8])) -> io::Result<()> {
        let mut dec = zstd::bulk::Decompressor::new()?;
        let mut buf = Vec::new();
        for (frame, raw) in &self.frames {
            buf.clear();
            buf.reserve(*raw);
            dec.decompress_to_buffer(frame.as_slice(), &mut buf)?;
            if buf.len() != *raw {
                return Err(io::Error::other(
                    "a spooled table decompressed to another length than it was written with",
                ));
            }
            f(&buf);
        }
        Ok(())
    }
}

/// Builds a `Spool` from messages as they arrive.
pub struct Spooler {
    spool: Spool,
    open: Vec<u8>,
    zstd: zstd::bulk::Compressor<'static>,
    /// The first compression error: the table is then refused whole (`finish`).
    failed: Option<io::Error>,
}

impl Spooler {
    pub fn new() -> io::Result<Spooler> {
        let mut zstd = zstd::bulk::Compressor::new(LEVEL)?;
        // A flipped bit in a capture is an error, not a different capture (as `Recorder`).
        zstd.set_parameter(zstd::stream::raw::CParameter::ChecksumFlag(true))?;
        Ok(Spooler { spool: Spool::default(), open: Vec::with_capacity(CHUNK_BYTES), zstd, failed: None })
    }

    /// One message, kept as `codec::Writer::bytes` writes it.
    pub fn push(&mut self, message: &[u8]) {
        let mut len = super::codec::Writer::default();
        len.u(message.len() as u64);
        self.open.extend_from_slice(&len.buf);
        self.open.extend_from_slice(message);
        if self.open.len() >= CHUNK_BYTES {
            self.seal();
        }
    }

    fn seal(&mut self) {
        if self.open.is_empty() || self.failed.is_some() {
            return;
        }
        match self.zstd.compress(&self.open) {
            Ok(frame) => {
                self.spool.raw_len += self.open.len() as u64;
                self.spool.frames.push((frame, self.open.len()));
            }
            Err(e) => self.failed = Some(e),
        }
        self.open.clear();
    }

    /// The messages pushed; an error if any could not be compressed (memory ran out).
    pub fn finish(mut self) -> io::Result<Spool> {
        self.seal();
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.spool),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::codec::{Reader, Writer};

    /// Messages across several frames come back whole and in order, and the frames
    /// concatenated are one zstd stream of the same bytes as the capture writes them.
    #[test]
    fn messages_round_trip_across_frames() {
        let messages: Vec<Vec<u8>> = (0..30_000u32).map(|i| i.to_le_bytes().repeat(1 + (i % 97) as usize)).collect();
        let mut s = Spooler::new().unwrap();
        let mut plain = Writer::default();
        for m in &messages {
            s.push(m);
            plain.bytes(m);
        }
        let spool = s.finish().unwrap();
        assert!(spool.frames().count() > 1, "the test crosses a frame boundary");
        assert_eq!(spool.raw_len(), plain.buf.len() as u64);
        let mut back = Vec::new();
        spool
            .for_each_chunk(|chunk| {
                let mut r = Reader::new(chunk);
                while !r.is_empty() {
                    back.push(r.bytes().unwrap().to_vec());
                }
            })
            .unwrap();
        assert_eq!(back, messages);
        let stream: Vec<u8> = spool.frames().flatten().copied().collect();
        assert_eq!(zstd::decode_all(&stream[..]).unwrap(), plain.buf);
    }
}
