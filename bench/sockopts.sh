#!/usr/bin/env bash
# Times `sockscope -tanp --sockopts` against `sockscope -tanp` at 100k sockets: the cost of
# reading every socket's options from its process (pidfd_getfd + getsockopt per socket);
# writes the "sockopts" section of bench/RESULTS.md (bench/sockopts.py). Needs root and
# python3.
#
#   bench/sockopts.sh            # 100,000 sockets
#   bench/sockopts.sh 50000      # another size
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
unshare -n python3 bench/sockopts.py "$PWD/target/release/sockscope" bench/RESULTS.md "${1:-100000}"
