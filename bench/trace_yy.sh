#!/usr/bin/env bash
# Run by bench/trace.sh in a fresh network namespace: a farm of sockets, then the connect
# loop traced by strace -yy and by sockscope trace, beside it.
set -euo pipefail
S=$1; W=$2; OUT=$3; FARM=$4; CONNS=$5
ip link set lo up
fifo="$OUT/farm.ready"; mkfifo "$fifo"
"$S" lab farm --sockets "$FARM" --processes 2 --json > "$fifo" &
farm=$!
read -r _ < "$fifo"
ss -tanH | wc -l > "$OUT/yy_tcp_sockets"
hyperfine -N --warmup 0 --runs 3 --export-json "$OUT/connect-yy.json" \
  -n untraced "$W connect $CONNS" \
  -n "strace -f -e trace=%net -yy" "strace -f -e trace=%net -yy -o $OUT/strace-yy.txt $W connect $CONNS" \
  -n "sockscope trace -f" "$S trace -f -o $OUT/sockscope-yy.txt $W connect $CONNS" \
  > "$OUT/connect-yy.txt" 2>&1
kill -TERM "$farm"; wait "$farm" || true
