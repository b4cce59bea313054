#!/usr/bin/env bash
# Times sockscope against ss, netstat and lsof on the same socket populations, in one run on
# one machine, and writes bench/RESULTS.md and the scaling chart bench/scaling.svg.
# Populations come from `sockscope lab farm`, built inside a private network namespace so
# nothing else is measured.
#
#   bench/run.sh                      # 25k 50k 100k 200k sockets
#   bench/run.sh 100000 200000        # chosen sizes
#
# Needs root (or a user namespace), hyperfine, ss, netstat, lsof and /usr/bin/time; installs
# the Debian packages it lacks. Takes 10-20 minutes for the default sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v netstat >/dev/null || need+=(net-tools)
command -v lsof >/dev/null || need+=(lsof)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -q && apt-get install -y -q "${need[@]}"; fi
cargo build --release -q
cargo build --release -q -p sockscope-core --example collect_repeat
out=$(mktemp -d)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(25000 50000 100000 200000)
unshare -n bash bench/inside.sh "$PWD/target/release/sockscope" "$out" "${sizes[@]}"
# The sections other scripts write (<!-- NAME: bench/NAME.sh --> … <!-- /NAME -->: trace,
# events, netns, watch, serve…) are kept as they are.
kept=$(python3 - <<'PY'
import re
try:
    text = open("bench/RESULTS.md").read()
except FileNotFoundError:
    text = ""
print("\n\n".join(m.group(0) for m in re.finditer(r"(?ms)^<!-- (\w+): bench/\S+ -->$.*?^<!-- /\1 -->$", text)))
PY
)
python3 bench/report.py "$out" > bench/RESULTS.md
# The times are kept for the chart, which draws bench/million.sh's beside them.
rm -rf bench/raw/run && mkdir -p bench/raw/run && cp "$out"/times.*.json bench/raw/run/
[ -z "$kept" ] || printf '\n%s\n' "$kept" >> bench/RESULTS.md
# The scaling chart README shows: time against socket count for sockscope, ss, netstat and
# lsof, log-log, from these runs and bench/million.sh's (bench/raw/million).
cargo run --release -q -p sockscope-lab --example scaling_chart -- bench/raw/run bench/raw/million bench/scaling.svg
echo "wrote bench/RESULTS.md and bench/scaling.svg (raw data in $out)"
