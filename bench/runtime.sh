#!/usr/bin/env bash
# bench/runtime.sh — what one RUN step costs in stagecraft, next to the bare minimum: mounting a
# fresh overlay over the same rootfs, `runc run` (or crun) on it, and unmounting, from a shell.
#
# stagecraft's per-RUN cost is measured as (build with N RUN steps - the same build with none) / N,
# both with --no-cache, so image import, layer commits of COPY and the export are subtracted.
# Every RUN also commits its (tiny) layer, which the bare loop does not: the ratio is the whole
# overhead of a real step over the runtime itself.
#
# Usage: bench/runtime.sh [STAGECRAFT]   Env: RUNS=5, STEPS=10, RUNTIME=runc|crun
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/debug/stagecraft}")
RUNS=${RUNS:-5}
STEPS=${STEPS:-10}
RUNTIME=${RUNTIME:-runc}
[ -x "$BIN" ] || { echo "build stagecraft first (cargo build)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }

W=$(mktemp -d /var/tmp/stagecraft-runtime-bench.XXXXXX)
trap 'umount "$W/ovl/merged" 2>/dev/null || true; rm -rf "$W"' EXIT

# A busybox rootfs as the build context, and the same rootfs as the bare loop's lower dir.
R=$W/ctx/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/proc" "$R/sys" "$R/dev" "$R/root"
cp /bin/busybox "$R/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$R/$applet" ] || { mkdir -p "$(dirname "$R/$applet")"; ln -s /bin/busybox "$R/$applet"; }
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"

printf 'FROM scratch\nCOPY rootfs/ /\n' > "$W/ctx/Dockerfile.base"
cp "$W/ctx/Dockerfile.base" "$W/ctx/Dockerfile.runs"
for i in $(seq 1 "$STEPS"); do echo "RUN echo ok > /ok$i" >> "$W/ctx/Dockerfile.runs"; done

# The bare loop: STEPS × (fresh overlay, runtime run, unmount), in a private mount namespace
# (crun needs /sys/fs/cgroup/unified gone on hybrid-cgroup hosts).
mkdir -p "$W/bundle"
(cd "$W/bundle" && runc spec)
jq --arg r "$W/ovl/merged" '.process.terminal=false | .process.args=["/bin/sh","-c","echo ok > /ok"]
  | del(.process.rlimits) | .root={path:$r, readonly:false}' "$W/bundle/config.json" > "$W/bundle/c.json"
mv "$W/bundle/c.json" "$W/bundle/config.json"
cat > "$W/bare.sh" <<EOS
#!/bin/sh
set -e
umount /sys/fs/cgroup/unified 2>/dev/null || true
for i in \$(seq 1 $STEPS); do
  rm -rf "$W/ovl"; mkdir -p "$W/ovl/upper" "$W/ovl/work" "$W/ovl/merged"
  mount -t overlay overlay -o "lowerdir=$R,upperdir=$W/ovl/upper,workdir=$W/ovl/work" "$W/ovl/merged"
  $RUNTIME --root "$W/state" run --bundle "$W/bundle" "bare-\$\$-\$i" > /dev/null
  umount "$W/ovl/merged"
  test -f "$W/ovl/upper/ok"
done
EOS
chmod +x "$W/bare.sh"

build() { echo "$BIN build --root $W/store --no-cache --progress plain --runtime $RUNTIME -f $W/ctx/Dockerfile.$1 $W/ctx"; }
sh -c "$(build runs)" > "$W/check.log" 2>&1 || { cat "$W/check.log"; exit 1; }

hyperfine --runs "$RUNS" --warmup 1 --export-json "$W/result.json" \
  -n base "$(build base)" -n runs "$(build runs)" \
  -n bare "unshare -m --propagation private $W/bare.sh"

jq -r --argjson n "$STEPS" '
  (.results | map({(.command): .mean}) | add) as $m
  | (($m.runs - $m.base) / $n) as $ours
  | ($m.bare / $n) as $bare
  | "per RUN step: stagecraft \($ours * 1000 | floor) ms, bare overlay+'"$RUNTIME"' \($bare * 1000 | floor) ms, ratio \($ours / $bare * 100 | floor / 100)"' "$W/result.json"
