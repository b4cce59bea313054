//! The kernel's own type information (BTF, /sys/kernel/btf/vmlinux), read for what a BPF
//! program needs to know of this kernel: the id of a function and where a field sits in a
//! struct. Offsets differ between kernel builds, so they are asked here, never assumed.
//!
//! Format: a header, then a type section (12-byte records, each followed by kind-specific
//! data) and a string section. Every read is bounds-checked; a malformed file is an error.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("BTF is malformed: {0}")]
    Malformed(&'static str),
    #[error("BTF has no {0}")]
    Missing(String),
}

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One struct or union member: name, type id, offset in bits, whether it is a bitfield.
#[derive(Clone, Copy, Debug)]
struct Member {
    name: u32,
    type_id: u32,
    bit_offset: u32,
    bitfield: bool,
}

/// The types of one BTF blob. Only where each type's record starts is worked out when it is
/// read; names and members are looked at when asked (a few lookups a run, over 100k+ types:
/// building maps of them all cost more than the lookups).
pub struct Btf {
    data: Vec<u8>,
    /// Where the type and string sections are in `data`.
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
    /// `records[id - 1]`: the offset of type `id`'s record in the type section.
    records: Vec<u32>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// A type's record: name offset, kind, member count, kind flag, size or referred type.
#[derive(Clone, Copy)]
struct Head {
    name: u32,
    kind: u32,
    vlen: usize,
    kind_flag: bool,
    size_or_type: u32,
}

impl Btf {
    /// The running kernel's types.
    pub fn vmlinux() -> Result<Btf, std::io::Error> {
        let data = std::fs::read("/sys/kernel/btf/vmlinux")?;
        Btf::parse(data).map_err(std::io::Error::other)
    }

    /// Parses a little-endian BTF blob (the host's own byte order on the kernels we read).
    pub fn parse(data: Vec<u8>) -> Result<Btf, BtfError> {
        let bad = BtfError::Malformed;
        if u16_at(&data, 0) != Some(MAGIC) {
            return Err(bad("not BTF (or not little-endian)"));
        }
        let header = |at| u32_at(&data, at).map(|v| v as usize).ok_or(bad("short header"));
        let (hdr_len, type_off, type_len, str_off, str_len) =
            (header(4)?, header(8)?, header(12)?, header(16)?, header(20)?);
        let section = |off: usize, len: usize| {
            let start = hdr_len.checked_add(off).ok_or(bad("section past the end"))?;
            let end = start.checked_add(len).filter(|&e| e <= data.len()).ok_or(bad("section past the end"))?;
            Ok::<_, BtfError>(start..end)
        };
        let (types, strings) = (section(type_off, type_len)?, section(str_off, str_len)?);
        let mut btf = Btf { data, types, strings, records: Vec::new() };
        let raw = btf.type_section();
        let mut records = Vec::new();
        let mut at = 0usize;
        while at < raw.len() {
            let head = Btf::head_at(raw, at).ok_or(bad("type record cut short"))?;
            let extra = match head.kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => head.vlen * 12,
                KIND_ENUM | KIND_FUNC_PROTO => head.vlen * 8,
                0 | KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_FUNC
                | KIND_FLOAT | KIND_TYPE_TAG => 0,
                _ => return Err(bad("unknown type kind")),
            };
            records.push(u32::try_from(at).map_err(|_| bad("type section too large"))?);
            at = at.checked_add(12 + extra).filter(|&a| a <= raw.len()).ok_or(bad("type data cut short"))?;
        }
        btf.records = records;
        Ok(btf)
    }

    fn type_section(&self) -> &[u8] {
        &self.data[self.types.clone()]
    }

    fn head_at(raw: &[u8], at: usize) -> Option<Head> {
        let info = u32_at(raw, at + 4)?;
        Some(Head {
            name: u32_at(raw, at)?,
            kind: (info >> 24) & 0x1f,
            vlen: (info & 0xffff) as usize,
            kind_flag: info >> 31 == 1,
            size_or_type: u32_at(raw, at + 8)?,
        })
    }

    /// The record of type `id` (None for void and ids out of range).
    fn head(&self, id: u32) -> Option<(usize, Head)> {
        let at = *self.records.get((id as usize).checked_sub(1)?)? as usize;
        Some((at, Btf::head_at(self.type_section(), at)?))
    }

