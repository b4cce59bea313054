#!/usr/bin/env bash
# Peak memory of every command on hosts of 200k sockets (or the number given) in six shapes,
# each in a private network namespace of its own; writes the "Host shapes" section of
# bench/RESULTS.md (bench/shapes.py). Needs root, python3 and /usr/bin/time. ~10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { apt-get update -q && apt-get install -y -q time; }
cargo build --release -q
python3 bench/shapes.py "$PWD/target/release/sockscope" bench/RESULTS.md "$@"
