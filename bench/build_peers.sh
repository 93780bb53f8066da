#!/usr/bin/env bash
# Builds the same multi-stage Dockerfiles with stagecraft, docker's BuildKit (a private dockerd
# 20.10) and `buildah build --layers`, side by side in one run, and prints wall-time ratios
# (stagecraft / peer) for cold, fully cached and incremental builds; then the speedup of two
# independent CPU-bound stages run together (--jobs 2) over one after the other (--jobs 1).
#
# Usage: bench/build_peers.sh            Env: RUNS (default 5), BENCH_DIR, PEERS
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
export BENCH_DIR=${BENCH_DIR:-/var/tmp/stagecraft-bench}
RUNS=${RUNS:-5}
PEERS=${PEERS:-"docker-buildkit buildah-overlay-runc stagecraft"}

[ -f "$BENCH_DIR/oci/busybox/index.json" ] || SKIP_DEBIAN=1 "$HERE/peers/setup-peers.sh" "$BENCH_DIR"
(cd "$ROOT" && cargo build --release --quiet)
export STAGECRAFT=$ROOT/target/release/stagecraft
LOAD_BUSYBOX=1 "$HERE/peers/start-dockerd.sh" "$BENCH_DIR/dockerd" >/dev/null
trap '"$HERE/peers/stop-dockerd.sh" "$BENCH_DIR/dockerd" >/dev/null 2>&1 || true' EXIT

# The cache20 case with a 50 MB context (generated, not committed).
CASES=$(mktemp -d)
cp -a "$HERE/peers/cases/basic" "$HERE/cases/cache20" "$CASES/"
mkdir -p "$CASES/cache20/data"
for i in $(seq 1 50); do head -c 1048576 /dev/urandom > "$CASES/cache20/data/part$i.bin"; done
seq 1 5000 | sort -R > "$CASES/cache20/data/manifest.txt"

ratio() { # summary peer scenario -> median
  awk -F'|' -v p=" $2 " -v s=" $3 " '$2==p && $3==s {gsub(/ /,"",$4); print $4}' "$1"
}
for case in basic cache20; do
  out=$(RUNS=$RUNS "$HERE/peers/bench-peers.sh" "$CASES/$case" $PEERS | tail -n 1 | sed 's/^results: //')
  echo "## $case"
  cat "$out/summary.md"
  for sc in cold cached incremental; do
    sc_t=$(ratio "$out/summary.md" stagecraft $sc)
    for peer in docker-buildkit buildah-overlay-runc; do
      p_t=$(ratio "$out/summary.md" $peer $sc)
      [ -n "$sc_t" ] && [ -n "$p_t" ] && awk -v a="$sc_t" -v b="$p_t" -v c="$case" -v s="$sc" -v p="$peer" \
        'BEGIN { printf "%s %-11s stagecraft/%s = %.2f (%.3f s vs %.3f s)\n", c, s, p, a/b, a, b }'
    done
  done
done

# Parallel stages: --jobs 2 against --jobs 1, no cache, same store.
SCR=$(mktemp -d)
STAGECRAFT_ROOT=$SCR "$STAGECRAFT" image import "oci:$BENCH_DIR/oci/busybox:latest" -t busybox:latest >/dev/null
cd "$HERE/cases/parallel"
hyperfine --runs "$RUNS" --export-json "$SCR/par.json" \
  -n jobs1 "STAGECRAFT_ROOT=$SCR $STAGECRAFT build --progress=plain --no-cache --jobs 1 . >/dev/null 2>&1" \
  -n jobs2 "STAGECRAFT_ROOT=$SCR $STAGECRAFT build --progress=plain --no-cache --jobs 2 . >/dev/null 2>&1" >/dev/null
jq -r '.results | "parallel stages: --jobs 1 \(.[0].median*1000|round/1000) s, --jobs 2 \(.[1].median*1000|round/1000) s, speedup \((.[0].median/.[1].median)*100|round/100)x"' "$SCR/par.json"
rm -rf "$SCR" "$CASES"
