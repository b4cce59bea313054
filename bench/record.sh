#!/usr/bin/env bash
# Times `sockscope record` and `sockscope --from CAPTURE -tanp --json` against the live
# `sockscope -tanp --json` at 100k sockets, and measures the capture's bytes per socket;
# writes the "record" section of bench/RESULTS.md (bench/record.py). Needs root and python3.
#
#   bench/record.sh            # 100,000 sockets
#   bench/record.sh 50000      # another size
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
unshare -n python3 bench/record.py "$PWD/target/release/sockscope" bench/RESULTS.md "${1:-100000}"
