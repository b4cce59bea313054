//! Sockets as JSON: `--json` (one `sockets` document) and `--jsonl` (one object per socket
//! per line). Schema: docs/json.md. Sockets are streamed one at a time; the document is never
//! built in memory.

use super::envelope::{CaptureInfo, Envelope, Kind};
use super::names::Namer;
use serde::ser::{Serialize, SerializeSeq, Serializer};
use sockscope_core::model::OwnerScanReport;
use sockscope_core::sockopts::{Report, SockOpts};
use sockscope_core::{Snapshot, Socket};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};

#[derive(serde::Serialize)]
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

#[derive(serde::Serialize)]
struct SocketJson<'a> {
    #[serde(flatten)]
    socket: &'a Socket,
    interface_name: Option<String>,
    /// The cgroup path, with --cgroup.
    #[serde(skip_serializing_if = "Option::is_none")]
    cgroup: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send_rate_bits_per_s: Option<u64>,
    /// The container holding it, with --netns or --all-netns.
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a sockscope_core::container::Container>,
    owners: Vec<OwnerJson<'a>>,
    /// With --sockopts: every option, null where it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    sockopts: Option<&'a SockOpts>,
    /// With --inet-sockopt: the kernel's view of its inet options, each true or false; null
    /// where the kernel does not report them (not an inet socket, or before Linux 5.10).
    #[serde(skip_serializing_if = "Option::is_none")]
    inet_sockopt: Option<Option<std::collections::BTreeMap<&'static str, bool>>>,
}

/// cgroup id → path (from --cgroup).
pub type Cgroups = HashMap<u64, String>;

/// What some listings add to each socket: cgroup paths (--cgroup) and the options read from
/// the sockets' processes (--sockopts).
#[derive(Clone, Copy, Default)]
pub struct Extras<'a> {
    pub cgroups: Option<&'a Cgroups>,
    pub sockopts: Option<&'a Report>,
    /// --inet-sockopt.
    pub inet_sockopt: bool,
}

/// Every option unknown: what a socket whose options could not be read shows.
static UNKNOWN: std::sync::LazyLock<SockOpts> = std::sync::LazyLock::new(SockOpts::default);

fn socket_json<'a>(snap: &'a Snapshot, s: &'a Socket, namer: &mut Namer, extras: Extras<'a>) -> SocketJson<'a> {
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
    let interface_name = namer.interfaces.name(s, s.interface).map(str::to_owned);
    let cgroup = extras.cgroups.zip(s.cgroup_id).and_then(|(m, id)| m.get(&id.get())).map(String::as_str);
    let send_rate_bits_per_s =
        s.details.as_ref().and_then(|d| d.tcp_info.as_ref()).and_then(|t| t.send_rate_bits_per_s());
    let sockopts = extras.sockopts.map(|r| r.get(s.inode).unwrap_or(&UNKNOWN));
    let inet_sockopt = extras.inet_sockopt.then(|| {
        let bits = s.inet_sockopt_bits()?;
        let names = sockscope_core::model::INET_SOCKOPTS.iter().enumerate();
        Some(names.map(|(i, name)| (*name, bits & (1 << i) != 0)).collect())
    });
    SocketJson {
        socket: s,
        interface_name,
        cgroup,
        send_rate_bits_per_s,
        container: s.container.as_deref(),
        owners,
        sockopts,
        inet_sockopt,
    }
}

/// The `sockets` document's data: the snapshot's state, then the sockets, each serialized
/// as it is written.
#[derive(serde::Serialize)]
struct Document<'a> {
    fallbacks: &'a [String],
    /// With --netns or --all-netns: the namespaces read.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    namespaces: &'a [sockscope_core::netns::Netns],
    owner_scan: Option<&'a OwnerScanReport>,
    kernel_filtered: bool,
    socket_count: usize,
    sockets: Stream<'a>,
}

/// The sockets, turned into JSON objects one at a time while they are written (`Serialize`
/// takes `&self`; the namer's caches need `&mut`).
struct Stream<'a> {
    snap: &'a Snapshot,
    rows: &'a [&'a Socket],
    namer: RefCell<&'a mut Namer>,
    extras: Extras<'a>,
}

impl Serialize for Stream<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        let mut namer = self.namer.borrow_mut();
        for row in self.rows {
            seq.serialize_element(&socket_json(self.snap, row, &mut namer, self.extras))?;
        }
        seq.end()
    }
}

/// The sockets as a JSON array, each object as the `sockets` document writes it (`watch`).
pub fn array<'a>(snap: &'a Snapshot, rows: &'a [&'a Socket], namer: &'a mut Namer) -> impl Serialize + 'a {
    Stream { snap, rows, namer: RefCell::new(namer), extras: Extras::default() }
}

/// The sockets as one `sockets` document, or (`lines`) one object per line.
pub fn write(
    out: &mut impl Write,
    snap: &Snapshot,
    sockets: &[&Socket],
    namer: &mut Namer,
    extras: Extras<'_>,
    capture: Option<&CaptureInfo>,
    lines: bool,
) -> io::Result<()> {
    if lines {
        for s in sockets {
            serde_json::to_writer(&mut *out, &socket_json(snap, s, namer, extras)).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let data = Document {
        fallbacks: &snap.fallbacks,
        namespaces: &snap.namespaces,
        owner_scan: snap.owners.as_ref().map(|o| &o.report),
        kernel_filtered: snap.kernel_filtered,
        socket_count: sockets.len(),
        sockets: Stream { snap, rows: sockets, namer: RefCell::new(namer), extras },
    };
    Envelope::new(Kind::Sockets, &snap.warnings, capture, data).write(out)
}
