#!/usr/bin/env bash
# Times sockscope against ss, netstat and lsof on the same socket populations, in one run on
# one machine, and writes bench/RESULTS.md. Populations come from `sockscope lab farm`, built
# inside a private network namespace so nothing else is measured.
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
# The tracing, events and namespaces sections are bench/trace.sh's, bench/events.sh's and
# bench/netns.sh's: kept as they are.
trace_section=$(sed -n '/^<!-- trace: bench\/trace.sh -->$/,/^<!-- \/trace -->$/p' bench/RESULTS.md 2>/dev/null || true)
events_section=$(sed -n '/^<!-- events: bench\/events.sh -->$/,/^<!-- \/events -->$/p' bench/RESULTS.md 2>/dev/null || true)
netns_section=$(sed -n '/^<!-- netns: bench\/netns.sh -->$/,/^<!-- \/netns -->$/p' bench/RESULTS.md 2>/dev/null || true)
python3 bench/report.py "$out" > bench/RESULTS.md
[ -z "$trace_section" ] || printf '\n%s\n' "$trace_section" >> bench/RESULTS.md
[ -z "$events_section" ] || printf '\n%s\n' "$events_section" >> bench/RESULTS.md
[ -z "$netns_section" ] || printf '\n%s\n' "$netns_section" >> bench/RESULTS.md
echo "wrote bench/RESULTS.md (raw data in $out)"
