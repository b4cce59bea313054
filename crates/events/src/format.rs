//! A tracepoint's `format` file: where each field of its raw record sits. Read at run time so
//! that a kernel that moves a field still works (offsets are never compiled in).

use std::collections::HashMap;

/// One field of a tracepoint record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub size: usize,
}

impl Field {
    /// The field as an unsigned integer (native byte order), or None when the record is too
    /// short or the field is not 1, 2, 4 or 8 bytes wide.
    pub fn uint(&self, raw: &[u8]) -> Option<u64> {
        let b = raw.get(self.offset..self.offset.checked_add(self.size)?)?;
        Some(match *b {
            [a] => u64::from(a),
            [a, b] => u64::from(u16::from_ne_bytes([a, b])),
            [a, b, c, d] => u64::from(u32::from_ne_bytes([a, b, c, d])),
            _ => u64::from_ne_bytes(b.try_into().ok()?),
        })
    }

    /// The field's bytes (an address), or None when the record is too short.
    pub fn bytes<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        raw.get(self.offset..self.offset.checked_add(self.size)?)
    }
}

/// A parsed `format` file: the event's id and its fields by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    pub name: String,
    pub id: u64,
    fields: HashMap<String, Field>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("line {line}: {what}")]
    Malformed { line: usize, what: &'static str },
    #[error("no ID line")]
    NoId,
    #[error("the tracepoint {event} has no field '{field}' (of {size} bytes) on this kernel")]
    MissingField { event: String, field: &'static str, size: &'static str },
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, FormatError> {
        let mut name = String::new();
        let mut id = None;
        let mut fields = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let malformed = |what| FormatError::Malformed { line: n + 1, what };
            if let Some(v) = line.strip_prefix("name:") {
                name = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("ID:") {
                id = Some(v.trim().parse().map_err(|_| malformed("the ID is not a number"))?);
            } else if let Some(rest) = line.strip_prefix("field:") {
                // field:TYPE NAME[N];	offset:O;	size:S;	signed:X;
                let mut parts = rest.split(';').map(str::trim);
                let decl = parts.next().ok_or(malformed("a field without a declaration"))?;
                let field_name = decl
                    .rsplit([' ', '*'])
                    .next()
                    .map(|w| w.split('[').next().unwrap_or(w))
                    .filter(|w| !w.is_empty())
                    .ok_or(malformed("a field without a name"))?;
                let mut offset = None;
                let mut size = None;
                for p in parts {
                    if let Some(v) = p.strip_prefix("offset:") {
                        offset = Some(v.parse().map_err(|_| malformed("the offset is not a number"))?);
                    } else if let Some(v) = p.strip_prefix("size:") {
                        size = Some(v.parse().map_err(|_| malformed("the size is not a number"))?);
                    }
                }
                let (Some(offset), Some(size)) = (offset, size) else {
                    return Err(malformed("a field without offset or size"));
                };
                fields.insert(field_name.to_owned(), Field { offset, size });
            }
        }
        Ok(Format { name, id: id.ok_or(FormatError::NoId)?, fields })
    }

    pub fn field(&self, name: &str) -> Option<Field> {
        self.fields.get(name).copied()
    }

    /// A field the decoder needs, with one of the sizes it can read.
    pub fn need(&self, field: &'static str, sizes: &[usize], size_text: &'static str) -> Result<Field, FormatError> {
        self.field(field).filter(|f| sizes.contains(&f.size)).ok_or_else(|| FormatError::MissingField {
            event: self.name.clone(),
            field,
            size: size_text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SET_STATE: &str = include_str!("../tests/fixtures/inet_sock_set_state-6.18.format");
    const DESTROY: &str = include_str!("../tests/fixtures/tcp_destroy_sock-6.18.format");

    #[test]
    fn reads_the_captured_6_18_formats() {
        let f = Format::parse(SET_STATE).unwrap();
        assert_eq!(f.name, "inet_sock_set_state");
        assert_eq!(f.id, 2287);
        assert_eq!(f.field("skaddr"), Some(Field { offset: 8, size: 8 }));
        assert_eq!(f.field("newstate"), Some(Field { offset: 20, size: 4 }));
        assert_eq!(f.field("saddr"), Some(Field { offset: 32, size: 4 }));
        assert_eq!(f.field("daddr_v6"), Some(Field { offset: 56, size: 16 }));
        assert_eq!(f.field("common_pid"), Some(Field { offset: 4, size: 4 }));
        let d = Format::parse(DESTROY).unwrap();
        assert_eq!(d.field("sock_cookie"), Some(Field { offset: 64, size: 8 }));
    }

    #[test]
    fn a_missing_field_is_named() {
        let text = SET_STATE.replace("field:int newstate;", "field:int otherstate;");
        let f = Format::parse(&text).unwrap();
        assert_eq!(
            f.need("newstate", &[4], "4").unwrap_err().to_string(),
            "the tracepoint inet_sock_set_state has no field 'newstate' (of 4 bytes) on this kernel"
        );
    }

    #[test]
    fn a_moved_field_is_read_where_it_moved() {
        let text = SET_STATE.replace("offset:24;\tsize:2", "offset:80;\tsize:2");
        let f = Format::parse(&text).unwrap();
        let mut raw = vec![0u8; 82];
        raw[80..82].copy_from_slice(&443u16.to_ne_bytes());
        assert_eq!(f.field("sport").and_then(|s| s.uint(&raw)), Some(443));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            Format::parse("name: x\nID: twelve\n").unwrap_err(),
            FormatError::Malformed { line: 2, what: "the ID is not a number" }
        );
        assert_eq!(Format::parse("name: x\n").unwrap_err(), FormatError::NoId);
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = Format::parse(&text);
        }

        #[test]
        fn reads_any_field_it_is_given(offset in 0usize..4096, size in prop::sample::select(vec![1usize, 2, 4, 8, 16])) {
            let text = format!("name: t\nID: 1\nformat:\n\tfield:__u8 f[{size}];\toffset:{offset};\tsize:{size};\tsigned:0;\n");
            let f = Format::parse(&text).unwrap();
            prop_assert_eq!(f.field("f"), Some(Field { offset, size }));
            let raw = vec![0u8; offset + size];
            prop_assert!(f.field("f").unwrap().bytes(&raw).is_some());
            prop_assert!(f.field("f").unwrap().bytes(&raw[..offset + size - 1]).is_none());
        }
    }
}
