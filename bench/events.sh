#!/usr/bin/env bash
# Measures what `sockscope events --life` costs a busy loopback workload, beside tcplife's
# logic in bpftrace, in one run on one machine, and writes the "Connection events" section of
# bench/RESULTS.md (bench/events.py).
#
#   bench/events.sh          # 10,000 connections/s for 10 s, 3 runs of each case
#
# Needs root, gcc and python3; installs bpftrace when it can (for the comparison row) and
# mounts tracefs at /sys/kernel/tracing for it when nothing is mounted there (unmounted after).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${RATE:-10000}; secs=${SECS:-10}; runs=${RUNS:-3}
command -v gcc >/dev/null || { apt-get update -q && apt-get install -y -q gcc; }
command -v bpftrace >/dev/null || { apt-get update -q && apt-get install -y -q bpftrace; } || true
cargo build --release -q
out=$(mktemp -d)
W="$out/workload"
gcc -O2 -o "$W" bench/programs/workload.c
S="$PWD/target/release/sockscope"
mounted=""
if command -v bpftrace >/dev/null && [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing && mounted=1
fi
trap '[ -z "$mounted" ] || umount /sys/kernel/tracing' EXIT
uname -r > "$out/kernel"; nproc > "$out/cores"
unshare -n sh -c "ip link set lo up && exec python3 bench/events.py run '$S' '$W' '$out' $rate $secs $runs"
python3 bench/events.py report "$out" bench/RESULTS.md
echo "updated bench/RESULTS.md (raw data in $out)"
