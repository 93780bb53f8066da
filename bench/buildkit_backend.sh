#!/usr/bin/env bash
# `stagecraft build --builder docker` against plain `docker build` (Debian's 20.10 CLI, BuildKit)
# on the same private dockerd, cold (build cache pruned) and cached, interleaved run by run so
# both see the same machine load; prints each side's median and the ratio (goal ≤ 1.05).
#
# Usage: bench/buildkit_backend.sh [RUNS]   Env: STAGECRAFT (binary), DOCKERD_DIR, CASE
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/stagecraft-bench}
RUNS=${1:-7}
SC=${STAGECRAFT:-$(dirname "$HERE")/target/release/stagecraft}
DOCKERD_DIR=${DOCKERD_DIR:-$BENCH_DIR/dockerd-buildkit-backend}
CASE=${CASE:-$HERE/peers/cases/basic}
DOCKER=/usr/bin/docker
ARGS="--build-arg BASE=localhost/busybox:latest"

. "$HERE/peers/bench-dockerd.sh"
bench_dockerd_start "$DOCKERD_DIR"
W=$(mktemp -d)
trap 'rm -rf "$W"; bench_dockerd_stop' EXIT
cp -a "$CASE" "$W/case"

now() { date +%s.%N; }
# $1 = cold|cached
sc_run() {
  [ "$1" = cold ] && { $DOCKER builder prune -af >/dev/null; sync; }
  local t0; t0=$(now)
  (cd "$W/case" && STAGECRAFT_ROOT=$W/root "$SC" build --builder docker --progress=plain $ARGS -t basic:sc . >/dev/null 2>"$W/sc.log") \
    || { cat "$W/sc.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}
bk_run() {
  [ "$1" = cold ] && { $DOCKER builder prune -af >/dev/null; sync; }
  local t0; t0=$(now)
  (cd "$W/case" && DOCKER_BUILDKIT=1 $DOCKER build -q --network host $ARGS -t basic:bk . >/dev/null)
  echo "$(now) - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
bk_run cold >/dev/null; sc_run cold >/dev/null # warm both (page cache, daemon)
for mode in cold cached; do
  : > "$W/sc"; : > "$W/bk"
  for _ in $(seq 1 "$RUNS"); do sc_run $mode >> "$W/sc"; bk_run $mode >> "$W/bk"; done
  s=$(median < "$W/sc"); b=$(median < "$W/bk")
  echo "$mode stagecraft: $(tr '\n' ' ' < "$W/sc")"
  echo "$mode docker:     $(tr '\n' ' ' < "$W/bk")"
  awk -v m="$mode" -v s="$s" -v b="$b" -v n="$RUNS" 'BEGIN { printf "%s basic, %d interleaved runs: --builder docker %.3f s, docker build %.3f s (medians), ratio %.2f\n", m, n, s, b, s/b }'
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
