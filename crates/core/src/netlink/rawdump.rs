//! ss's raw TCP dump format (`ss -D FILE`, read back with `TCPDIAG_FILE=FILE ss`): the
//! sock_diag reply datagrams exactly as the kernel sent them, one dump per IP family, each
//! ending with its NLMSG_DONE. Written by `DiagSocket::dump_tcp_raw`; read by `read`, which
//! stops at the first NLMSG_DONE as ss does (so a file of both families shows its IPv4
//! part, as with ss).

use super::wire::{Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP};
use super::{DiagSocket, NetlinkError, parse, request};
use crate::model::Netid;
use crate::select::Selection;
use crate::{Family, Socket};
use rustix::net::RecvFlags;
use std::io::Write;

/// Why a dump file cannot be read: each names where in the file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DumpFileError {
    #[error("it is empty")]
    Empty,
    #[error(
        "a netlink header at byte {at} is malformed or runs past the end (the file is truncated or not an ss -D dump)"
    )]
    Malformed { at: usize },
    #[error("it ends at byte {at} without the NLMSG_DONE that closes a dump (truncated?)")]
    NoDone { at: usize },
    #[error("the dump holds the kernel's error answer {errno} at byte {at}")]
    KernelError { at: usize, errno: i32 },
    #[error("the message at byte {at} is not a TCP socket (type {kind})")]
    NotTcp { at: usize, kind: u16 },
    #[error("it runs past {limit} bytes without the NLMSG_DONE that closes a dump")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Io(String),
}

/// A dump file read past this is refused: about three million sockets' replies.
pub const MAX_DUMP_BYTES: u64 = 1 << 30;
/// A longer netlink message is not one the kernel sends for a socket.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The TCP sockets of a dump read from `input` (a file, a pipe) that `sel` selects,
/// appended to `out`; how many were read. It is read one message at a time, each header
/// checked before its body is read, and never past the first NLMSG_DONE nor
/// `MAX_DUMP_BYTES`: `TCPDIAG_FILE=/dev/zero` is an error at its first 16 bytes.
pub fn read_from(
    input: &mut impl std::io::Read,
    sel: &Selection,
    out: &mut Vec<Socket>,
) -> Result<usize, DumpFileError> {
    let mut at = 0usize;
    let mut read = 0;
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; NLMSG_HDRLEN];
        let got = fill(input, &mut header)?;
        if got == 0 {
            return Err(if at == 0 { DumpFileError::Empty } else { DumpFileError::NoDone { at } });
        }
        let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = u16::from_ne_bytes([header[4], header[5]]);
        if got < NLMSG_HDRLEN || !(NLMSG_HDRLEN..=MAX_MESSAGE_BYTES).contains(&len) {
            return Err(DumpFileError::Malformed { at });
        }
        let padded = len.next_multiple_of(4);
        if (at + padded) as u64 > MAX_DUMP_BYTES {
            return Err(DumpFileError::TooLarge { limit: MAX_DUMP_BYTES });
        }
        message.clear();
        message.resize(padded - NLMSG_HDRLEN, 0);
        // The last message of a file may lack its padding.
        if fill(input, &mut message)? < len - NLMSG_HDRLEN {
            return Err(DumpFileError::Malformed { at });
        }
        let payload = &message[..len - NLMSG_HDRLEN];
        match kind {
            NLMSG_DONE => return Ok(read),
            NLMSG_ERROR => {
                let errno = payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                return Err(DumpFileError::KernelError { at, errno: -errno });
            }
            NLMSG_NOOP => {}
            super::SOCK_DIAG_BY_FAMILY | super::TCPDIAG_GETSOCK => {
                let s = parse::inet(payload, Netid::Tcp).ok_or(DumpFileError::Malformed { at })?;
                read += 1;
                if sel.matches(&s) {
                    out.push(s);
                }
            }
            kind => return Err(DumpFileError::NotTcp { at, kind }),
        }
        at += padded;
    }
}

/// Reads into `buf` until it is full or the input ends; how many bytes came.
fn fill(input: &mut impl std::io::Read, buf: &mut [u8]) -> Result<usize, DumpFileError> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DumpFileError::Io(e.to_string())),
        }
    }
    Ok(got)
}

