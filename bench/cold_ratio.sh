#!/usr/bin/env bash
# Cold builds of bench/peers/cases/basic, stagecraft and BuildKit (a private dockerd 20.10)
# interleaved run by run, so both see the same machine load; prints each side's median and the
# ratio. The machine is shared: interleaving and medians are what make the ratio meaningful.
#
# Usage: bench/cold_ratio.sh [RUNS]     Env: STAGECRAFT (binary), DOCKERD_DIR, CASE, SC_FLAGS
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/stagecraft-bench}
RUNS=${1:-7}
SC=${STAGECRAFT:-$(dirname "$HERE")/target/release/stagecraft}
DOCKERD_DIR=${DOCKERD_DIR:-$BENCH_DIR/dockerd-cold-ratio}
CASE=${CASE:-$HERE/peers/cases/basic}
DOCKER=/usr/bin/docker
ARGS="--build-arg BASE=localhost/busybox:latest"

. "$HERE/peers/bench-dockerd.sh"
bench_dockerd_start "$DOCKERD_DIR"
W=$(mktemp -d)
trap 'rm -rf "$W"; bench_dockerd_stop' EXIT
cp -a "$CASE" "$W/case"
STAGECRAFT_ROOT=$W/base "$SC" image import "oci:$BENCH_DIR/oci/busybox:latest" -t localhost/busybox:latest >/dev/null

now() { date +%s.%N; }
sc_run() {
  rm -rf "$W/root"; cp -a "$W/base" "$W/root"; sync
  local t0; t0=$(now)
  (cd "$W/case" && STAGECRAFT_ROOT=$W/root "$SC" build --progress=plain ${SC_FLAGS:-} $ARGS -t basic:bench . >/dev/null 2>"$W/sc.log") \
    || { cat "$W/sc.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}
bk_run() {
  $DOCKER rmi -f basic:bench-bk >/dev/null 2>&1 || true
  $DOCKER builder prune -af >/dev/null; sync
  local t0; t0=$(now)
  (cd "$W/case" && DOCKER_BUILDKIT=1 $DOCKER build -q --network host $ARGS -t basic:bench-bk . >/dev/null)
  echo "$(now) - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
bk_run >/dev/null; sc_run >/dev/null # warm both (page cache, daemon)
: > "$W/sc"; : > "$W/bk"
for _ in $(seq 1 "$RUNS"); do sc_run >> "$W/sc"; bk_run >> "$W/bk"; done
s=$(median < "$W/sc"); b=$(median < "$W/bk")
echo "stagecraft: $(tr '\n' ' ' < "$W/sc")"
echo "buildkit:   $(tr '\n' ' ' < "$W/bk")"
awk -v s="$s" -v b="$b" -v n="$RUNS" 'BEGIN { printf "cold basic, %d interleaved runs: stagecraft %.3f s, BuildKit %.3f s (medians), ratio %.2f\n", n, s, b, s/b }'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
