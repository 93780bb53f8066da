#!/usr/bin/env bash
# Real-world builds, stagecraft against BuildKit (the private dockerd 20.10 of bench/peers),
# interleaved run by run so both see the same machine load; prints each side's median per case and
# scenario and the ratio. The cases (bench/cases/realworld-*) start from a Debian bookworm minbase
# that bench/peers/setup-peers.sh debootstraps (once); apt reads Debian's archive over plain HTTP,
# pip reads PyPI over HTTPS with this machine's CA bundle passed as the secret `cacert`.
#
# Scenarios: cold (empty cache: a copy of a store holding only the base image / `builder prune`),
# cached (the same build again), edit (one source file changed: main.c, app.py). Each run does the
# three in turn for both engines, alternating which engine goes first.
#
# With BARE=1 the apt-get RUN of the C case also runs in a bare chroot over an overlay of the same
# base (no runtime, no layer commit), the floor a RUN step cannot beat, and each engine's own
# duration of that step is printed next to it (stagecraft's step_finished, BuildKit's DONE line).
#
# Usage: bench/realworld.sh [RUNS]   (default 3)
# Env: STAGECRAFT (binary, default target/release/stagecraft), BENCH_DIR, DOCKERD_DIR,
#      CASES ("c py"), SCENARIOS ("cold cached edit"), SC_FLAGS, BARE=1, KEEP=1 (keep the work dir)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/stagecraft-bench}
RUNS=${1:-3}
SC=$(readlink -f "${STAGECRAFT:-$(dirname "$HERE")/target/release/stagecraft}")
DOCKERD_DIR=${DOCKERD_DIR:-$BENCH_DIR/dockerd-realworld}
CASES=${CASES:-c py}
SCENARIOS=${SCENARIOS:-cold cached edit}
DOCKER=/usr/bin/docker
CA=/etc/ssl/certs/ca-certificates.crt
[ "$(id -u)" = 0 ] || { echo "must run as root (overlay mounts, dockerd)" >&2; exit 1; }
[ -x "$SC" ] || { echo "no stagecraft at $SC: cargo build --release" >&2; exit 1; }
for tool in debootstrap umoci skopeo dockerd runc bc; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install debootstrap umoci skopeo docker.io runc bc" >&2; exit 1; }
done
[ -f "$CA" ] || { echo "$CA missing: apt-get install ca-certificates" >&2; exit 1; }

if [ ! -f "$BENCH_DIR/oci/debian/index.json" ] || [ ! -s "$BENCH_DIR/archives/debian.docker.tar" ]; then
  SKIP_APT=1 "$HERE/peers/setup-peers.sh" "$BENCH_DIR" >&2
fi

# A dockerd of our own (its own state dir), stopped at the end unless it was already running.
started=1
if [ -f "$DOCKERD_DIR/dockerd.pid" ] && kill -0 "$(cat "$DOCKERD_DIR/dockerd.pid")" 2>/dev/null; then started=0; fi
"$HERE/peers/start-dockerd.sh" "$DOCKERD_DIR" >/dev/null
export DOCKER_HOST=unix://$DOCKERD_DIR/docker.sock
$DOCKER image inspect debian:bookworm >/dev/null 2>&1 || $DOCKER load -q -i "$BENCH_DIR/archives/debian.docker.tar" >/dev/null
W=$(mktemp -d /var/tmp/stagecraft-realworld.XXXXXX)
cleanup() {
  [ "${KEEP:-0}" = 1 ] || rm -rf "$W"
  [ "$started" = 1 ] && "$HERE/peers/stop-dockerd.sh" "$DOCKERD_DIR" >/dev/null 2>&1
  true
}
trap cleanup EXIT
STAGECRAFT_ROOT=$W/base "$SC" image import "oci:$BENCH_DIR/oci/debian:bookworm" -t debian:bookworm >/dev/null

now() { date +%s.%N; }
source_file() { case $1 in c) echo main.c ;; py) echo app.py ;; esac; }
build_args() { case $1 in py) echo "--secret id=cacert,src=$CA" ;; esac; }

