#!/usr/bin/env bash
# Measures `sockscope watch` at 100k sockets: CPU over 30 s, key-to-redraw latency, peak
# memory, beside `ss -tanp` once a second; writes the "watch" section of bench/RESULTS.md
# (bench/watch.py). Needs root (a private network namespace), ss and python3.
#
#   bench/watch.sh            # 100,000 sockets
#   bench/watch.sh 50000      # another size
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
unshare -n python3 bench/watch.py "$PWD/target/release/sockscope" bench/RESULTS.md "${1:-100000}"
