#!/usr/bin/env bash
# Two builds of sockscope on the same farm, in the same run: each command's median wall time
# over rounds that alternate BEFORE and AFTER (so a machine that slows down mid-run slows
# both), peak RSS (/usr/bin/time), and AFTER/BEFORE. For a change that must not cost
# anything (a refactor): its closing note quotes this table.
#
#   bench/ab.sh BEFORE_BINARY AFTER_BINARY [SOCKETS] [ROUNDS]   # 100,000 sockets, 11 rounds
#
# Needs root (a network namespace of its own) and python3. The farm is made by AFTER's
# `lab farm`; both builds read the same sockets.
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2"); size=${3:-100000}; rounds=${4:-11}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
unshare -n bash -s "$before" "$after" "$size" "$out" "$rounds" "$(dirname "$0")/ab.py" <<'INSIDE'
set -euo pipefail
before=$1; after=$2; size=$3; out=$4; rounds=$5; ab=$6
ip link set lo up
procs=$(( (size + 17999) / 18000 )); [ "$procs" -ge 8 ] || procs=8
mkfifo "$out/ready"
"$after" lab farm --sockets "$size" --processes "$procs" --json > "$out/ready" &
farm=$!
read -r _ < "$out/ready"
# A capture for each build to read back, as written by itself.
"$before" record -o "$out/before.cap" --window 0 2>/dev/null
"$after" record -o "$out/after.cap" --window 0 2>/dev/null
python3 "$ab" "$before" "$after" "$out" "$rounds"
kill -TERM "$farm"; wait "$farm" || true
INSIDE