    /// The members of the struct or union `id`.
    fn members(&self, id: u32) -> impl Iterator<Item = Member> + '_ {
        let found = self.head(id).filter(|(_, h)| matches!(h.kind, KIND_STRUCT | KIND_UNION));
        let (at, head) = found.map_or((0, None), |(at, h)| (at, Some(h)));
        let raw = self.type_section();
        (0..head.map_or(0, |h| h.vlen)).filter_map(move |i| {
            let m = |k: usize| u32_at(raw, at + 12 + i * 12 + k);
            let offset = m(8)?;
            let kind_flag = head.is_some_and(|h| h.kind_flag);
            Some(Member {
                name: m(0)?,
                type_id: m(4)?,
                bit_offset: if kind_flag { offset & 0x00ff_ffff } else { offset },
                bitfield: kind_flag && offset >> 24 != 0,
            })
        })
    }

    /// The string at `offset` (empty when out of range or unterminated).
    fn name(&self, offset: u32) -> &[u8] {
        let strings = &self.data[self.strings.clone()];
        let rest = strings.get(offset as usize..).unwrap_or_default();
        rest.iter().position(|&b| b == 0).map_or(&[][..], |end| &rest[..end])
    }

    /// The first type of `kind` named `name`.
    fn find(&self, kind: u32, name: &str) -> Option<u32> {
        let raw = self.type_section();
        self.records.iter().enumerate().find_map(|(i, &at)| {
            let head = Btf::head_at(raw, at as usize)?;
            (head.kind == kind && self.name(head.name) == name.as_bytes()).then_some(i as u32 + 1)
        })
    }

    /// The id of the function `name`.
    pub fn func(&self, name: &str) -> Result<u32, BtfError> {
        self.find(KIND_FUNC, name).ok_or_else(|| BtfError::Missing(format!("function {name}")))
    }

    /// Where `field` sits in `struct name` (looking into its unnamed structs and unions), as
    /// (byte offset, size in bytes). A bitfield is refused: a program reads whole bytes.
    pub fn field(&self, name: &str, field: &str) -> Result<(u32, u32), BtfError> {
        let missing = || BtfError::Missing(format!("field {field} of struct {name}"));
        let id = self.find(KIND_STRUCT, name).ok_or_else(missing)?;
        let (bits, member) = self.find_member(id, field.as_bytes(), 0, 0).ok_or_else(missing)?;
        if member.bitfield || bits % 8 != 0 {
            return Err(missing());
        }
        let size = self.size_of(member.type_id).ok_or_else(missing)?;
        Ok((bits / 8, size))
    }

    /// `field` in the struct or union `id`, at `base` bits; `depth` bounds the nesting a
    /// malformed file could make circular.
    fn find_member(&self, id: u32, field: &[u8], base: u32, depth: u32) -> Option<(u32, Member)> {
        if depth > 16 {
            return None;
        }
        for m in self.members(id) {
            let at = base.checked_add(m.bit_offset)?;
            if m.name != 0 && self.name(m.name) == field {
                return Some((at, m));
            }
            if m.name == 0
                && let Some(found) = self.find_member(self.resolve(m.type_id)?, field, at, depth + 1)
            {
                return Some(found);
            }
        }
        None
    }

    /// The type behind typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> Option<u32> {
        for _ in 0..32 {
            let (_, head) = self.head(id)?;
            match head.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = head.size_or_type,
                _ => return Some(id),
            }
        }
        None
    }

    /// Size in bytes of a type: pointers are 8 (the 64-bit kernels the program is built for).
    fn size_of(&self, id: u32) -> Option<u32> {
        let (_, head) = self.head(self.resolve(id)?)?;
        match head.kind {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 => Some(head.size_or_type),
            KIND_PTR => Some(8),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob with: 1 int (4 bytes), 2 struct outer { int a; union { int b; }; },
    /// 3 the unnamed union, 4 func f.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0outer\0a\0b\0f\0";
        let mut types = Vec::new();
        let mut t = |words: &[u32]| words.iter().for_each(|w| types.extend_from_slice(&w.to_le_bytes()));
        t(&[1, KIND_INT << 24, 4, 32]);
        t(&[5, (KIND_STRUCT << 24) | 2, 8, 11, 1, 0, 0, 3, 32]);
        t(&[0, (KIND_UNION << 24) | 1, 4, 13, 1, 0]);
        t(&[15, KIND_FUNC << 24, 0]);
        let mut blob = Vec::new();
        for w in [u32::from(MAGIC) | (1 << 16), 24, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
            blob.extend_from_slice(&w.to_le_bytes());
        }
        blob.extend_from_slice(&types);
        blob.extend_from_slice(strings);
        blob
    }

    #[test]
    fn finds_fields_in_unnamed_members_and_functions() {
        let btf = Btf::parse(sample()).expect("parse");
        assert_eq!(btf.field("outer", "a"), Ok((0, 4)));
        assert_eq!(btf.field("outer", "b"), Ok((4, 4)));
        assert_eq!(btf.func("f"), Ok(4));
        assert!(btf.field("outer", "c").is_err());
        assert!(btf.func("g").is_err());
    }

    #[test]
    fn every_cut_of_a_blob_is_an_error_or_a_smaller_answer_never_a_panic() {
        let blob = sample();
        for n in 0..blob.len() {
            let _ = Btf::parse(blob[..n].to_vec()).map(|b| b.field("outer", "b"));
        }
    }

    /// The running kernel's BTF, when it has one: the fields the owner walk reads are there.
    #[test]
    fn the_running_kernels_types_have_the_walks_fields() {
        let Ok(btf) = Btf::vmlinux() else {
            let _ = std::io::Write::write_all(&mut std::io::stderr(), b"skipped: no /sys/kernel/btf/vmlinux\n");
            return;
        };
        assert_eq!(btf.field("inode", "i_mode").map(|f| f.1), Ok(2));
        assert_eq!(btf.field("task_struct", "tgid").map(|f| f.1), Ok(4));
        assert!(btf.func("bpf_iter_task_file").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn mutated_blobs_never_panic(flips in proptest::collection::vec((0usize..200, proptest::num::u8::ANY), 1..8)) {
            let mut blob = sample();
            for (at, byte) in flips {
                let n = blob.len();
                blob[at % n] = byte;
            }
            if let Ok(btf) = Btf::parse(blob) {
                let _ = btf.field("outer", "b");
                let _ = btf.func("f");
            }
        }
    }
}
