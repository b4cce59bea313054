#!/usr/bin/env bash
# Times `sockscope --all-netns` over 200 namespaces of 100 sockets against one namespace of
# 20,000, and writes the "Network namespaces" section of bench/RESULTS.md (bench/netns.py).
# Needs root, ip (iproute2) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
python3 bench/netns.py "$PWD/target/release/sockscope" bench/RESULTS.md
