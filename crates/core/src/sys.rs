//! The crate's one module with unsafe code: the `bpf(2)` system call, which neither rustix
//! nor nix offers. Each wrapper builds its `union bpf_attr` from references it holds for
//! the whole call, so every pointer handed to the kernel is valid while the kernel reads it.

#![allow(unsafe_code)]

use rustix::io::Errno;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_LINK_CREATE: libc::c_int = 28;
const BPF_ITER_CREATE: libc::c_int = 33;
const BPF_PROG_TYPE_TRACING: u32 = 26;
pub(crate) const BPF_TRACE_ITER: u32 = 28;

/// `bpf(cmd, attr, size)`; the new fd it returns.
fn bpf(cmd: libc::c_int, attr: &mut [u8]) -> Result<OwnedFd, Errno> {
    // SAFETY: `attr` is a live, writable buffer of `attr.len()` bytes for the whole call;
    // the kernel reads (and for some commands writes) at most that many. Any pointers
    // inside it were made by the callers below from references that outlive this call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if r < 0 {
        return Err(Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL)));
    }
    let fd = libc::c_int::try_from(r).map_err(|_| Errno::INVAL)?;
    // SAFETY: on success these commands return a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn put_u32(attr: &mut [u8], at: usize, v: u32) {
    attr[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_u64(attr: &mut [u8], at: usize, v: u64) {
    attr[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

/// Loads a BPF iterator program (`BPF_PROG_TYPE_TRACING`, attached to the iterator whose
/// function has BTF id `attach_btf_id`). The verifier's log goes into `log` (on failure).
pub(crate) fn load_iterator(
    insns: &[[u8; 8]],
    license: &CStr,
    name: &[u8],
    attach_btf_id: u32,
    log: &mut [u8],
) -> Result<OwnedFd, Errno> {
    // The fields of `union bpf_attr` for BPF_PROG_LOAD, by offset (include/uapi/linux/bpf.h).
    let mut attr = [0u8; 128];
    put_u32(&mut attr, 0, BPF_PROG_TYPE_TRACING);
    put_u32(&mut attr, 4, u32::try_from(insns.len()).map_err(|_| Errno::TOOBIG)?);
    put_u64(&mut attr, 8, insns.as_ptr() as u64);
    put_u64(&mut attr, 16, license.as_ptr() as u64);
    put_u32(&mut attr, 24, u32::from(!log.is_empty()));
    put_u32(&mut attr, 28, u32::try_from(log.len()).map_err(|_| Errno::TOOBIG)?);
    // No log: a null buffer (an empty slice's pointer is not null, and the kernel refuses
    // a buffer of size 0).
    put_u64(&mut attr, 32, if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 });
    let name = &name[..name.len().min(15)];
    attr[48..48 + name.len()].copy_from_slice(name);
    put_u32(&mut attr, 68, BPF_TRACE_ITER);
    put_u32(&mut attr, 108, attach_btf_id);
    bpf(BPF_PROG_LOAD, &mut attr)
}

/// Attaches an iterator program: a link from which iterators are opened.
pub(crate) fn iterator_link(prog: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut attr = [0u8; 64];
    put_u32(&mut attr, 0, prog.as_raw_fd() as u32);
    put_u32(&mut attr, 8, BPF_TRACE_ITER);
    bpf(BPF_LINK_CREATE, &mut attr)
}

/// A new iterator: each read runs the program over the next objects.
pub(crate) fn open_iterator(link: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut attr = [0u8; 8];
    put_u32(&mut attr, 0, link.as_raw_fd() as u32);
    bpf(BPF_ITER_CREATE, &mut attr)
}
