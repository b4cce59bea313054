//! `--json` (one document) and `--jsonl` (one object per socket per line). Schema: docs/json.md.
//! Sockets are streamed one at a time; the document is never built in memory.

use super::names::Namer;
use serde::Serialize;
use sockscope_core::model::OwnerScanReport;
use sockscope_core::{Snapshot, Socket};
use std::collections::HashMap;
use std::io::{self, Write};

/// Bumped whenever a field changes meaning or disappears (additions keep the version).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
struct OwnerJson<'a> {
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    tid: Option<u32>,
    fd: u32,
    #[serde(serialize_with = "sockscope_core::text::serialize_lossy")]
    command: &'a str,
    /// The exact bytes, when the name is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    command_bytes: Option<Vec<u8>>,
    uid: u32,
    user: Option<String>,
}

#[derive(Serialize)]
struct SocketJson<'a> {
    #[serde(flatten)]
    socket: &'a Socket,
    interface_name: Option<String>,
    /// The cgroup path, with --cgroup.
    #[serde(skip_serializing_if = "Option::is_none")]
    cgroup: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send_rate_bits_per_s: Option<u64>,
    owners: Vec<OwnerJson<'a>>,
}

/// cgroup id → path (from --cgroup).
pub type Cgroups = HashMap<u64, String>;

fn socket_json<'a>(
    snap: &'a Snapshot,
    s: &'a Socket,
    namer: &mut Namer,
    cgroups: Option<&'a Cgroups>,
) -> SocketJson<'a> {
    let owners = snap
        .owners_of(s)
        .map(|o| OwnerJson {
            pid: o.process.pid,
            fd: o.fd,
            tid: o.process.tid,
            command: &o.process.command,
            command_bytes: sockscope_core::text::raw_bytes(&o.process.command),
            uid: o.process.uid,
            user: namer.user(o.process.uid).map(str::to_owned),
        })
        .collect();
    let interface_name = namer.interfaces.name(s.interface).map(str::to_owned);
    let cgroup = cgroups.zip(s.cgroup_id).and_then(|(m, id)| m.get(&id.get())).map(String::as_str);
    let send_rate_bits_per_s =
        s.details.as_ref().and_then(|d| d.tcp_info.as_ref()).and_then(|t| t.send_rate_bits_per_s());
    SocketJson { socket: s, interface_name, cgroup, send_rate_bits_per_s, owners }
}

#[derive(Serialize)]
struct Header<'a> {
    schema_version: u32,
    generator: String,
    warnings: &'a [String],
    fallbacks: &'a [String],
    owner_scan: Option<&'a OwnerScanReport>,
    kernel_filtered: bool,
    socket_count: usize,
}

pub fn document(
    out: &mut impl Write,
    snap: &Snapshot,
    sockets: &[&Socket],
    namer: &mut Namer,
    cgroups: Option<&Cgroups>,
) -> io::Result<()> {
    let header = Header {
        schema_version: SCHEMA_VERSION,
        generator: format!("sockscope {}", env!("CARGO_PKG_VERSION")),
        warnings: &snap.warnings,
        fallbacks: &snap.fallbacks,
        owner_scan: snap.owners.as_ref().map(|o| &o.report),
        kernel_filtered: snap.kernel_filtered,
        socket_count: sockets.len(),
    };
    let head = serde_json::to_string(&header).map_err(io::Error::from)?;
    // Reopen the header object to append the socket array to it.
    out.write_all(&head.as_bytes()[..head.len() - 1])?;
    out.write_all(b",\"sockets\":[")?;
    for (i, s) in sockets.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &socket_json(snap, s, namer, cgroups)).map_err(io::Error::from)?;
    }
    out.write_all(b"]}\n")
}

pub fn lines(
    out: &mut impl Write,
    snap: &Snapshot,
    sockets: &[&Socket],
    namer: &mut Namer,
    cgroups: Option<&Cgroups>,
) -> io::Result<()> {
    for s in sockets {
        serde_json::to_writer(&mut *out, &socket_json(snap, s, namer, cgroups)).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
