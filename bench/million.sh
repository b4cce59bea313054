#!/usr/bin/env bash
# Times sockscope and its peers at 250k, 500k and 1M sockets (or the sizes given) in one run,
# and writes the "A million sockets" section of bench/RESULTS.md (bench/million.py).
#
#   bench/million.sh                      # 250000 500000 1000000
#   bench/million.sh 1000000              # one size
#
# Needs root (a private network namespace; ~4 GiB of kernel memory at 1M sockets), ss, lsof
# and /usr/bin/time; installs the Debian packages it lacks. ss -tanp and lsof are run at the
# largest size only, and stopped at 600 s. Takes 20-40 minutes. Redraws bench/scaling.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v lsof >/dev/null || need+=(lsof)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -q && apt-get install -y -q "${need[@]}"; fi
cargo build --release -q
unshare -n python3 bench/million.py "$PWD/target/release/sockscope" bench/RESULTS.md "$@"
# The scaling chart, with these sizes beside bench/run.sh's (when it has run here).
if [ -d bench/raw/run ]; then
  cargo run --release -q -p sockscope-lab --example scaling_chart -- bench/raw/run bench/raw/million bench/scaling.svg
fi
