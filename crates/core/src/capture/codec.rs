//! The capture's primitive encoding: unsigned LEB128 varints, length-prefixed bytes, and a
//! reader that checks every length against what is left (a damaged capture is an error at a
//! byte offset, never a panic or a huge allocation).

/// Appends values to a buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn bool(&mut self, b: bool) {
        self.buf.push(u8::from(b));
    }

    /// `None` as 0, `Some(v)` as v + 1 (saturating: u64::MAX is stored as u64::MAX - 1 + 1).
    pub fn opt(&mut self, v: Option<u64>) {
        self.u(v.map_or(0, |v| v.saturating_add(1)));
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }

    /// A section: its length first, so a reader can skip a section it does not know. The
    /// body is written in place and its length put before it after (no second buffer: a
    /// look's socket tables are tens of megabytes).
    pub fn section(&mut self, tag: u8, body: impl FnOnce(&mut Writer)) {
        self.buf.push(tag);
        let start = self.buf.len();
        body(self);
        let mut len = Writer::default();
        len.u((self.buf.len() - start) as u64);
        self.buf.splice(start..start, len.buf);
    }
}

/// A number (`Writer::u`) read from a stream: `Ok(None)` when the stream ends before its
/// first byte, cleanly or cut inside the compressor's block; `InvalidData` past 64 bits.
pub fn read_u(r: &mut impl std::io::Read) -> std::io::Result<Option<u64>> {
    use std::io::{Error, ErrorKind};
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8];
        match r.read(&mut b) {
            Ok(0) if shift == 0 => return Ok(None),
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if shift == 0 && e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        v |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            if shift == 63 && b[0] > 1 {
                break;
            }
            return Ok(Some(v));
        }
    }
    Err(Error::new(ErrorKind::InvalidData, "a number runs past 64 bits"))
}

/// Why the bytes could not be decoded, and where (offset from the start of what was read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct DecodeError {
    pub at: usize,
    pub what: &'static str,
}

/// Bytes kept from a decoded buffer without copying them: a range of the buffer, shared.
#[derive(Clone, Debug)]
pub struct Shared {
    buf: std::sync::Arc<Vec<u8>>,
    range: std::ops::Range<usize>,
}

impl Shared {
    pub fn new(bytes: Vec<u8>) -> Shared {
        let range = 0..bytes.len();
        Shared { buf: std::sync::Arc::new(bytes), range }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

/// Reads values back, bounds-checked.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where `data` starts in the whole stream, for error offsets.
    base: usize,
    /// The whole buffer `data` is part of (from its start), when shared: `shared_bytes`
    /// then hands out ranges of it instead of copies.
    whole: Option<&'a std::sync::Arc<Vec<u8>>>,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0, base: 0, whole: None }
    }

    /// A reader over a shared buffer, whose long byte strings are kept without copying.
    pub fn shared(buf: &'a std::sync::Arc<Vec<u8>>) -> Reader<'a> {
        Reader { data: buf.as_slice(), pos: 0, base: 0, whole: Some(buf) }
    }

    /// `bytes`, kept: a range of the shared buffer, or a copy when there is none.
    pub fn shared_bytes(&mut self) -> Result<Shared, DecodeError> {
        let b = self.bytes()?;
        let end = self.at();
        Ok(match self.whole {
            Some(buf) => Shared { buf: std::sync::Arc::clone(buf), range: end - b.len()..end },
            None => Shared::new(b.to_vec()),
        })
    }

    pub fn at(&self) -> usize {
        self.base + self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Where the reader is in its data (for `since`).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes read since `position()` returned `start`.
    pub fn since(&self, start: usize) -> &'a [u8] {
        &self.data[start.min(self.pos)..self.pos]
    }

    pub fn fail<T>(&self, what: &'static str) -> Result<T, DecodeError> {
        Err(DecodeError { at: self.at(), what })
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let Some(&b) = self.data.get(self.pos) else { return self.fail("the data ends early") };
        self.pos += 1;
        Ok(b)
    }

    pub fn u(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if shift == 63 && b > 1 {
                    return self.fail("a number overflows 64 bits");
                }
                return Ok(v);
            }
        }
        self.fail("a number runs past 10 bytes")
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let v = self.u()?;
        u32::try_from(v).or_else(|_| self.fail("a number is too large for its field"))
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.fail("a flag is neither 0 nor 1"),
        }
    }

    pub fn opt(&mut self) -> Result<Option<u64>, DecodeError> {
        Ok(self.u()?.checked_sub(1))
    }

    pub fn opt_u32(&mut self) -> Result<Option<u32>, DecodeError> {
        match self.opt()? {
            None => Ok(None),
            Some(v) => u32::try_from(v).map(Some).or_else(|_| self.fail("a number is too large for its field")),
        }
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u()?;
        let left = self.data.len() - self.pos;
        let Some(len) = usize::try_from(len).ok().filter(|l| *l <= left) else {
            return self.fail("a length runs past the end of the data");
        };
        let out = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.at();
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError { at, what: "a text is not UTF-8" })
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_string)
    }

    pub fn opt_string(&mut self) -> Result<Option<String>, DecodeError> {
        if self.bool()? { self.string().map(Some) } else { Ok(None) }
    }

    /// How many items a list holds, refused when even one byte each would not fit (so a
    /// damaged count cannot ask for a huge allocation).
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.u()?;
        let left = self.data.len() - self.pos;
        usize::try_from(n).ok().filter(|n| *n <= left).map_or_else(|| self.fail("a count exceeds the data"), Ok)
    }

    /// The next section: its tag and a reader over its body.
    pub fn section(&mut self) -> Result<(u8, Reader<'a>), DecodeError> {
        let tag = self.u8()?;
        let base = self.at();
        let body = self.bytes()?;
        // The body starts after its length prefix.
        let start = self.at() - body.len();
        debug_assert!(start >= base);
        Ok((tag, Reader { data: body, pos: 0, base: start, whole: self.whole }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn numbers_and_bytes_round_trip(vals in proptest::collection::vec(any::<u64>(), 0..50), text in ".*") {
            let mut w = Writer::default();
            for v in &vals {
                w.u(*v);
                w.opt(Some(*v));
            }
            w.str(&text);
            w.opt(None);
            let mut r = Reader::new(&w.buf);
            for v in &vals {
                prop_assert_eq!(r.u().unwrap(), *v);
                prop_assert_eq!(r.opt().unwrap(), Some(v.saturating_add(1) - 1));
            }
            prop_assert_eq!(r.str().unwrap(), text.as_str());
            prop_assert_eq!(r.opt().unwrap(), None);
            prop_assert!(r.is_empty());
            // The same numbers read from a stream, then its end.
            let mut w = Writer::default();
            vals.iter().for_each(|v| w.u(*v));
            let mut stream = &w.buf[..];
            for v in &vals {
                prop_assert_eq!(read_u(&mut stream).unwrap(), Some(*v));
            }
            prop_assert_eq!(read_u(&mut stream).unwrap(), None);
        }

        #[test]
        fn any_bytes_decode_to_an_error_or_a_value(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&data);
            while !r.is_empty() {
                if r.section().is_err() || r.count().is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn a_length_past_the_end_is_an_error_naming_the_byte() {
        let mut w = Writer::default();
        w.u(1000);
        w.buf.extend_from_slice(b"short");
        let e = Reader::new(&w.buf).bytes().unwrap_err();
        assert_eq!(e.what, "a length runs past the end of the data");
        assert_eq!(e.at, 2);
    }
}
