#!/usr/bin/env bash
# README's real Debian example of `stagecraft explain`: builds examples/debian-explain (a Debian
# bookworm minbase made by debootstrap and imported as debian:bookworm, apt-get install python3, a
# venv with requests from PyPI built in a builder stage) in a store of its own, then writes the
# output of `stagecraft explain --top 5` between the explain-example markers of README.md.
# usage: scripts/explain-example.sh    (as root: debootstrap and builds; Debian's archive and PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=$PWD/target/debug/stagecraft

# The Debian base the tests share (tests/common/rootfs.rs), made here if no test made it yet.
fixtures=${STAGECRAFT_TEST_FIXTURES:-/var/tmp/stagecraft-test-fixtures}
rootfs=$fixtures/debian-bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$fixtures"
(
  flock 9
  if [ ! -e "$fixtures/debian-bookworm.ok" ]; then
    rm -rf "$rootfs.tmp" "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror"
    find "$rootfs.tmp/var/cache/apt/archives" "$rootfs.tmp/var/lib/apt/lists" -maxdepth 1 -type f -delete
    mv "$rootfs.tmp" "$rootfs"
    echo "$mirror" >"$fixtures/debian-bookworm.ok"
  fi
) 9>"$fixtures/debian-bookworm.lock"

store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
sc() { "$bin" --root "$store" "$@"; }
sc image import "rootfs:$rootfs" -t debian:bookworm --compression none >/dev/null
# HTTPS from inside a RUN needs this machine's CA bundle (see ../shared/peers/README.md).
sc build --progress plain -t pyapp:1 \
  --secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt examples/debian-explain >/dev/null
report=$(cd "$store" && sc explain --top 5)

python3 - "$report" <<'PY'
import re, sys
readme = open("README.md").read()
block = "<!-- explain-example:start -->\n```text\n$ stagecraft explain --top 5\n" + sys.argv[1].rstrip() + "\n```\n<!-- explain-example:end -->"
new, n = re.subn(r"<!-- explain-example:start -->.*?<!-- explain-example:end -->", lambda _: block, readme, flags=re.S)
if n != 1:
    sys.exit("README.md: no explain-example markers")
open("README.md", "w").write(new)
PY
echo "README.md: explain example updated"
