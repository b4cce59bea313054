//! Every process's socket fds, listed by the kernel itself: a BPF program on the kernel's
//! `task_file` iterator writes (pid, fd, inode) for each socket in each fd table. It takes
//! the place of a readlink of /proc/PID/fd/N per fd (a path lookup, a permission check and
//! a formatted name each: about 1.5 core-seconds at a million sockets) with one pass in the
//! kernel, and reads nothing else: no process is stopped, entered or changed.
//!
//! It lists what the /proc walk lists: the tables of thread-group leaders (/proc/PID/fd
//! shows the leader's), with pids as the initial pid namespace numbers them. So it is used
//! only where those are the pids /proc shows (`usable_with`). Where it cannot load (no BTF,
//! no CAP_BPF and CAP_PERFMON, an older kernel), the /proc walk does the job.

use crate::btf::{Btf, BtfError};
use crate::sys;
use rustix::io::Errno;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Why the iterator is not used; the /proc walk is, with the same answer.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("reading the kernel's BTF: {0}")]
    Btf(#[from] std::io::Error),
    #[error("{0}")]
    Types(#[from] BtfError),
    #[error("a field of {0} is not the size the program reads")]
    Size(&'static str),
    #[error("loading the program: {errno}: {log}")]
    Load { errno: Errno, log: String },
    #[error("attaching the program: {0}")]
    Attach(Errno),
    #[error("sockscope has neither CAP_BPF with CAP_PERFMON nor CAP_SYS_ADMIN")]
    Capability,
}

/// A loaded and attached iterator program; each `read` is one pass over every task.
pub struct SocketFds {
    link: OwnedFd,
    _prog: OwnedFd,
}

/// One record the program writes: pid, fd, inode (native byte order).
const RECORD: usize = 16;
/// `S_IFMT` and `S_IFSOCK` of an inode's mode.
const S_IFMT: i32 = 0o170000;
const S_IFSOCK: i32 = 0o140000;
/// bpf_seq_write, the helper that appends to the iterator's output.
const HELPER_SEQ_WRITE: i32 = 127;

/// Where the program reads: offsets in this kernel's structs.
struct Layout {
    meta: i16,
    task: i16,
    fd: i16,
    file: i16,
    seq: i16,
    pid: i16,
    tgid: i16,
    f_inode: i16,
    i_mode: i16,
    i_ino: i16,
}

impl Layout {
    fn of(btf: &Btf) -> Result<Layout, Unavailable> {
        // (offset, size) of a field whose size must be `size`.
        let at = |s: &'static str, f: &str, size: u32| -> Result<i16, Unavailable> {
            let (offset, got) = btf.field(s, f)?;
            if got != size {
                return Err(Unavailable::Size(s));
            }
            i16::try_from(offset).map_err(|_| Unavailable::Size(s))
        };
        Ok(Layout {
            meta: at("bpf_iter__task_file", "meta", 8)?,
            task: at("bpf_iter__task_file", "task", 8)?,
            fd: at("bpf_iter__task_file", "fd", 4)?,
            file: at("bpf_iter__task_file", "file", 8)?,
            seq: at("bpf_iter_meta", "seq", 8)?,
            pid: at("task_struct", "pid", 4)?,
            tgid: at("task_struct", "tgid", 4)?,
            f_inode: at("file", "f_inode", 8)?,
            i_mode: at("inode", "i_mode", 2)?,
            i_ino: at("inode", "i_ino", 8)?,
        })
    }
}

/// One BPF instruction: opcode, registers, offset, immediate.
fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut i = [0u8; 8];
    i[0] = op;
    i[1] = (src << 4) | (dst & 0x0f);
    i[2..4].copy_from_slice(&off.to_le_bytes());
    i[4..8].copy_from_slice(&imm.to_le_bytes());
    i
}

const LDX_DW: u8 = 0x79;
const LDX_W: u8 = 0x61;
const LDX_H: u8 = 0x69;
const STX_W: u8 = 0x63;
const STX_DW: u8 = 0x7b;
const JEQ_IMM: u8 = 0x15;
const JNE_IMM: u8 = 0x55;
const JNE_REG: u8 = 0x5d;
const AND_IMM: u8 = 0x57;
const ADD_IMM: u8 = 0x07;
const MOV_IMM: u8 = 0xb7;
const MOV_REG: u8 = 0xbf;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

