//! ss's raw TCP dump format (`ss -D FILE`, read back with `TCPDIAG_FILE=FILE ss`): the
//! sock_diag reply datagrams exactly as the kernel sent them, one dump per IP family, each
//! ending with its NLMSG_DONE. Written by `DiagSocket::dump_tcp_raw`; read by `read`, which
//! stops at the first NLMSG_DONE as ss does (so a file of both families shows its IPv4
//! part, as with ss).

use super::wire::{Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP};
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
}

/// The TCP sockets of a dump file that `sel` selects, appended to `out`; how many were read.
pub fn read(bytes: &[u8], sel: &Selection, out: &mut Vec<Socket>) -> Result<usize, DumpFileError> {
    if bytes.is_empty() {
        return Err(DumpFileError::Empty);
    }
    let mut messages = Messages::new(bytes);
    let mut at = 0usize;
    let mut read = 0;
    for m in messages.by_ref() {
        let here = at;
        at += super::wire::NLMSG_HDRLEN + m.payload.len();
        at = at.next_multiple_of(4).min(bytes.len());
        match m.kind {
            NLMSG_DONE => return Ok(read),
            NLMSG_ERROR => {
                let errno = m.payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                return Err(DumpFileError::KernelError { at: here, errno: -errno });
            }
            NLMSG_NOOP => {}
            super::SOCK_DIAG_BY_FAMILY | super::TCPDIAG_GETSOCK => {
                let s = parse::inet(m.payload, Netid::Tcp).ok_or(DumpFileError::Malformed { at: here })?;
                read += 1;
                if sel.matches(&s) {
                    out.push(s);
                }
            }
            kind => return Err(DumpFileError::NotTcp { at: here, kind }),
        }
    }
    if messages.malformed {
        return Err(DumpFileError::Malformed { at });
    }
    Err(DumpFileError::NoDone { at: bytes.len() })
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
    }
}
