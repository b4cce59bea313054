#!/usr/bin/env bash
# Run by bench/run.sh inside a fresh network namespace: for each size, build a farm, time
# every command with hyperfine (medians), record peak RSS with /usr/bin/time, stop the farm.
set -euo pipefail
S=$1; OUT=$2; shift 2
# The collector's repeated-collection timer, built beside the binary (bench/run.sh).
REPEAT="$(dirname "$S")/examples/collect_repeat"
ip link set lo up
for size in "$@"; do
  procs=$(( (size + 17999) / 18000 )); [ "$procs" -ge 8 ] || procs=8
  fifo="$OUT/ready.$size"; mkfifo "$fifo"
  "$S" lab farm --sockets "$size" --processes "$procs" --json > "$fifo" &
  farm=$!
  read -r ready < "$fifo"; echo "$ready" > "$OUT/farm.$size.json"
  tcp=$(ss -tanH | wc -l)
  echo "size $size: $procs processes, $tcp TCP sockets" >&2
  echo "$tcp" > "$OUT/tcp.$size"
  runs=10; [ "$size" -lt 100000 ] || runs=5
  cmds=(
    "$S -tan" "ss -tan"
    "$S -tanp" "ss -tanp" "netstat -tanp" "lsof -nP -iTCP"
    "$S -tanp --json"
    "$S -s" "ss -s"
    "$S fds" "lsof -nP"
    "$S doctor --interval 0"
  )
  hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$OUT/times.$size.json" "${cmds[@]}" > "$OUT/hyperfine.$size.txt" 2>&1
  for c in "${cmds[@]}"; do
    /usr/bin/time -f '%M' -o "$OUT/rss.one" $c > /dev/null 2>&1 || true
    rss=$(tail -1 "$OUT/rss.one")
    printf '%s\t%s\n' "$c" "$rss" >> "$OUT/rss.$size.tsv"
  done
  "$REPEAT" 10 > "$OUT/collect.$size.json"
  kill -TERM "$farm"; wait "$farm" || true
  rm -f "$fifo"
done
uname -r > "$OUT/kernel"; nproc > "$OUT/cores"; free -g | awk '/Mem/{print $2}' > "$OUT/mem_gib"
ss -V > "$OUT/ss_version" 2>&1 || true
lsof -v 2>&1 | grep -i -m1 revision > "$OUT/lsof_version" || true
