#!/usr/bin/env bash
# Measures what `sockscope events --life` costs a busy loopback workload, beside tcplife's
# logic in bpftrace, in one run on one machine, and writes the "Connection events" section of
# bench/RESULTS.md (bench/events.py).
#
#   bench/events.sh          # 10,000 connections/s for 10 s, 3 runs of each case
#
# The same rate is also spread over NETNS (20) network namespaces, made here as
# sockscope-bench-N under /run/netns and deleted after, for `events --all-netns`.
#
# Needs root, gcc and python3; installs bpftrace when it can (for the comparison row) and
# mounts tracefs at /sys/kernel/tracing for it when nothing is mounted there (unmounted after).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${RATE:-10000}; secs=${SECS:-10}; runs=${RUNS:-3}; netns=${NETNS:-20}
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
names=()
for i in $(seq 1 "$netns"); do names+=("sockscope-bench-$$-$i"); done
cleanup() {
  for n in "${names[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  [ -z "$mounted" ] || umount /sys/kernel/tracing
}
trap cleanup EXIT
for n in "${names[@]}"; do ip netns add "$n" && ip -n "$n" link set lo up; done
uname -r > "$out/kernel"; nproc > "$out/cores"
unshare -n sh -c "ip link set lo up && exec python3 bench/events.py run '$S' '$W' '$out' $rate $secs $runs ${names[*]}"
python3 bench/events.py report "$out" bench/RESULTS.md
echo "updated bench/RESULTS.md (raw data in $out)"
