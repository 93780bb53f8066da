#!/usr/bin/env bash
# A fresh store with `--cache-from` (a registry cache exported by another store, mode=max) against
# a cold build of the same case, and BuildKit (a private dockerd 20.10) cold and with its inline
# cache pulled from the same registry (`BUILDKIT_INLINE_CACHE=1`, pushed, then the build cache
# pruned and the image removed before each run: a fresh runner). All four interleaved run by run,
# so they see the same machine load; prints medians and the ratios (goal: --cache-from ≤ 0.2× cold).
#
# Usage: bench/cache_from.sh [RUNS]    Env: STAGECRAFT (binary), DOCKERD_DIR, CASE, REGISTRY_PORT
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/stagecraft-bench}
RUNS=${1:-5}
SC=${STAGECRAFT:-$(dirname "$HERE")/target/release/stagecraft}
DOCKERD_DIR=${DOCKERD_DIR:-$BENCH_DIR/dockerd-cache-from}
CASE=${CASE:-$HERE/peers/cases/basic}
PORT=${REGISTRY_PORT:-5055}
REG=127.0.0.1:$PORT
DOCKER=/usr/bin/docker
ARGS="--build-arg BASE=localhost/busybox:latest"

. "$HERE/peers/bench-dockerd.sh"
bench_dockerd_start "$DOCKERD_DIR"
W=$(mktemp -d)
REGISTRY_PORT=$PORT "$HERE/peers/start-registry.sh" "$W/registry" >/dev/null
cleanup() {
  "$HERE/peers/stop-registry.sh" "$W/registry" >/dev/null 2>&1 || true
  rm -rf "$W"
  bench_dockerd_stop
}
trap cleanup EXIT
cp -a "$CASE" "$W/case"
STAGECRAFT_ROOT=$W/base "$SC" image import "oci:$BENCH_DIR/oci/busybox:latest" -t localhost/busybox:latest >/dev/null

# The exporting machine: one stagecraft store and one BuildKit build, each pushing its cache.
cp -a "$W/base" "$W/exporter"
(cd "$W/case" && STAGECRAFT_ROOT=$W/exporter SOURCE_DATE_EPOCH=0 "$SC" build --progress=plain $ARGS \
  --cache-to "type=registry,ref=$REG/basic:sc-cache,mode=max" . >/dev/null 2>"$W/export.log") \
  || { cat "$W/export.log" >&2; exit 1; }
(cd "$W/case" && DOCKER_BUILDKIT=1 $DOCKER build -q --network host $ARGS --build-arg BUILDKIT_INLINE_CACHE=1 \
  -t "$REG/basic:bk-inline" . >/dev/null) && $DOCKER push -q "$REG/basic:bk-inline" >/dev/null

now() { date +%s.%N; }
# $1 = cold | from
sc_run() {
  rm -rf "$W/root"; cp -a "$W/base" "$W/root"; sync
  local from=() t0
  [ "$1" = from ] && from=(--cache-from "type=registry,ref=$REG/basic:sc-cache")
  t0=$(now)
  (cd "$W/case" && STAGECRAFT_ROOT=$W/root SOURCE_DATE_EPOCH=0 "$SC" build --progress=plain $ARGS "${from[@]}" \
    -t basic:bench . >/dev/null 2>"$W/sc.log") || { cat "$W/sc.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}
bk_run() {
  $DOCKER rmi -f basic:bench-bk "$REG/basic:bk-inline" >/dev/null 2>&1 || true
  $DOCKER builder prune -af >/dev/null; sync
  local from=() t0
  [ "$1" = from ] && from=(--cache-from "$REG/basic:bk-inline")
  t0=$(now)
  (cd "$W/case" && DOCKER_BUILDKIT=1 $DOCKER build -q --network host $ARGS "${from[@]}" -t basic:bench-bk . >/dev/null)
  echo "$(now) - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
sc_run cold >/dev/null; bk_run cold >/dev/null # warm both (page cache, daemon)
for f in sc_cold sc_from bk_cold bk_from; do : > "$W/$f"; done
for _ in $(seq 1 "$RUNS"); do
  sc_run cold >> "$W/sc_cold"; sc_run from >> "$W/sc_from"
  bk_run cold >> "$W/bk_cold"; bk_run from >> "$W/bk_from"
done
# Every fresh-store run above must have hit: the last one ran no step.
grep -q "cached (100%)" "$W/sc.log" || { echo "--cache-from did not hit every step:" >&2; tail -3 "$W/sc.log" >&2; exit 1; }
for f in sc_cold sc_from bk_cold bk_from; do echo "$f: $(tr '\n' ' ' < "$W/$f")"; done
sc=$(median < "$W/sc_cold"); sf=$(median < "$W/sc_from"); bc_=$(median < "$W/bk_cold"); bf=$(median < "$W/bk_from")
awk -v n="$RUNS" -v sc="$sc" -v sf="$sf" -v bc="$bc_" -v bf="$bf" 'BEGIN {
  printf "basic, %d interleaved runs (medians): stagecraft cold %.3f s, fresh store + --cache-from %.3f s (%.2fx cold)\n", n, sc, sf, sf/sc
  printf "BuildKit cold %.3f s, fresh builder + inline --cache-from %.3f s (%.2fx cold); stagecraft --cache-from / BuildKit inline: %.2f\n", bc, bf, bf/bc, sf/bf
}'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
