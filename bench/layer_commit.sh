#!/usr/bin/env bash
# Layer-commit benchmark: commit a ~1 GB directory of mixed file sizes as a layer
# (`stagecraft image import rootfs:DIR`, i.e. Store::commit_layer plus a config and manifest)
# and compare, in the same hyperfine run, with `tar -cf - DIR | sha256sum` on the same
# directory. Goal: <= 1.2x the tar pipeline uncompressed.
#
# Env: STAGECRAFT (binary, default target/release/stagecraft), BENCH_WORK (default
# /var/tmp/stagecraft-layer-bench), STORE (default $BENCH_WORK/store; put it on tmpfs, e.g.
# /dev/shm/sc-store, to take the disk out of the comparison: the tar pipeline writes nothing),
# SIZE_MB (default 1024), RUNS (default 5), GZIP=0 to skip the gzip commands.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${STAGECRAFT:-target/release/stagecraft}")
WORK=${BENCH_WORK:-/var/tmp/stagecraft-layer-bench}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-5}
DATA=$WORK/data-$SIZE_MB
STORE=${STORE:-$WORK/store}
mkdir -p "$WORK"

if [ ! -d "$DATA" ]; then
  # Mixed sizes, half compressible text and half random bytes, deterministic.
  python3 - "$DATA" "$SIZE_MB" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(42)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
def content(n, i):
    if i % 2:
        return rng.randbytes(n)
    out = bytearray()
    while len(out) < n:
        out += b" ".join(rng.choice(words) for _ in range(64)) + b"\n"
    return bytes(out[:n])
tmp = root + ".partial"
# (share of the total, file size)
for share, size in [(0.5, 64 << 20), (0.25, 1 << 20), (0.125, 32 << 10), (0.125, 4 << 10)]:
    count = max(1, int(total * share) // size)
    for i in range(count):
        d = os.path.join(tmp, f"s{size}", f"d{i % 256:03}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}"), "wb") as f:
            f.write(content(size, i))
os.rename(tmp, root)
PY
fi
echo "data: $(du -sh "$DATA" | cut -f1) in $(find "$DATA" -type f | wc -l) files; binary: $BIN"

cmds=(
  -n "tar | sha256sum" "tar -cf - -C $DATA . | sha256sum"
  -n "stagecraft none" "$BIN --root $STORE image import rootfs:$DATA --compression none"
  -n "stagecraft zstd" "$BIN --root $STORE image import rootfs:$DATA --compression zstd"
)
# pigz uses all cores like we do; plain gzip is the fallback.
GZ=$(command -v pigz >/dev/null && echo pigz || echo gzip)
if [ "${GZIP:-1}" != 0 ]; then
  cmds+=(
    -n "stagecraft gzip" "$BIN --root $STORE image import rootfs:$DATA --compression gzip"
    -n "tar | $GZ | sha256sum" "tar -cf - -C $DATA . | $GZ | sha256sum"
  )
fi
hyperfine --warmup 1 --runs "$RUNS" \
  --prepare "rm -rf $STORE; sync" \
  --export-markdown "$WORK/results.md" --export-json "$WORK/results.json" \
  "${cmds[@]}"

python3 - "$WORK/results.json" "$GZ" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
r = {x["command"]: x["mean"] for x in res}
cpu = {x["command"]: x["user"] + x["system"] for x in res}
base, base_cpu = r["tar | sha256sum"], cpu["tar | sha256sum"]
for name, mean in r.items():
    print(f"{name:24} {mean:8.2f} s wall {mean / base:5.2f}x   {cpu[name]:7.2f} s cpu {cpu[name] / base_cpu:5.2f}x   (vs tar | sha256sum)")
if "stagecraft gzip" in r:
    gz = f"tar | {sys.argv[2]} | sha256sum"
    print(f"stagecraft gzip vs {gz}: {r['stagecraft gzip'] / r[gz]:.2f}x wall, {cpu['stagecraft gzip'] / cpu[gz]:.2f}x cpu")
PY
