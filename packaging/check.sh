#!/usr/bin/env bash
# Builds the Debian package (`cargo deb -p sockscope`), runs lintian over it, and the test
# that installs it into a scratch root (crates/cli/tests/package.rs). Installs cargo-deb and
# lintian when missing. Fails on any lintian error, and on any warning that packaging/README.md
# does not list with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install cargo-deb --locked --quiet
fi
if ! command -v lintian >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-upgrade lintian dpkg
fi
rm -f target/debian/sockscope_*.deb
cargo deb -p sockscope --quiet
deb=$(ls target/debian/sockscope_*.deb)
echo "packaging: $deb, $(stat -c %s "$deb") bytes"
# lintian refuses nothing as root but says so; its findings are what count.
report=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v "running with root privileges" || true)
echo "${report:-packaging: lintian: no errors, no warnings}"
if grep -q '^E: ' <<<"$report"; then
  echo "packaging: lintian found errors" >&2
  exit 1
fi
unlisted=0
while read -r tag; do
  if ! grep -q -- "\`$tag\`" packaging/README.md; then
    echo "packaging: lintian warning $tag is neither fixed nor listed with a reason in packaging/README.md" >&2
    unlisted=1
  fi
done < <(sed -n 's/^W: [^ ]* \([a-z0-9-]*\).*/\1/p' <<<"$report" | sort -u)
[ "$unlisted" = 0 ]
SOCKSCOPE_DEB="$PWD/$deb" cargo test -q -p sockscope --test package -- --ignored
