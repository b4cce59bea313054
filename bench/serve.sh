#!/usr/bin/env bash
# Times one `sockscope serve` scrape at 100k sockets against node_exporter's tcpstat
# collector, with series count and peak memory; writes the "serve" section of
# bench/RESULTS.md (bench/serve.py). Needs root, ss, python3 and prometheus-node-exporter
# (installed when missing).
#
#   bench/serve.sh            # 100,000 sockets
#   bench/serve.sh 50000      # another size
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus-node-exporter >/dev/null || { apt-get update -q && apt-get install -y -q prometheus-node-exporter; }
cargo build --release -q
unshare -n python3 bench/serve.py "$PWD/target/release/sockscope" bench/RESULTS.md "${1:-100000}"