/// Why a raw dump could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RawDumpError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("cannot write the dump: {0}")]
    Write(std::io::Error),
}

impl DiagSocket {
    /// ss -D: dumps the TCP sockets `sel` selects (with the kernel running `code`), IPv4 then
    /// IPv6 as ss does, writing every reply datagram as received, NLMSG_DONE included.
    pub fn dump_tcp_raw(
        &mut self,
        sel: &Selection,
        ext: u8,
        code: Option<&[u8]>,
        out: &mut dyn Write,
    ) -> Result<(), RawDumpError> {
        for (family, af) in [(Family::Inet, super::AF_INET), (Family::Inet6, super::AF_INET6)] {
            if !sel.has_family(family) {
                continue;
            }
            let req = match code {
                None => request::inet(af, super::IPPROTO_TCP, sel.states, ext),
                Some(code) => request::inet_with_bytecode(af, super::IPPROTO_TCP, sel.states, ext, code)
                    .ok_or(NetlinkError::ProgramTooLong { len: code.len() })?,
            };
            let seq = self.send("tcp", super::SOCK_DIAG_BY_FAMILY, super::NLM_F_REQUEST | super::NLM_F_DUMP, &req)?;
            'replies: loop {
                let (n, _) = super::retry_eintr(|| rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()))
                    .map_err(|errno| NetlinkError::Io { table: "tcp", errno })?;
                let datagram = &self.buf[..n];
                let mut done = false;
                let mut ours = false;
                let mut messages = Messages::new(datagram);
                for m in messages.by_ref() {
                    if m.seq != seq {
                        continue;
                    }
                    ours = true;
                    match m.kind {
                        NLMSG_DONE => done = true,
                        NLMSG_ERROR => return Err(super::error_status("tcp", m.payload).into()),
                        _ => {}
                    }
                }
                if messages.malformed {
                    return Err(NetlinkError::Malformed { table: "tcp" }.into());
                }
                if ours {
                    out.write_all(datagram).map_err(RawDumpError::Write)?;
                }
                if done {
                    break 'replies;
                }
            }
        }
        out.flush().map_err(RawDumpError::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], sel: &Selection, out: &mut Vec<Socket>) -> Result<usize, DumpFileError> {
        read_from(&mut &bytes[..], sel, out)
    }
    use crate::netlink::wire;

    fn message(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        wire::push_header(&mut m, payload.len(), kind, 0, 123456);
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn damaged_files_are_named_errors() {
        let sel = Selection::all();
        let mut out = Vec::new();
        assert_eq!(read(b"", &sel, &mut out), Err(DumpFileError::Empty));
        assert!(matches!(read(b"not a dump at all", &sel, &mut out), Err(DumpFileError::Malformed { .. })));
        let done = message(NLMSG_DONE, &0i32.to_ne_bytes());
        assert_eq!(read(&done, &sel, &mut out), Ok(0));
        let noop = message(NLMSG_NOOP, &[]);
        assert_eq!(read(&noop, &sel, &mut out), Err(DumpFileError::NoDone { at: noop.len() }));
        let err = message(NLMSG_ERROR, &(-13i32).to_ne_bytes());
        assert_eq!(read(&err, &sel, &mut out), Err(DumpFileError::KernelError { at: 0, errno: 13 }));
        let other = message(99, &[0; 8]);
        assert_eq!(read(&other, &sel, &mut out), Err(DumpFileError::NotTcp { at: 0, kind: 99 }));
        let short = message(super::super::SOCK_DIAG_BY_FAMILY, &[0; 8]);
        assert_eq!(read(&short, &sel, &mut out), Err(DumpFileError::Malformed { at: 0 }));
        let mut cut = done.clone();
        cut.truncate(10);
        assert!(matches!(read(&cut, &sel, &mut out), Err(DumpFileError::Malformed { .. })));
        // Endless input ends at its first header; a header claiming more than a message
        // holds is malformed before its body is read.
        let mut zero = std::io::Read::take(std::io::repeat(0), 1 << 40);
        assert_eq!(read_from(&mut zero, &sel, &mut out), Err(DumpFileError::Malformed { at: 0 }));
        let mut huge = vec![0u8; 16];
        huge[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(read(&huge, &sel, &mut out), Err(DumpFileError::Malformed { at: 0 }));
    }
}
