#!/usr/bin/env python3
"""Writes an OCI image layout with ~1M small files in 4 gzip layers (deterministic), for
bench/inspect_1m.sh. Layer 2 overwrites and duplicates some files of layers 0 and 1; layer 3
deletes directories and files. Usage: inspect_gen.py OUT_DIR [FILES]"""
import gzip, hashlib, io, json, os, random, subprocess, sys, tarfile

out, total = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = random.Random(7)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)]
pool = [b" ".join(rng.choice(words) for _ in range(800))[:4096] for _ in range(64)]
os.makedirs(f"{out}.partial/blobs/sha256", exist_ok=True)
root = f"{out}.partial"

def content(i):
    n = rng.randint(16, 1024)
    return pool[i % 64][: n - 8] + i.to_bytes(8, "little")

def add_dir(t, path):
    ti = tarfile.TarInfo(path); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1
    t.addfile(ti)

def add_file(t, path, data, mode=0o644):
    ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = mode; ti.mtime = 1
    ti.uid = ti.gid = 1000
    t.addfile(ti, io.BytesIO(data))

def layer(build):
    raw = os.path.join(root, "layer.tar")
    with open(raw, "wb") as f:
        t = tarfile.open(fileobj=f, mode="w", format=tarfile.GNU_FORMAT)
        build(t)
        t.close()
    diff = hashlib.sha256(open(raw, "rb").read()).hexdigest()
    subprocess.run(["pigz", "-6", "-n", "-f", raw], check=True)
    gz = raw + ".gz"
    data = open(gz, "rb").read()
    dig = hashlib.sha256(data).hexdigest()
    os.rename(gz, os.path.join(root, "blobs/sha256", dig))
    return {"digest": "sha256:" + dig, "size": len(data), "diff": "sha256:" + diff}

per = total * 2 // 5   # layers 0 and 1; layer 2 gets a fifth
def tree(prefix, count, start):
    def build(t):
        add_dir(t, prefix)
        for d in range(count // 1000):
            add_dir(t, f"{prefix}/d{d:04}")
            for f in range(1000):
                add_file(t, f"{prefix}/d{d:04}/f{f:04}", content(start + d * 1000 + f))
    return build

def third(t):
    tree("data/c", total // 5, 2 * per)(t)
    add_dir(t, "data/a"); add_dir(t, "data/a/d0100")
    for f in range(0, 1000, 2):  # overwritten
        add_file(t, f"data/a/d0100/f{f:04}", b"new" * 100)
    add_dir(t, "dup")
    for f in range(2000):        # same bytes as in layer 1
        rng.seed(f)
        add_file(t, f"dup/f{f:04}", pool[f % 64][:1500])
    add_file(t, "etc/big.bin", rng.randbytes(8 << 20))

def fourth(t):
    add_dir(t, "data"); add_dir(t, "data/a"); add_dir(t, "data/b/d0001")
    for d in range(10):
        add_file(t, f"data/a/.wh.d{d:04}", b"")
    for f in range(100):
        add_file(t, f"data/b/d0001/.wh.f{f:04}", b"")
    add_file(t, "etc/.wh.big.bin", b"")

layers = [layer(tree("data/a", per, 0)), layer(tree("data/b", per, per)),
          layer(third), layer(fourth)]
# dup/ copies: layer 1's first files get the same bytes so duplicates exist across layers
history = [{"created_by": c} for c in (
    "ADD a.tar /data/a", "ADD b.tar /data/b", "RUN gen c && cp dup && fetch big.bin",
    "RUN rm -rf /data/a/d000* && rm /etc/big.bin")]
config = {"architecture": "amd64", "os": "linux", "config": {},
          "rootfs": {"type": "layers", "diff_ids": [l["diff"] for l in layers]},
          "history": history}
def blob(obj):
    data = json.dumps(obj).encode()
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(root, "blobs/sha256", d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
c = blob(config)
m = blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **c},
          "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": l["digest"], "size": l["size"]} for l in layers]})
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
          **m, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
          open(os.path.join(root, "index.json"), "w"))
open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
os.rename(root, out)
