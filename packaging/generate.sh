#!/usr/bin/env bash
# Regenerates the manual pages and shell completions the Debian package installs, from the
# clap definitions (`sockscope man`, `sockscope completions`). Run it after changing a flag
# or a help text: crates/cli/tests/package.rs fails while they are out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p sockscope
rm -f packaging/man/*.1 packaging/completions/*
mkdir -p packaging/man packaging/completions
target/debug/sockscope man --dir packaging/man
target/debug/sockscope completions --dir packaging/completions
echo "packaging: regenerated $(ls packaging/man | wc -l) manual pages and 3 completions"
