#!/usr/bin/env bash
# Times `sockscope trace` against strace on the same workloads, in one run on one machine,
# and writes the "Tracing (issue 13)" section of bench/RESULTS.md (bench/trace_report.py).
#
#   bench/trace.sh     # connect loops of 5000 (500 beside 20k sockets for strace -yy), 3000
#                      # from Python, 1M reads
#
# Workloads (bench/programs/workload.c): a loopback loop of connect, accept, 64-byte write
# and read, close; and read() calls on a regular file, none of them traced by default.
# Every run starts in a fresh network namespace, so TIME-WAIT sockets of earlier runs do
# not slow later ones. Needs root, gcc, strace and hyperfine (installs what it lacks).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v strace >/dev/null || need+=(strace)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then apt-get update -q && apt-get install -y -q "${need[@]}"; fi
cargo build --release -q
out=$(mktemp -d)
W="$out/workload"
gcc -O2 -o "$W" bench/programs/workload.c
S="$PWD/target/release/sockscope"
fresh() { echo "unshare -n sh -c 'ip link set lo up && exec $*'"; }
conns=5000; yy_conns=500; farm=20000; reads=1000000
hyperfine -N --warmup 1 --runs 10 --export-json "$out/connect.json" \
  -n untraced "$(fresh "$W" connect $conns)" \
  -n "strace -f -e trace=%net" "$(fresh strace -f -e trace=%net -o "$out/strace.txt" "$W" connect $conns)" \
  -n "strace -f --seccomp-bpf -e trace=%net" "$(fresh strace -f --seccomp-bpf -e trace=%net -o "$out/strace-bpf.txt" "$W" connect $conns)" \
  -n "sockscope trace -f" "$(fresh "$S" trace -f -o "$out/sockscope.txt" "$W" connect $conns)" \
  > "$out/connect.txt" 2>&1
# The same kind of loop from Python (issue 30's independent check): the interpreter's own
# calls between the traced ones change the ratio, so it is measured too.
PY=$(command -v python3)
py_conns=3000
hyperfine -N --warmup 1 --runs 10 --export-json "$out/python.json" \
  -n untraced "$(fresh "$PY" bench/programs/connect_loop.py $py_conns)" \
  -n "strace -f --seccomp-bpf -e trace=%net" "$(fresh strace -f --seccomp-bpf -e trace=%net -o "$out/strace-py.txt" "$PY" bench/programs/connect_loop.py $py_conns)" \
  -n "sockscope trace -f" "$(fresh "$S" trace -f -o "$out/sockscope-py.txt" "$PY" bench/programs/connect_loop.py $py_conns)" \
  > "$out/python.txt" 2>&1
# strace -yy asks sock_diag about the fds of every call, at a cost that grows with the
# sockets of the namespace: measured beside a farm of $farm sockets, as on a busy server.
unshare -n bash bench/trace_yy.sh "$S" "$W" "$out" "$farm" "$yy_conns"
hyperfine -N --warmup 1 --runs 10 --export-json "$out/read.json" \
  -n untraced "$W read $reads" \
  -n "strace --seccomp-bpf -e trace=%net" "strace -f --seccomp-bpf -e trace=%net -o $out/strace-read.txt $W read $reads" \
  -n "sockscope trace" "$S trace -f -o $out/sockscope-read.txt $W read $reads" \
  > "$out/read.txt" 2>&1
# The traces must agree on what they saw (each connection: socket, connect, accept).
for f in strace.txt strace-bpf.txt sockscope.txt; do
  n=$(grep -c 'connect(' "$out/$f"); [ "$n" -eq "$conns" ] || { echo "$f: $n connects, not $conns" >&2; exit 1; }
done
echo "$conns $yy_conns $reads $farm $py_conns" > "$out/sizes"
uname -r > "$out/kernel"; nproc > "$out/cores"; strace -V | head -1 > "$out/strace_version"
python3 bench/trace_report.py "$out" bench/RESULTS.md
echo "updated bench/RESULTS.md (raw data in $out)"
