#!/usr/bin/env python3
"""Writes the hand-made event logs next to this file. Run it again after changing the story.

The logs follow the engine contract (src/engine/event.rs): one JSON record per line, a `time`
and a `type`. They tell a plausible multi-stage build so every TUI view has something to show.
"""
import json
import os
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)


class Log:
    def __init__(self):
        self.t = T0
        self.lines = []
        self.froms = set()

    def at(self, seconds):
        self.t += timedelta(seconds=seconds)
        return self

    def emit(self, type_, **fields):
        step = fields.get("step", "")
        if type_ == "step_started" and step.endswith("/1"):
            stage_name = step[:-2]
            if stage_name not in self.froms:
                self.froms.add(stage_name)
                self.emit("step_started", step=f"{stage_name}/0", cache_key="sha256:" + "0" * 64)
                self.emit("step_cached", step=f"{stage_name}/0", layer=None)
        stamp = self.t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.lines.append(json.dumps({"time": stamp, "type": type_, **fields}))

    def write(self, name):
        with open(os.path.join(HERE, name), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def layer(n, size, added=1, modified=0, removed=0):
    h = f"{n:064x}"
    return {
        "digest": f"sha256:{h[::-1]}",
        "diff_id": f"sha256:{h}",
        "size": size,
        "compressed_size": size // 3,
        "added": added,
        "modified": modified,
        "removed": removed,
    }


def from_text(base, name):
    src = base.get("image") or base.get("stage") or "scratch"
    return f"FROM {src} AS {name}"


def stage(index, name, base, steps, depends_on=(), needed=True, skip_reason=None):
    # Step 0 is the FROM, as the front end plans it; external images live in `base`, not `depends_on`.
    steps = [(from_text(base, name), steps[0][1] - 1 if steps else 1)] + list(steps)
    depends_on = [d for d in depends_on if not d.startswith("image:") or d[6:] not in base.values()]
    return {
        "index": index,
        "name": name,
        "base": base,
        "depends_on": list(depends_on),
        "needed": needed,
        "skip_reason": skip_reason,
        "steps": [{"index": i, "instruction": t.split()[0], "text": t, "line": line} for i, (t, line) in enumerate(steps)],
    }


PLAN = {
    "target": "final",
    "stages": [
        stage(0, "base", {"image": "localhost/busybox:1.36"}, [
            ("RUN mkdir -p /app /out && adduser -D -h /app app", 2),
            ("ENV APP_HOME=/app PATH=/app/bin:$PATH", 3),
        ], ["image:localhost/busybox:1.36"]),
        stage(1, "deps", {"stage": "base"}, [
            ("COPY deps.txt /app/", 6),
            ("RUN sh -c 'for d in $(cat /app/deps.txt); do echo fetch $d; done' > /app/deps.lock", 7),
        ], ["base"]),
        stage(2, "builder", {"stage": "base"}, [
            ("WORKDIR /src", 10),
            ("COPY --from=deps /app/deps.lock ./", 11),
            ("COPY src/ ./", 12),
            ("RUN --mount=type=cache,target=/cache sh build.sh && cp app /out/app", 13),
        ], ["base", "deps"]),
        stage(3, "docs", {"stage": "base"}, [
            ("COPY docs/ /docs/", 16),
            ("RUN sh /docs/gen.sh > /docs/index.html", 17),
        ], ["base"]),
        stage(4, "test", {"stage": "builder"}, [
            ("RUN sh test.sh", 20),
        ], ["builder"], needed=False, skip_reason="not needed by target final"),
        stage(5, "final", {"scratch": True}, [
            ("COPY --from=builder /out/app /app", 23),
            ("COPY --from=docs /docs /usr/share/doc/app", 24),
            ('ENTRYPOINT ["/app", "--serve"]', 25),
        ], ["builder", "docs"]),
    ],
}


def common_start(log):
    log.emit("build_started", build_id="b-20261123-100000", plan=PLAN)
    log.emit("stage_skipped", stage="test", reason="not needed by target final")
    for s in ("base/1", "base/2"):
        log.emit("step_queued", step=s)
    log.at(0.05).emit("step_started", step="base/1", cache_key="sha256:" + "a1" * 32)
    log.at(0.01).emit("step_cached", step="base/1", layer=layer(1, 4_812_000, added=12))
    log.emit("step_started", step="base/2", cache_key="sha256:" + "a2" * 32)
    log.at(0.01).emit("step_cached", step="base/2", layer=None)
    log.emit("stage_finished", stage="base", image_config={"env": ["APP_HOME=/app"], "workdir": None, "user": None})
    # deps and docs run in parallel once base is there.
    for s in ("deps/1", "deps/2", "docs/1", "docs/2"):
        log.emit("step_queued", step=s)
    log.at(0.02).emit("step_started", step="deps/1", cache_key="sha256:" + "b1" * 32)
    log.emit("cache_miss", step="deps/1", reason="files changed: deps.txt")
    log.emit("step_started", step="docs/1", cache_key="sha256:" + "d1" * 32)
    log.at(0.02).emit("step_cached", step="docs/1", layer=layer(31, 182_000, added=24))
    log.at(0.1).emit("step_finished", step="deps/1", layer=layer(11, 1_300, added=1), duration=0.12)
    log.emit("step_started", step="deps/2", cache_key="sha256:" + "b2" * 32)
    log.emit("cache_miss", step="deps/2", reason="parent step rebuilt")
    log.emit("step_started", step="docs/2", cache_key="sha256:" + "d2" * 32)
    log.emit("cache_miss", step="docs/2", reason="instruction changed")
    for d in ("zlib", "musl", "openssl", "libyaml", "curl"):
        log.at(0.3).emit("step_log", step="deps/2", stream="stdout", text=f"fetch {d}\n")
        log.emit("step_log", step="docs/2", stream="stdout", text=f"rendering {d}.md\n")
    log.at(0.2).emit("step_finished", step="deps/2", layer=layer(12, 9_600, added=1), duration=1.72)
    log.emit("stage_finished", stage="deps", image_config={})
    log.at(0.3).emit("step_log", step="docs/2", stream="stderr", text="warning: docs/api.md: broken link to #install\n")
    log.at(0.4).emit("step_finished", step="docs/2", layer=layer(32, 245_000, added=1, modified=0), duration=2.41)
    log.emit("stage_finished", stage="docs", image_config={})
    for s in ("builder/1", "builder/2", "builder/3", "builder/4"):
        log.emit("step_queued", step=s)
    log.at(0.02).emit("step_started", step="builder/1", cache_key="sha256:" + "c1" * 32)
    log.emit("step_cached", step="builder/1", layer=None)
    log.emit("step_started", step="builder/2", cache_key="sha256:" + "c2" * 32)
    log.emit("cache_miss", step="builder/2", reason="files changed: deps.lock")
    log.at(0.05).emit("step_finished", step="builder/2", layer=layer(22, 9_600, added=1), duration=0.05)
    log.emit("step_started", step="builder/3", cache_key="sha256:" + "c3" * 32)
    log.emit("cache_miss", step="builder/3", reason="parent step rebuilt")
    log.at(0.2).emit("step_finished", step="builder/3", layer=layer(23, 1_240_000, added=57, modified=2), duration=0.21)
    log.emit("step_started", step="builder/4", cache_key="sha256:" + "c4" * 32)
    log.emit("cache_miss", step="builder/4", reason="parent step rebuilt")
    for i in range(1, 121):
        log.at(0.08).emit("step_log", step="builder/4", stream="stdout", text=f"cc -O2 -c module_{i:03}.c -o module_{i:03}.o\n")
        if i % 17 == 0:
            log.emit("step_log", step="builder/4", stream="stderr",
                     text=f"module_{i:03}.c:{i * 3}:9: warning: unused variable 'tmp' [-Wunused-variable]\n")


def success():
    log = Log()
    common_start(log)
    log.at(0.3).emit("step_log", step="builder/4", stream="stdout", text="ld -o app module_*.o\nstrip app\n")
    log.at(0.2).emit("step_finished", step="builder/4", layer=layer(24, 11_480_000, added=3, modified=1, removed=1), duration=10.62)
    log.emit("stage_finished", stage="builder", image_config={"workdir": "/src"})
    for s in ("final/1", "final/2", "final/3"):
        log.emit("step_queued", step=s)
    log.at(0.02).emit("step_started", step="final/1", cache_key="sha256:" + "f1" * 32)
    log.emit("cache_miss", step="final/1", reason="files changed: /out/app")
    log.at(0.3).emit("step_finished", step="final/1", layer=layer(41, 11_470_000, added=1), duration=0.31)
    log.emit("step_started", step="final/2", cache_key="sha256:" + "f2" * 32)
    log.at(0.01).emit("step_cached", step="final/2", layer=layer(42, 245_000, added=3))
    log.emit("step_started", step="final/3", cache_key="sha256:" + "f3" * 32)
    log.emit("step_cached", step="final/3", layer=None)
    log.emit("stage_finished", stage="final", image_config={"entrypoint": ["/app", "--serve"]})
    log.at(0.05).emit("build_finished", image="sha256:" + "e" * 64,
                      totals={"steps": 14, "cached": 6, "executed": 8, "failed": 0, "duration": 19.6, "image_size": 11_715_000},
                      error=None)
    log.write("multistage.jsonl")


def failure():
    log = Log()
    common_start(log)
    log.at(0.2).emit("step_log", step="builder/4", stream="stderr",
                     text="module_121.c:88:3: error: 'config_t' has no member named 'port'\n")
    log.emit("step_log", step="builder/4", stream="stderr", text="make: *** [build.sh:14: module_121.o] Error 1\n")
    log.at(0.1).emit("step_failed", step="builder/4", exit_code=2,
                     message="RUN sh build.sh && cp app /out/app: exit code 2")
    log.emit("build_finished", image=None,
             totals={"steps": 14, "cached": 4, "executed": 6, "failed": 1, "duration": 13.1, "image_size": 0},
             error="step builder/4 failed: exit code 2")
    log.write("failed.jsonl")


def large():
    """36 stages in a fan: 12 independent lib stages, 12 tools built on them, 10 bundles, app, final."""
    log = Log()
    stages = []
    libs = [f"lib-{n}" for n in ("zlib", "ssl", "yaml", "json", "xml", "png", "jpeg", "ffi", "uv", "pcre", "lz4", "zstd")]
    for i, name in enumerate(libs):
        stages.append(stage(i, name, {"image": "localhost/busybox:1.36"}, [(f"RUN build-{name}.sh", 3 * i + 2)],
                            ["image:localhost/busybox:1.36"]))
    tools = [f"tool-{k}" for k in range(12)]
    for k, name in enumerate(tools):
        deps = [libs[k], libs[(k + 5) % 12]]
        stages.append(stage(len(stages), name, {"stage": deps[0]},
                            [(f"COPY --from={deps[1]} /out /deps", 100 + k), (f"RUN make -C /src/{name}", 101 + k)], deps))
    bundles = [f"bundle-{k}" for k in range(10)]
    for k, name in enumerate(bundles):
        deps = [tools[k], tools[k + 2]]
        stages.append(stage(len(stages), name, {"image": "localhost/debian:12"},
                            [(f"COPY --from={d} /out /b/{d}", 200 + k) for d in deps],
                            ["image:localhost/debian:12"] + deps, needed=k < 8,
                            skip_reason=None if k < 8 else "not needed by target final"))
    stages.append(stage(len(stages), "app", {"stage": "bundle-0"},
                        [(f"COPY --from={b} /b /app/{b}", 300 + k) for k, b in enumerate(bundles[1:8])], bundles[:8]))
    stages.append(stage(len(stages), "final", {"scratch": True}, [("COPY --from=app /app /app", 400)], ["app"]))
    plan = {"target": "final", "stages": stages}
    log.emit("build_started", build_id="b-large", plan=plan)
    for b in bundles[8:]:
        log.emit("stage_skipped", stage=b, reason="not needed by target final")
    n = 0
    for name in libs:
        n += 1
        log.at(0.05).emit("step_started", step=f"{name}/1", cache_key=f"sha256:{n:064x}")
        if n % 3:
            log.emit("step_cached", step=f"{name}/1", layer=layer(n, 1_000_000 * n))
        else:
            log.emit("cache_miss", step=f"{name}/1", reason="instruction changed")
            log.at(0.4).emit("step_log", step=f"{name}/1", stream="stdout", text=f"building {name}\n")
            log.emit("step_finished", step=f"{name}/1", layer=layer(n, 2_000_000 * n), duration=0.4)
    for k, name in enumerate(tools):
        n += 1
        log.at(0.05).emit("step_started", step=f"{name}/1", cache_key=f"sha256:{n:064x}")
        log.emit("step_cached", step=f"{name}/1", layer=layer(n, 500_000))
        log.emit("step_started", step=f"{name}/2", cache_key=f"sha256:{n + 100:064x}")
        if k < 7:
            log.emit("cache_miss", step=f"{name}/2", reason="parent step rebuilt")
            log.at(0.3).emit("step_log", step=f"{name}/2", stream="stdout", text=f"make: entering /src/{name}\n")
            log.emit("step_finished", step=f"{name}/2", layer=layer(n + 100, 3_000_000 + k), duration=0.3)
        else:
            log.emit("cache_miss", step=f"{name}/2", reason="files changed: src/main.c")
            log.at(0.1).emit("step_log", step=f"{name}/2", stream="stdout", text=f"make: entering /src/{name}\n")
    # Stops here: tools 7-11 still running, bundles waiting. A snapshot of a build in progress.
    log.write("large.jsonl")


if __name__ == "__main__":
    success()
    failure()
    large()
