//! Captures real sock_diag replies and /proc/net files into a directory, for the parser
//! fixture tests. Run it inside a namespace holding the sockets you want captured:
//!
//!     cargo run -p sockscope-core --example capture_fixtures -- crates/core/tests/fixtures
//!
//! Each `<table>.netlink` file holds the reply payloads as `u32 length (native) + bytes`.
//! `--only NAME,NAME` captures just those tables (and no /proc/net files), leaving the rest.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors
#![allow(clippy::disallowed_macros)] // a developer tool printing to its own terminal

use sockscope_core::model::StateSet;
use sockscope_core::netlink::{DiagSocket, request};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: capture_fixtures DIR")?;
    let mut diag = DiagSocket::open()?;
    let details = request::Extensions {
        memory: true,
        tcp_info: true,
        tos: true,
        vitals: false,
        extended: true,
        inet_sockopt: true,
    };
    let tables: Vec<(&str, Vec<u8>)> = vec![
        ("tcp4", request::inet(request::AF_INET, request::IPPROTO_TCP, StateSet::ALL, 0)),
        ("tcp6", request::inet(request::AF_INET6, request::IPPROTO_TCP, StateSet::ALL, 0)),
        ("tcp4_details", request::inet(request::AF_INET, request::IPPROTO_TCP, StateSet::ALL, details.inet_ext())),
        ("udp4", request::inet(request::AF_INET, request::IPPROTO_UDP, StateSet::ALL, 0)),
        ("udp6", request::inet(request::AF_INET6, request::IPPROTO_UDP, StateSet::ALL, 0)),
        ("unix", request::unix(StateSet::ALL, request::Extensions::default())),
        ("unix_details", request::unix(StateSet::ALL, details)),
        ("packet", request::packet(details)),
        ("netlink", request::netlink(details)),
        // An MPTCP connection's sockets, and its TCP subflows with their ULP attribute.
        (
            "mptcp4_details",
            request::inet_any(request::AF_INET, request::IPPROTO_MPTCP, StateSet::ALL, details.inet_ext(), None)
                .unwrap(),
        ),
        (
            "tcp4_mptcp_subflows",
            request::inet(request::AF_INET, request::IPPROTO_TCP, StateSet::ALL, details.inet_ext()),
        ),
    ];
    let args: Vec<String> = std::env::args().collect();
    let only: Option<Vec<&str>> =
        (args.get(2).map(String::as_str) == Some("--only")).then(|| args[3].split(',').collect());
    for (name, req) in tables {
        if only.as_ref().is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        let mut file = Vec::new();
        let result = diag.dump(name, &req, |payload| {
            file.extend_from_slice(&(payload.len() as u32).to_ne_bytes());
            file.extend_from_slice(payload);
        });
        match result {
            Ok(()) => std::fs::File::create(format!("{dir}/{name}.netlink"))?.write_all(&file)?,
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    if only.is_some() || std::env::args().nth(2).as_deref() == Some("--netlink-only") {
        return Ok(());
    }
    for f in ["tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet", "netlink"] {
        std::fs::copy(format!("/proc/net/{f}"), format!("{dir}/proc_net_{f}"))?;
    }
    Ok(())
}