# sc CASE SCENARIO: prints the wall time of one stagecraft build.
sc() {
  local case=$1 scenario=$2 t0
  if [ "$scenario" = cold ]; then rm -rf "$W/root-$case"; cp -a "$W/base" "$W/root-$case"; sync; fi
  t0=$(now)
  # shellcheck disable=SC2046 # build_args is a word list on purpose
  (cd "$W/$case" && STAGECRAFT_ROOT=$W/root-$case "$SC" build --progress=json ${SC_FLAGS:-} \
      $(build_args "$case") -t "rw-$case:sc" . >"$W/sc-$case-$scenario.json" 2>"$W/sc.log") \
    || { tail -20 "$W/sc.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}

# bk CASE SCENARIO: the same with BuildKit.
bk() {
  local case=$1 scenario=$2 t0
  if [ "$scenario" = cold ]; then
    $DOCKER rmi -f "rw-$case:bk" >/dev/null 2>&1 || true
    $DOCKER builder prune -af >/dev/null; sync
  fi
  t0=$(now)
  # shellcheck disable=SC2046
  (cd "$W/$case" && DOCKER_BUILDKIT=1 $DOCKER build --progress=plain --network host \
      $(build_args "$case") -t "rw-$case:bk" . >"$W/bk-$case-$scenario.log" 2>&1) \
    || { tail -20 "$W/bk-$case-$scenario.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}

# The apt RUN's own duration: stagecraft's step_finished of step build/1, BuildKit's DONE line.
sc_apt_step() { grep '^{' "$1" | jq -r 'select(.type=="step_finished" and .step=="build/1") | .duration'; }
bk_apt_step() { awk '/RUN apt-get update/ {n=$1} n && $1==n && / DONE / {sub("s","",$3); print $3; exit}' "$1"; }

# The C case's apt-get in a bare chroot over an overlay of the same base: the floor.
bare_apt() {
  local lower b t0
  lower=$(find "$W/base/snapshots" -mindepth 2 -maxdepth 2 -name fs | head -1)
  b=$W/bare; rm -rf "$b"; mkdir -p "$b/upper" "$b/work" "$b/merged"
  t0=$(now)
  unshare -m --propagation private sh -c '
    set -e
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged"
    mount -t proc proc "$2/merged/proc"; mount --rbind /dev "$2/merged/dev"
    cp /etc/resolv.conf "$2/merged/etc/resolv.conf"
    chroot "$2/merged" /bin/sh -c "apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev make && rm -rf /var/lib/apt/lists/*"
  ' sh "$lower" "$b" >"$W/bare.log" 2>&1 || { tail -20 "$W/bare.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
  rm -rf "$b"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for case in $CASES; do
  cp -a "$HERE/cases/realworld-$case" "$W/$case"
  : >"$W/loads"
  for run in $(seq 0 "$RUNS"); do # run 0 warms both (page cache, daemon, archive mirror) and is not counted
    for scenario in $SCENARIOS; do
      if [ "$scenario" = edit ]; then sed -i "s/edit: [0-9]*/edit: $run$RANDOM/" "$W/$case/$(source_file "$case")"; fi
      if [ $((run % 2)) = 1 ]; then s=$(sc "$case" "$scenario"); b=$(bk "$case" "$scenario")
      else b=$(bk "$case" "$scenario"); s=$(sc "$case" "$scenario"); fi
      [ "$run" = 0 ] && continue
      echo "$s" >>"$W/sc-$case-$scenario"; echo "$b" >>"$W/bk-$case-$scenario"
      if [ "$scenario" = cold ] && [ "$case" = c ]; then
        sc_apt_step "$W/sc-c-cold.json" >>"$W/sc-apt"; bk_apt_step "$W/bk-c-cold.log" >>"$W/bk-apt"
        [ "${BARE:-0}" = 1 ] && bare_apt >>"$W/bare-apt"
      fi
    done
    cut -d' ' -f1 /proc/loadavg >>"$W/loads"
  done
  for scenario in $SCENARIOS; do
    s=$(median <"$W/sc-$case-$scenario"); b=$(median <"$W/bk-$case-$scenario")
    awk -v c="$case" -v sc="$scenario" -v s="$s" -v b="$b" -v n="$RUNS" \
      'BEGIN { printf "%-3s %-7s stagecraft %7.3f s  BuildKit %7.3f s  ratio %.2f  (medians of %d)\n", c, sc, s, b, s/b, n }'
    echo "    stagecraft: $(tr '\n' ' ' <"$W/sc-$case-$scenario")  BuildKit: $(tr '\n' ' ' <"$W/bk-$case-$scenario")"
  done
  echo "    load average (1 min) after each run: $(tr '\n' ' ' <"$W/loads")"
done
if [ -s "$W/sc-apt" ]; then
  echo "apt RUN of the C case (medians): stagecraft step $(median <"$W/sc-apt") s, BuildKit step $(median <"$W/bk-apt") s"
  [ -s "$W/bare-apt" ] && echo "    bare chroot over overlay $(median <"$W/bare-apt") s ($(tr '\n' ' ' <"$W/bare-apt"))"
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