/// The program, for each (task, fd, file) the iterator visits:
/// a thread-group leader's fd whose inode is a socket → write (tgid, fd, i_ino).
/// Tasks and files may be NULL (the iterator's last call); other threads are skipped, as
/// /proc/PID/fd shows the leader's table.
fn program(l: &Layout) -> Vec<[u8; 8]> {
    // Jumps go to the `exit` label, the last two instructions: offsets are filled in below.
    let mut p = vec![
        insn(LDX_DW, 6, 1, l.meta, 0),    // r6 = ctx->meta
        insn(LDX_DW, 7, 1, l.task, 0),    // r7 = ctx->task
        insn(LDX_DW, 8, 1, l.file, 0),    // r8 = ctx->file
        insn(LDX_W, 9, 1, l.fd, 0),       // r9 = ctx->fd
        insn(JEQ_IMM, 7, 0, 0, 0),        // no task: exit
        insn(JEQ_IMM, 8, 0, 0, 0),        // no file: exit
        insn(LDX_W, 2, 7, l.pid, 0),      // r2 = task->pid
        insn(LDX_W, 5, 7, l.tgid, 0),     // r5 = task->tgid
        insn(JNE_REG, 2, 5, 0, 0),        // not the leader: exit
        insn(LDX_DW, 2, 8, l.f_inode, 0), // r2 = file->f_inode
        insn(JEQ_IMM, 2, 0, 0, 0),        // no inode: exit
        insn(LDX_H, 3, 2, l.i_mode, 0),   // r3 = inode->i_mode
        insn(AND_IMM, 3, 0, 0, S_IFMT),
        insn(JNE_IMM, 3, 0, 0, S_IFSOCK), // not a socket: exit
        insn(LDX_DW, 4, 2, l.i_ino, 0),   // r4 = inode->i_ino
        insn(STX_W, 10, 5, -16, 0),       // record: tgid, fd, inode
        insn(STX_W, 10, 9, -12, 0),
        insn(STX_DW, 10, 4, -8, 0),
        insn(LDX_DW, 1, 6, l.seq, 0), // r1 = meta->seq
        insn(MOV_REG, 2, 10, 0, 0),   // r2 = the record
        insn(ADD_IMM, 2, 0, 0, -16),
        insn(MOV_IMM, 3, 0, 0, RECORD as i32),
        insn(CALL, 0, 0, 0, HELPER_SEQ_WRITE),
        insn(MOV_IMM, 0, 0, 0, 0), // exit: return 0
        insn(EXIT, 0, 0, 0, 0),
    ];
    let exit = p.len() - 2;
    for (at, i) in p.iter_mut().enumerate().take(exit) {
        if matches!(i[0], JEQ_IMM | JNE_IMM | JNE_REG) {
            let off = (exit - at - 1) as i16;
            i[2..4].copy_from_slice(&off.to_le_bytes());
        }
    }
    p
}

impl SocketFds {
    /// Builds the program for this kernel's layout, loads and attaches it.
    pub fn load() -> Result<SocketFds, Unavailable> {
        // Without them the load is refused: not worth reading 5 MB of BTF to learn it.
        if !may_load() {
            return Err(Unavailable::Capability);
        }
        let btf = Btf::vmlinux()?;
        let target = btf.func("bpf_iter_task_file")?;
        let insns = program(&Layout::of(&btf)?);
        let prog = match sys::load_iterator(&insns, c"GPL", b"sockscope_fds", target, &mut []) {
            Ok(p) => p,
            Err(_) => {
                // Again with the verifier's log, to say why.
                let mut log = vec![0u8; 64 * 1024];
                let errno = match sys::load_iterator(&insns, c"GPL", b"sockscope_fds", target, &mut log) {
                    Ok(p) => return SocketFds::attach(p),
                    Err(e) => e,
                };
                let text = String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(0)]);
                let log = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
                return Err(Unavailable::Load { errno, log });
            }
        };
        SocketFds::attach(prog)
    }

    fn attach(prog: OwnedFd) -> Result<SocketFds, Unavailable> {
        let link = sys::iterator_link(prog.as_fd()).map_err(Unavailable::Attach)?;
        Ok(SocketFds { link, _prog: prog })
    }

    /// One pass: `each(pid, fd, inode)` for every socket fd of every process, in pid order.
    /// An error part way means the pass is incomplete: the caller must not use what it saw.
    pub fn read(&self, mut each: impl FnMut(u32, u32, u64)) -> Result<(), Errno> {
        let iter = sys::open_iterator(self.link.as_fd())?;
        let mut buf = vec![0u8; 64 * 1024];
        // Bytes of a record cut by the end of a read, kept for the next.
        let mut held = 0usize;
        loop {
            let n = match rustix::io::read(&iter, &mut buf[held..]) {
                Ok(n) => n,
                Err(Errno::INTR | Errno::AGAIN) => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return if held == 0 { Ok(()) } else { Err(Errno::IO) };
            }
            let filled = held + n;
            let whole = filled - filled % RECORD;
            for r in buf[..whole].chunks_exact(RECORD) {
                let word = |at: usize| u32::from_ne_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
                let inode = u64::from_ne_bytes([r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]]);
                each(word(0), word(4), inode);
            }
            buf.copy_within(whole..filled, 0);
            held = filled - whole;
        }
    }
}

