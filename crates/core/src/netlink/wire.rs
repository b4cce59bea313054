//! Bounds-checked, length-tolerant reads of netlink bytes.
//!
//! Kernel structs may be shorter (older kernel) or longer (newer kernel) than the layout we
//! know: a field past the end reads as zero and bytes past what we know are ignored.

pub const NLMSG_HDRLEN: usize = 16;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_DUMP_INTR: u16 = 0x10;

pub fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub fn u16_ne(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes(array(b, off))
}

pub fn u16_be(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes(array(b, off))
}

pub fn u32_ne(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(array(b, off))
}

pub fn u64_ne(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(array(b, off))
}

/// `N` bytes at `off`, zero-filled where the buffer ends early.
pub fn array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = b.get(off..) {
        let n = src.len().min(N);
        out[..n].copy_from_slice(&src[..n]);
    }
    out
}

pub fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One netlink message: its header fields and payload.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// Iterates the messages in one datagram. Stops at the first malformed header (a length
/// shorter than a header or running past the datagram) and reports it through `malformed`.
pub struct Messages<'a> {
    rest: &'a [u8],
    pub malformed: bool,
}

impl<'a> Messages<'a> {
    pub fn new(datagram: &'a [u8]) -> Messages<'a> {
        Messages { rest: datagram, malformed: false }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Message<'a>;
    fn next(&mut self) -> Option<Message<'a>> {
        if self.rest.len() < NLMSG_HDRLEN {
            if !self.rest.is_empty() {
                self.malformed = true;
            }
            return None;
        }
        let len = u32_ne(self.rest, 0) as usize;
        if len < NLMSG_HDRLEN || len > self.rest.len() {
            self.malformed = true;
            self.rest = &[];
            return None;
        }
        let msg = Message {
            kind: u16_ne(self.rest, 4),
            flags: u16_ne(self.rest, 6),
            seq: u32_ne(self.rest, 8),
            payload: &self.rest[NLMSG_HDRLEN..len],
        };
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(msg)
    }
}

/// Iterates netlink attributes (`struct nlattr`/`rtattr`): (type, payload). A malformed
/// attribute ends the iteration; unknown types are the caller's to skip.
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(bytes: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.rest.len() < 4 {
            return None;
        }
        let len = usize::from(u16_ne(self.rest, 0));
        // NLA_TYPE_MASK: the top two bits are the nested / byte-order flags.
        let kind = u16_ne(self.rest, 2) & 0x3fff;
        if len < 4 || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let payload = &self.rest[4..len];
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some((kind, payload))
    }
}

/// Appends a netlink message header for a payload of `payload_len` bytes.
pub fn push_header(buf: &mut Vec<u8>, payload_len: usize, kind: u16, flags: u16, seq: u32) {
    let len = (NLMSG_HDRLEN + payload_len) as u32;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_zero_fill() {
        let b = [1u8, 0, 0];
        assert_eq!(u32_ne(&b, 0), u32::from_ne_bytes([1, 0, 0, 0]));
        assert_eq!(u32_ne(&b, 10), 0);
        assert_eq!(u8_at(&b, 3), 0);
    }

    #[test]
    fn messages_stop_on_bad_length() {
        let mut buf = Vec::new();
        push_header(&mut buf, 4, 20, 0, 1);
        buf.extend_from_slice(&[9, 9, 9, 9]);
        push_header(&mut buf, 100, 20, 0, 1); // claims more than is there
        let mut it = Messages::new(&buf);
        let first = it.next().expect("first message");
        assert_eq!(first.payload, &[9, 9, 9, 9]);
        assert!(it.next().is_none());
        assert!(it.malformed);
    }

    #[test]
    fn attrs_skip_padding_and_stop_on_garbage() {
        // attr type 1 len 5 (1 byte payload + 3 pad), attr type 2 len 8, then garbage length 2
        let bytes = [5, 0, 1, 0, 0xaa, 0, 0, 0, 8, 0, 2, 0, 1, 2, 3, 4, 2, 0, 3, 0];
        let got: Vec<(u16, Vec<u8>)> = Attrs::new(&bytes).map(|(t, p)| (t, p.to_vec())).collect();
        assert_eq!(got, vec![(1, vec![0xaa]), (2, vec![1, 2, 3, 4])]);
    }
}
