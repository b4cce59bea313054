//! Filter → inet_diag bytecode (INET_DIAG_REQ_BYTECODE), so the kernel drops non-matching
//! TCP/UDP/raw sockets before sending them.
//!
//! A compiled fragment of length L ends at offset L when its condition holds and at L + 4
//! when it does not; every `yes` jump is to the next op (the kernel's audit walks `yes`
//! only), and `no` jumps go forward to an op boundary, to L, or to L + 4. `and`, `or` and
//! `not` combine fragments as ss does.

use super::ast::{Cmp, Device, Expr, HostMatch, Pred, Side};
use std::net::IpAddr;

const BC_NOP: u8 = 0;
const BC_JMP: u8 = 1;
const BC_S_GE: u8 = 2;
const BC_S_LE: u8 = 3;
const BC_D_GE: u8 = 4;
const BC_D_LE: u8 = 5;
const BC_AUTO: u8 = 6;
const BC_S_COND: u8 = 7;
const BC_D_COND: u8 = 8;
const BC_DEV_COND: u8 = 9;
const BC_MARK_COND: u8 = 10;
const BC_CGROUP_COND: u8 = 13;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// The longest program the kernel can be given: INET_DIAG_REQ_BYTECODE's 16-bit length
/// holds the program and its 4-byte header, and every jump is a 16-bit offset. A longer one
/// cast to 16 bits would be truncated — and the kernel accepts some truncated programs,
/// which would then drop sockets the filter selects.
pub const MAX_LEN: usize = u16::MAX as usize - 4;

/// What compiling a filter gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    Program(Vec<u8>),
    /// Some condition has no bytecode form (Unix paths, states, owners, unresolved names).
    NoForm,
    /// The program would be longer than `MAX_LEN`.
    TooLong,
}

impl Compiled {
    pub fn program(self) -> Option<Vec<u8>> {
        match self {
            Compiled::Program(p) => Some(p),
            _ => None,
        }
    }
}

/// The bytecode for `expr`; when there is none, user space alone filters.
pub fn compile(expr: &Expr) -> Compiled {
    match build(expr) {
        Ok(code) => Compiled::Program(code),
        Err(why) => why,
    }
}

fn build(expr: &Expr) -> Result<Vec<u8>, Compiled> {
    let code = match expr {
        Expr::Pred(p) => atom(p).ok_or(Compiled::NoForm)?,
        Expr::And(xs) => chain(xs, true, |x, y| {
            check_len(x.len() + y.len())?;
            let l1 = x.len();
            // The "false" exits so far (l1 + 4) now go past y, to the end's "false".
            retarget(x, l1 + 4, l1 + y.len() + 4);
            x.extend_from_slice(&y);
            Ok(())
        })?,
        Expr::Or(xs) => chain(xs, false, |x, y| {
            check_len(x.len() + 4 + y.len())?;
            // So far true: fall onto a JMP over y to the end. So far false: land on y (l1 + 4).
            push_op(x, BC_JMP, 4, jump(y.len() + 4)?);
            x.extend_from_slice(&y);
            Ok(())
        })?,
        Expr::Not(a) => {
            let mut x = build(a)?;
            check_len(x.len() + 4)?;
            // a true: the JMP goes to L + 4 (false). a false: lands at L (true).
            push_op(&mut x, BC_JMP, 4, 8);
            x
        }
    };
    check_len(code.len())?;
    Ok(code)
}

/// Compiles each operand of an `and`/`or` list and joins it to the program so far; an empty
/// list (which the parser never makes) is the constant `empty`.
fn chain(
    xs: &[Expr],
    empty: bool,
    mut join: impl FnMut(&mut Vec<u8>, Vec<u8>) -> Result<(), Compiled>,
) -> Result<Vec<u8>, Compiled> {
    let mut parts = xs.iter().map(build);
    let Some(first) = parts.next() else {
        let mut b = Vec::new();
        constant(&mut b, empty);
        return Ok(b);
    };
    let mut x = first?;
    for y in parts {
        join(&mut x, y?)?;
    }
    Ok(x)
}

fn check_len(len: usize) -> Result<(), Compiled> {
    if len > MAX_LEN { Err(Compiled::TooLong) } else { Ok(()) }
}

/// A jump offset, which the kernel reads as 16 bits.
fn jump(offset: usize) -> Result<u16, Compiled> {
    u16::try_from(offset).map_err(|_| Compiled::TooLong)
}