/// Whether sockscope's effective capabilities let it load a tracing program: CAP_BPF (39)
/// with CAP_PERFMON (38), or CAP_SYS_ADMIN (21). Unknown (no /proc/self/status): try.
fn may_load() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return true };
    let effective = status.lines().find_map(|l| l.strip_prefix("CapEff:")).map(str::trim);
    let Some(caps) = effective.and_then(|hex| u64::from_str_radix(hex, 16).ok()) else { return true };
    let has = |bit: u32| caps & (1 << bit) != 0;
    has(21) || (has(38) && has(39))
}

/// PROC_PID_INIT_INO: the initial pid namespace's inode number, fixed in the kernel.
const INITIAL_PID_NS: u64 = 0xEFFF_FFFC;

/// Whether the iterator's pids are the ones `proc_root` shows: it is the real /proc, of
/// sockscope's own pid namespace, and that namespace is the initial one.
pub fn usable_with(proc_root: &Path) -> bool {
    let ours = rustix::process::getpid().as_raw_nonzero().get().to_string();
    proc_root == Path::new("/proc")
        && rustix::fs::stat("/proc/self/ns/pid").is_ok_and(|s| s.st_ino == INITIAL_PID_NS)
        && std::fs::read_link("/proc/self").is_ok_and(|l| l.as_os_str() == ours.as_str())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::os::unix::net::UnixStream;
    use std::process::{Command, Stdio};

    /// A child holding sockets as its fds 0, 1 and 2: what the iterator lists for it equals
    /// what readlink of /proc/PID/fd says. Skipped only where BPF cannot load at all.
    #[test]
    fn lists_what_proc_lists_for_a_process_it_made() {
        let socket_fds = match SocketFds::load() {
            Ok(s) => s,
            Err(e) if !rustix::process::geteuid().is_root() || !Path::new("/sys/kernel/btf/vmlinux").exists() => {
                let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("skipped: {e}\n").as_bytes());
                return;
            }
            Err(e) => panic!("the iterator does not load as root on a kernel with BTF: {e}"),
        };
        let (a, _a) = UnixStream::pair().expect("pair");
        let (b, _b) = UnixStream::pair().expect("pair");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::from(OwnedFd::from(a)))
            .stdout(Stdio::from(OwnedFd::from(b)))
            .stderr(Stdio::from(OwnedFd::from(tcp)))
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        asleep(pid);
        let mut seen = BTreeSet::new();
        socket_fds
            .read(|p, fd, inode| {
                if p == pid {
                    seen.insert((fd, inode));
                }
            })
            .expect("read the iterator");
        let mut want = BTreeSet::new();
        for fd in 0..3u32 {
            let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).expect("readlink");
            let inode = link.to_str().and_then(|l| l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok());
            want.insert((fd, inode.expect("a socket")));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(seen, want);
    }

    /// Waits until `pid` sleeps in its new program: a child is let go by `spawn` before its
    /// exec has closed the fds it inherited (they are the parent's until then).
    pub(crate) fn asleep(pid: u32) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('S')) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{pid} did not go to sleep: {stat}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Inside a pid namespace of its own (with its own /proc), the iterator's pids are not
    /// the ones /proc shows: the walk must not use it. Runs this test again in one.
    #[test]
    fn not_used_where_procs_pids_are_another_namespaces() {
        assert!(!usable_with(Path::new("/tmp")));
        if std::env::var_os("SOCKSCOPE_TEST_IN_PID_NS").is_some() {
            assert!(!usable_with(Path::new("/proc")), "inside a new pid namespace");
            return;
        }
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(exe)
            .args(["--exact", "fd_iterator::tests::not_used_where_procs_pids_are_another_namespaces"])
            .env("SOCKSCOPE_TEST_IN_PID_NS", "1")
            .output()
            .expect("run unshare");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn jumps_land_on_the_exit() {
        let l = Layout { meta: 0, task: 8, fd: 16, file: 24, seq: 0, pid: 1, tgid: 2, f_inode: 3, i_mode: 4, i_ino: 5 };
        let p = program(&l);
        for (at, i) in p.iter().enumerate() {
            if matches!(i[0], JEQ_IMM | JNE_IMM | JNE_REG) {
                let off = i16::from_le_bytes([i[2], i[3]]) as usize;
                assert_eq!(at + 1 + off, p.len() - 2);
            }
        }
    }
}
