//! exposed-listeners: databases, caches and admin APIs listening on every interface.

use super::attach;
use crate::diagnose::thresholds::limits;
use crate::diagnose::{Finding, Observation, Severity};
use crate::model::{Endpoint, Netid, SockState};

/// Well-known ports of services that should not face the network unprotected.
const SERVICES: [(u16, &str); 22] = [
    (5432, "PostgreSQL"),
    (3306, "MySQL/MariaDB"),
    (6379, "Redis"),
    (11211, "memcached"),
    (27017, "MongoDB"),
    (9200, "Elasticsearch"),
    (2375, "the Docker API (unencrypted)"),
    (2379, "etcd"),
    (5984, "CouchDB"),
    (9042, "Cassandra"),
    (8086, "InfluxDB"),
    (9092, "Kafka"),
    (2181, "ZooKeeper"),
    (15672, "RabbitMQ management"),
    (5672, "RabbitMQ"),
    (10250, "the kubelet API"),
    (8500, "Consul"),
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (7474, "Neo4j"),
    (28015, "RethinkDB"),
    (6443, "the Kubernetes API"),
];

/// This rule\'s id, as findings, `--json` and docs/doctor.md name it.
pub const ID: &str = "exposed-listeners";
/// What it looks for, in a line (the help lists it).
pub const SUMMARY: &str = "databases and admin APIs listening on every interface";

limits! {}

pub fn check(o: &Observation, _t: &Limits) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in o.first.sockets.iter() {
        let listening = (s.netid == Netid::Tcp && s.state == SockState::Listen)
            || (s.netid == Netid::Udp && s.state == SockState::Close);
        let Endpoint::Inet { address, port } = &s.local else { continue };
        if !listening || !address.is_unspecified() {
            continue;
        }
        let Some((_, service)) = SERVICES.iter().find(|(p, _)| p == port) else { continue };
        let holders = o.holders(s);
        let who = holders
            .first()
            .map_or(String::new(), |p| format!(" ({} pid {})", crate::text::Untrusted(&p.command), p.pid));
        let f = Finding::new(
            ID,
            if *port == 2375 { Severity::Crit } else { Severity::Warn },
            format!("{service} listens on all interfaces, {address}:{port}{who}"),
            "A service bound to 0.0.0.0 or :: accepts connections from every network the host is on; databases and admin APIs often trust whoever connects.",
            format!("Bind it to 127.0.0.1 (or a private address) in its configuration, or firewall port {port} (nft/iptables, security groups)."),
        )
        .int("port", u64::from(*port));
        let holder = holders.into_iter().next();
        out.push(attach(o, f, &holder, &[s]));
    }
    out
}
