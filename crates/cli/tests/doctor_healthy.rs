//! A healthy namespace: doctor finds nothing at warn or worse in it, and exits 0. Alone in its
//! binary so no other test's conditions exist while it looks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use common::*;
use sockscope_lab::sockets as lab;
use std::net::TcpListener;

#[test]
fn a_healthy_namespace_has_no_warnings() {
    private_netns();
    // Ordinary, healthy traffic: a loopback service with a few live connections.
    let l = TcpListener::bind("127.0.0.1:8080").unwrap();
    let _pairs: Vec<_> = (0..5).map(|_| lab::connected_pair(&l).unwrap()).collect();
    let empty = lab::tempdir().unwrap();
    let out = sockscope(&["doctor", "--json", "--interval", "0.3", "--stale-dir", empty.as_str()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bad: Vec<&serde_json::Value> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["severity"] != "info").collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(doc["worst"], serde_json::Value::Null);
}
