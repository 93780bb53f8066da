#!/usr/bin/env bash
# Does the background layer digest slow the step that runs meanwhile? A CPU-bound RUN (a shell
# loop, one core) follows either a 600 MB layer, whose tar and digest are made in the background
# while the loop runs, or a 1 MB one (nothing left to digest). Both builds use --no-cache and run
# interleaved; the loop's own duration is the step's `step_finished` duration. Goal: the median
# ratio (big / small) under 1.05.
#
# Usage: bench/digest_interference.sh [RUNS]   (default 7)
# Env: STAGECRAFT (binary, default target/release/stagecraft), BENCH_DIR, MB (default 600),
#      LOOP (shell loop iterations, default 1500000)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/stagecraft-bench}
RUNS=${1:-7}
SC=$(readlink -f "${STAGECRAFT:-$(dirname "$HERE")/target/release/stagecraft}")
MB=${MB:-600}
LOOP=${LOOP:-1500000}
[ "$(id -u)" = 0 ] || { echo "must run as root (overlay mounts)" >&2; exit 1; }
[ -x "$SC" ] || { echo "no stagecraft at $SC: cargo build --release" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq missing: apt-get install jq" >&2; exit 1; }
if [ ! -f "$BENCH_DIR/oci/busybox/index.json" ]; then
  SKIP_APT=1 SKIP_DEBIAN=1 "$HERE/peers/setup-peers.sh" "$BENCH_DIR" >&2
fi
W=$(mktemp -d /var/tmp/stagecraft-digest-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
STAGECRAFT_ROOT=$W/root "$SC" image import "oci:$BENCH_DIR/oci/busybox:latest" -t busybox >/dev/null
for size in big small; do
  mb=$MB; [ $size = small ] && mb=1
  mkdir -p "$W/$size"
  cat >"$W/$size/Dockerfile" <<DF
FROM busybox
RUN dd if=/dev/urandom of=/blob bs=1M count=$mb 2>/dev/null
RUN i=0; while [ \$i -lt $LOOP ]; do i=\$((i+1)); done
DF
done

# loop_seconds SIZE: the CPU-bound step's duration in one --no-cache build.
loop_seconds() {
  (cd "$W/$1" && STAGECRAFT_ROOT=$W/root "$SC" build --no-cache --progress=json . >"$W/events.json" 2>"$W/err") \
    || { tail -5 "$W/err" >&2; exit 1; }
  jq -r 'select(.type=="step_finished" and .step=="0/2") | .duration' "$W/events.json"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

loop_seconds small >/dev/null; loop_seconds big >/dev/null # warm up
: >"$W/big.txt"; : >"$W/small.txt"
for run in $(seq 1 "$RUNS"); do
  if [ $((run % 2)) = 1 ]; then loop_seconds big >>"$W/big.txt"; loop_seconds small >>"$W/small.txt"
  else loop_seconds small >>"$W/small.txt"; loop_seconds big >>"$W/big.txt"; fi
done
b=$(median <"$W/big.txt"); s=$(median <"$W/small.txt")
echo "CPU-bound RUN after a $MB MB layer (digest in the background): $(tr '\n' ' ' <"$W/big.txt")"
echo "CPU-bound RUN after a 1 MB layer (nothing to digest):           $(tr '\n' ' ' <"$W/small.txt")"
awk -v b="$b" -v s="$s" -v n="$RUNS" 'BEGIN { printf "medians of %d: %.3f s vs %.3f s, ratio %.3f (goal < 1.05)\n", n, b, s, b/s }'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
