#!/usr/bin/env bash
# The same build as root and as a regular user (rootless: user namespace, userxattr overlay, runc
# rootless), interleaved run by run so both see the same machine load; prints each side's median
# and the ratio for three scenarios: cold (empty cache), cached (nothing changed) and one file
# changed (the COPY of hello.txt and what follows rebuild). Both sides start through `runuser`
# (root as root), so the process start costs the same.
#
# Usage (as root): bench/rootless_ratio.sh [RUNS]
# Env: STAGECRAFT (binary; default target/release, else target/debug), CASE, BENCH_USER (a user
# with a /etc/subuid range; default stagecraft-rootless, which .ci/run creates).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${1:-7}
SC=${STAGECRAFT:-$(dirname "$HERE")/target/release/stagecraft}
[ -x "$SC" ] || SC=$(dirname "$HERE")/target/debug/stagecraft
CASE=${CASE:-$HERE/peers/cases/basic}
USER_NAME=${BENCH_USER:-stagecraft-rootless}
BUSYBOX=/bin/busybox
[ "$(id -u)" = 0 ] || { echo "run as root (it times root and $USER_NAME side by side)" >&2; exit 2; }
id "$USER_NAME" >/dev/null || { echo "no user $USER_NAME (.ci/run creates it)" >&2; exit 2; }
[ -x "$BUSYBOX" ] || { echo "needs $BUSYBOX (apt-get install busybox-static)" >&2; exit 2; }

# The user must reach everything: the binary and the case live under a world-readable dir.
W=$(mktemp -d /tmp/stagecraft-rootless-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
cp "$SC" "$W/stagecraft"
cp -a "$CASE" "$W/case"
mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp" "$W/home" "$W/run" "$W/base-user"
cp "$BUSYBOX" "$W/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
  [ -e "$W/rootfs/$applet" ] || { mkdir -p "$W/rootfs/$(dirname "$applet")"; ln -s /bin/busybox "$W/rootfs/$applet"; }
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
echo 'root:x:0:' > "$W/rootfs/etc/group"
chmod 1777 "$W/rootfs/tmp"
chown -R "$USER_NAME:" "$W/case" "$W/rootfs" "$W/home" "$W/run" "$W/base-user"
chmod 700 "$W/run"

# as WHO STORE ARGS...: the binary through runuser, in a clean environment, from the case dir.
as() {
  local who=$1 store=$2; shift 2
  (cd "$W/case" && runuser -u "$who" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    HOME="$W/home" XDG_RUNTIME_DIR="$W/run" STAGECRAFT_ROOT="$store" "$W/stagecraft" "$@")
}
# Base stores with busybox imported, one per side (the user's made by the user).
as root "$W/base-root" image import "rootfs:$W/rootfs" -t localhost/busybox:latest >/dev/null
as "$USER_NAME" "$W/base-user" image import "rootfs:$W/rootfs" -t localhost/busybox:latest >/dev/null

now() { date +%s.%N; }
ARGS=(build --progress=plain --build-arg BASE=localhost/busybox:latest -t basic:bench .)
# fresh WHO: the side's store back to just the base.
fresh() {
  local side=$1; rm -rf "$W/store-$side"; cp -a "$W/base-$side" "$W/store-$side"; sync
}
# timed WHO SIDE: seconds for one build.
timed() {
  local who=$1 side=$2 t0
  t0=$(now)
  as "$who" "$W/store-$side" "${ARGS[@]}" >/dev/null 2>"$W/$side.log" || { cat "$W/$side.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}
run() { # SCENARIO WHO SIDE
  case $1 in
    cold) fresh "$3" ;;
    cached) ;;
    changed) echo "change $RANDOM" >> "$W/case/hello.txt" ;;
  esac
  timed "$2" "$3"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "binary: $SC; case: $CASE; user: $USER_NAME; $RUNS interleaved runs per scenario"
for side in root user; do fresh "$side"; done
for scenario in cold cached changed; do
  # Warm both (page cache; for cached/changed, a complete build to start from).
  run cold root root >/dev/null; run cold "$USER_NAME" user >/dev/null
  : > "$W/t-root"; : > "$W/t-user"
  for _ in $(seq 1 "$RUNS"); do
    run "$scenario" root root >> "$W/t-root"
    # `changed` edits the context once per pair: the user's build sees the same edit.
    [ "$scenario" = changed ] && s=cached || s=$scenario
    run "$s" "$USER_NAME" user >> "$W/t-user"
  done
  r=$(median < "$W/t-root"); u=$(median < "$W/t-user")
  echo "  root:     $(tr '\n' ' ' < "$W/t-root")"
  echo "  rootless: $(tr '\n' ' ' < "$W/t-user")"
  awk -v s="$scenario" -v r="$r" -v u="$u" 'BEGIN { printf "%-8s root %.3f s, rootless %.3f s (medians), ratio %.2f\n", s, r, u, u/r }'
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
