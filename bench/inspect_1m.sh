#!/usr/bin/env bash
# Inspect/explain indexing benchmark: an image of ~1M small files in 4 gzip layers (generated once
# by bench/inspect_gen.py under $BENCH_WORK, not in the repo), imported into a store, then per run,
# interleaved so they share the machine's conditions:
#   tar      `tar -tzf` over the same layer blobs of the store, one after the other
#   inspect  `stagecraft inspect --timings` (the TUI's own loop on a headless backend): first
#            frame, first tree (layer 0), all layers indexed, efficiency panel filled
#   explain  `stagecraft explain --format json` (index with hashing and secret scan + report)
# Prints medians (wall and CPU seconds) and ratios to tar. Goals: first frame < 1 s, full
# index <= 1.3x tar -t.
#
# Env: STAGECRAFT (default target/release/stagecraft), BENCH_WORK (default
# /var/tmp/stagecraft-inspect-bench), FILES (default 1000000), RUNS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${STAGECRAFT:-target/release/stagecraft}")
WORK=${BENCH_WORK:-/var/tmp/stagecraft-inspect-bench}
FILES=${FILES:-1000000}
RUNS=${RUNS:-3}
IMAGE=$WORK/image-$FILES
STORE=$WORK/store
mkdir -p "$WORK"
[ -d "$IMAGE" ] || python3 bench/inspect_gen.py "$IMAGE" "$FILES"
"$BIN" --root "$STORE" image import "oci:$IMAGE:latest" -t "inspect-$FILES" >/dev/null
mapfile -t LAYERS < <(python3 - "$IMAGE" "$STORE" <<'PY'
import json, sys
image, store = sys.argv[1:]
blob = lambda d: f"{image}/blobs/sha256/{d.split(':')[1]}"
m = json.load(open(blob(json.load(open(f"{image}/index.json"))["manifests"][0]["digest"])))
for l in m["layers"]:
    print(f"{store}/blobs/sha256/{l['digest'].split(':')[1]}")
PY
)
echo "image: $FILES files, ${#LAYERS[@]} layers, $(du -chL "${LAYERS[@]}" | tail -1 | cut -f1) compressed; binary: $BIN; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

OUT=$WORK/runs.txt
: >"$OUT"
timed() { # NAME CMD... : appends "NAME wall cpu" (and the inspect timings) to $OUT
  local name=$1 t
  shift
  /usr/bin/time -o "$WORK/time" -f "%e %U %S" "$@" >"$WORK/stdout" 2>/dev/null
  echo "$name $(awk '{print $1, $2 + $3}' "$WORK/time") $(grep -o 'first.*' "$WORK/stdout" || true)" >>"$OUT"
}
for i in $(seq "$RUNS"); do
  timed tar bash -c 'for f; do tar -tzf "$f" >/dev/null; done' _ "${LAYERS[@]}"
  timed inspect "$BIN" --root "$STORE" inspect "inspect-$FILES" --timings
  timed explain "$BIN" --root "$STORE" explain "inspect-$FILES" --format json
done
python3 - "$OUT" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, wall, cpu, *rest = line.split()
    r = runs.setdefault(name, {"wall": [], "cpu": []})
    r["wall"].append(float(wall)); r["cpu"].append(float(cpu))
    for kv in rest:
        k, v = kv.split("=")
        r.setdefault(k, []).append(float(v) / 1000)
med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in runs.items()}
tar = med["tar"]
print(f"| measure (median of {len(runs['tar']['wall'])}) | seconds | × tar -tzf (wall) |")
print("|---|---|---|")
print(f"| tar -tzf, layers one after the other | {tar['wall']:.2f} (CPU {tar['cpu']:.2f}) | 1.00 |")
i = med["inspect"]
for k, label in [("first_frame_ms", "inspect: first frame"), ("first_tree_ms", "inspect: layer 0 tree on screen (partial)"),
                 ("full_tree_ms", "inspect: layer 0 tree complete"),
                 ("indexed_ms", "inspect: every layer indexed"), ("waste_ms", "inspect: efficiency on screen")]:
    print(f"| {label} | {i[k]:.3f} | {i[k] / tar['wall']:.2f} |")
print(f"| inspect process (CPU {i['cpu']:.2f}, {i['cpu'] / tar['cpu']:.2f}× tar's CPU) | {i['wall']:.2f} | {i['wall'] / tar['wall']:.2f} |")
e = med["explain"]
print(f"| explain --format json (CPU {e['cpu']:.2f}, {e['cpu'] / tar['cpu']:.2f}× tar's CPU) | {e['wall']:.2f} | {e['wall'] / tar['wall']:.2f} |")
PY