fn atom(p: &Pred) -> Option<Vec<u8>> {
    let mut b = Vec::new();
    match p {
        Pred::Host { side, host: HostMatch::Inet { net, port } } => {
            let code = if *side == Side::Src { BC_S_COND } else { BC_D_COND };
            let (family, len, addr): (u8, u8, Vec<u8>) = match net {
                None => (0, 0, Vec::new()),
                Some((IpAddr::V4(a), l)) => (AF_INET, *l, a.octets().to_vec()),
                Some((IpAddr::V6(a), l)) => (AF_INET6, *l, a.octets().to_vec()),
            };
            // 4 + 8 + 16 at most: fits the 8-bit `yes` jump.
            let size = 4 + 8 + addr.len() as u8;
            push_op(&mut b, code, size, u16::from(size) + 4);
            // struct inet_diag_hostcond { u8 family; u8 prefix_len; int port; be32 addr[]; }
            b.extend_from_slice(&[family, len, 0, 0]);
            b.extend_from_slice(&port.map_or(-1i32, i32::from).to_ne_bytes());
            b.extend_from_slice(&addr);
        }
        Pred::Port { side, cmp, port } => {
            let (ge, le) = if *side == Side::Src { (BC_S_GE, BC_S_LE) } else { (BC_D_GE, BC_D_LE) };
            let (code, value) = match cmp {
                Cmp::Ge => (ge, Some(*port)),
                Cmp::Le => (le, Some(*port)),
                Cmp::Gt => (ge, port.checked_add(1)),
                Cmp::Lt => (le, port.checked_sub(1)),
            };
            match value {
                Some(v) => {
                    push_op(&mut b, code, 8, 12);
                    push_op(&mut b, 0, 0, v);
                }
                None => constant(&mut b, false), // `< 0` or `> 65535`
            }
        }
        Pred::Dev(Device::Index(i)) => {
            push_op(&mut b, BC_DEV_COND, 8, 12);
            b.extend_from_slice(&i.to_ne_bytes());
        }
        Pred::Fwmark { mark, mask } => {
            push_op(&mut b, BC_MARK_COND, 12, 16);
            b.extend_from_slice(&mark.to_ne_bytes());
            b.extend_from_slice(&mask.to_ne_bytes());
        }
        Pred::Cgroup { id: Some(id), .. } => {
            push_op(&mut b, BC_CGROUP_COND, 12, 16);
            b.extend_from_slice(&id.to_ne_bytes());
        }
        Pred::Autobound => push_op(&mut b, BC_AUTO, 4, 8),
        Pred::Host { host: HostMatch::Unix(_), .. }
        | Pred::Dev(Device::Name(_) | Device::PerNetns(..))
        | Pred::Cgroup { id: None, .. }
        | Pred::State(_)
        | Pred::Pid(_)
        | Pred::Comm(_)
        | Pred::Netns(_)
        | Pred::Container(_) => return None,
    }
    Some(b)
}

/// NOP always continues (true); JMP always takes its `no` (false).
fn constant(b: &mut Vec<u8>, value: bool) {
    push_op(b, if value { BC_NOP } else { BC_JMP }, 4, 8);
}

fn push_op(b: &mut Vec<u8>, code: u8, yes: u8, no: u16) {
    b.push(code);
    b.push(yes);
    b.extend_from_slice(&no.to_ne_bytes());
}

/// Walks the ops of a fragment (following `yes`, which is always the op's size) and moves
/// every `no` jump that lands on `from` to land on `to` instead.
fn retarget(code: &mut [u8], from: usize, to: usize) {
    let mut pos = 0;
    while pos + 4 <= code.len() {
        let yes = usize::from(code[pos + 1]);
        let no = usize::from(u16::from_ne_bytes([code[pos + 2], code[pos + 3]]));
        if (code[pos] != 0 || yes != 0) && pos + no == from {
            // `to` is at most MAX_LEN + 4 (the caller checked the length): fits 16 bits.
            let new = u16::try_from(to - pos).unwrap_or(u16::MAX);
            code[pos + 2..pos + 4].copy_from_slice(&new.to_ne_bytes());
        }
        if yes == 0 {
            break;
        }
        pos += yes;
    }
}

/// What the kernel's bytecode sees of a socket (struct inet_diag_entry). Test support (unit
/// tests and the fuzz target, through the `testing` feature), not part of the library.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone)]
pub struct Entry {
    pub family: u8,
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    pub ifindex: u32,
    pub mark: u32,
    pub cgroup_id: u64,
    pub autobound: bool,
}

#[cfg(any(test, feature = "testing"))]
impl Entry {
    /// What the kernel's bytecode would see of this socket (autobound unknown: false).
    pub fn of(s: &crate::model::Socket) -> Entry {
        use crate::model::{Endpoint, Family};
        let bytes = |ep: &Endpoint| match ep {
            Endpoint::Inet { address: IpAddr::V4(a), .. } => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&a.octets());
                b
            }
            Endpoint::Inet { address: IpAddr::V6(a), .. } => a.octets(),
            _ => [0; 16],
        };
        Entry {
            family: if s.family == Family::Inet6 { AF_INET6 } else { AF_INET },
            saddr: bytes(&s.local),
            daddr: bytes(&s.peer),
            sport: s.local.port().unwrap_or(0),
            dport: s.peer.port().unwrap_or(0),
            ifindex: s.interface,
            mark: s.mark.unwrap_or(0),
            cgroup_id: s.cgroup_id.map_or(0, |c| c.get()),
            autobound: false,
        }
    }
}

/// The program as text, one instruction a line (`sockscope -b`): offset, operation and
/// operands, and where it goes on yes and on no (`end` = accept, `reject`).
pub fn disassemble(bc: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let target = |to: usize| {
        if to == bc.len() {
            "accept".to_string()
        } else if to > bc.len() {
            "reject".to_string()
        } else {
            to.to_string()
        }
    };
    while pos + 4 <= bc.len() {
        let op = |off: usize| bc.get(pos + off).copied().unwrap_or(0);
        let (code, yes, no) = (op(0), usize::from(op(1)), usize::from(u16::from_ne_bytes([op(2), op(3)])));
        let arg16 = u16::from_ne_bytes([op(6), op(7)]);
        let u32_at = |off: usize| u32::from_ne_bytes([op(off), op(off + 1), op(off + 2), op(off + 3)]);
        let what = match code {
            BC_NOP => "nop".to_string(),
            BC_JMP => "jmp".to_string(),
            BC_S_GE => format!("sport >= {arg16}"),
            BC_S_LE => format!("sport <= {arg16}"),
            BC_D_GE => format!("dport >= {arg16}"),
            BC_D_LE => format!("dport <= {arg16}"),
            BC_AUTO => "autobound".to_string(),
            BC_S_COND | BC_D_COND => {
                let side = if code == BC_S_COND { "src" } else { "dst" };
                let (family, plen) = (op(4), op(5));
                let port = i32::from_ne_bytes([op(8), op(9), op(10), op(11)]);
                let addr = match family {
                    AF_INET => IpAddr::from(std::array::from_fn::<u8, 4, _>(|i| op(12 + i))).to_string(),
                    AF_INET6 => IpAddr::from(std::array::from_fn::<u8, 16, _>(|i| op(12 + i))).to_string(),
                    _ => "*".to_string(),
                };
                let port = if port == -1 { "*".to_string() } else { port.to_string() };
                format!("{side} {addr}/{plen} port {port}")
            }
            BC_DEV_COND => format!("dev {}", u32_at(4)),
            BC_MARK_COND => format!("fwmark {:#x}/{:#x}", u32_at(4), u32_at(8)),
            BC_CGROUP_COND => format!("cgroup {}", u64::from(u32_at(4)) | (u64::from(u32_at(8)) << 32)),
            other => format!("op {other}"),
        };
        out.push(format!("{pos:5}: {what:<40} yes {} no {}", target(pos + yes), target(pos + no)));
        if yes == 0 {
            break;
        }
        pos += yes;
    }
    out
}

/// A faithful copy of the kernel's `inet_diag_bc_run` (net/ipv4/inet_diag.c), used by tests
/// to check that compiled bytecode means what the user-space evaluator means.
#[cfg(any(test, feature = "testing"))]
pub fn run(bc: &[u8], e: &Entry) -> bool {
    let mut pos = 0usize;
    let mut len = bc.len() as isize;
    while len > 0 {
        let op = |off: usize| bc.get(pos + off).copied().unwrap_or(0);
        let code = op(0);
        let yes_jump = usize::from(op(1));
        let no_jump = usize::from(u16::from_ne_bytes([op(2), op(3)]));
        let arg16 = u16::from_ne_bytes([op(6), op(7)]);
        let yes = match code {
            BC_NOP => true,
            BC_JMP => false,
            BC_S_GE => e.sport >= arg16,
            BC_S_LE => e.sport <= arg16,
            BC_D_GE => e.dport >= arg16,
            BC_D_LE => e.dport <= arg16,
            BC_AUTO => e.autobound,
            BC_S_COND | BC_D_COND => {
                let family = op(4);
                let plen = op(5);
                let port = i32::from_ne_bytes([op(8), op(9), op(10), op(11)]);
                let (addr, p) = if code == BC_S_COND { (&e.saddr, e.sport) } else { (&e.daddr, e.dport) };
                let alen = if family == AF_INET { 4 } else { 16 };
                let want: Vec<u8> = (0..alen).map(|i| op(12 + i)).collect();
                // The kernel's order: port, family (AF_UNSPEC matches any), then prefix.
                if port != -1 && port != i32::from(p) {
                    false
                } else if family != 0 && family != e.family {
                    e.family == AF_INET6
                        && family == AF_INET
                        && addr[..10] == [0; 10]
                        && addr[10..12] == [0xff, 0xff]
                        && super::eval::bits_match(&addr[12..16], &want, plen)
                } else {
                    plen == 0 || super::eval::bits_match(&addr[..alen], &want, plen)
                }
            }
            BC_DEV_COND => e.ifindex == u32::from_ne_bytes([op(4), op(5), op(6), op(7)]),
            BC_MARK_COND => {
                let mark = u32::from_ne_bytes([op(4), op(5), op(6), op(7)]);
                let mask = u32::from_ne_bytes([op(8), op(9), op(10), op(11)]);
                e.mark & mask == mark
            }
            BC_CGROUP_COND => e.cgroup_id == u64::from_ne_bytes(std::array::from_fn(|i| op(4 + i))),
            _ => return false,
        };
        let jump = if yes { yes_jump } else { no_jump };
        if jump == 0 {
            return false;
        }
        pos += jump;
        len -= jump as isize;
    }
    len == 0
}
