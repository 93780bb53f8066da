//! `--cache-to` / `--cache-from` (issue 18) against a real `docker-registry` on 127.0.0.1 and an
//! OCI layout directory: a fresh store runs no step and makes the exporting store's image digest;
//! an edited file reruns what depends on it, with the file named; mode=min vs max; tampered,
//! truncated and unreachable caches warn and build; an unchanged cache pushed again sends no blob.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Built, Fixture, bin, require, start_registry};
use stagecraft::engine::{Event, Record};

const DOCKERFILE: &str = "FROM busybox AS builder
COPY main.go /src/main.go
RUN cat /src/main.go > /src/built && echo compiled >> /src/built
FROM busybox
COPY --from=builder /src/built /app/built
ENV MODE=prod
RUN wc -c /app/built > /app/size
";

fn build_cmd(f: &Fixture, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json"])
        .args(extra)
        .arg(f.ctx.path())
        .env("SOURCE_DATE_EPOCH", "1700000000");
    cmd
}

/// `build --progress=json` with a fixed SOURCE_DATE_EPOCH (so two stores can agree on the image
/// digest), events parsed.
fn build(f: &Fixture, extra: &[&str]) -> Built {
    parse(build_cmd(f, extra).output().unwrap())
}

fn piped(mut cmd: Command) -> std::process::Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn parse(output: std::process::Output) -> Built {
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Record>(l).unwrap_or_else(|e| panic!("bad event {l}: {e}")))
        .collect();
    let built = Built { output, events };
    assert!(built.ok(), "build failed: {}", built.stderr());
    built
}

fn executed(b: &Built) -> Vec<String> {
    b.events
        .iter()
        .filter_map(|r| match &r.event {
            Event::StepFinished { step, .. } => Some(step.to_string()),
            _ => None,
        })
        .collect()
}

fn cached_from(b: &Built) -> Vec<(String, Option<String>)> {
    b.events
        .iter()
        .filter_map(|r| match &r.event {
            Event::StepCached { step, from, .. } => Some((step.to_string(), from.clone())),
            _ => None,
        })
        .collect()
}

fn warnings(b: &Built) -> Vec<String> {
    b.events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Warning { rule, message, .. } if rule == "RemoteCache" => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The `exporting cache` activity's summary (`N records, M blobs uploaded`).
fn export_note(b: &Built) -> String {
    b.events
        .iter()
        .find_map(|r| match &r.event {
            Event::Activity { name, text, .. }
                if name.starts_with("exporting cache") && !text.is_empty() =>
            {
                Some(text.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// A fresh store holding the same busybox image as `a` (copied through an OCI layout, so its
/// digest and the FROM keys agree) and a copy of its context.
fn fresh_like(a: &Fixture) -> Fixture {
    let layout = tempfile::tempdir().unwrap();
    let dest = format!("type=oci,dest={}", layout.path().display());
    let out = a.cmd(&[
        "image",
        "export",
        "busybox:latest",
        "-o",
        &dest,
        "--compression",
        "none",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = Fixture {
        store: tempfile::tempdir().unwrap(),
        ctx: tempfile::tempdir().unwrap(),
    };
    let src = format!("oci:{}:latest", layout.path().display());
    let out = b.cmd(&["image", "import", &src, "-t", "busybox:latest"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ls = |f: &Fixture| String::from_utf8_lossy(&f.cmd(&["image", "ls"]).stdout).to_string();
    let id = |text: String| {
        text.lines()
            .find(|l| l.starts_with("busybox:latest"))
            .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
    };
    assert_eq!(id(ls(a)), id(ls(&b)), "the same busybox image");
    copy_context(a, &b);
    b
}

fn copy_context(from: &Fixture, to: &Fixture) {
    for name in ["Dockerfile", "main.go"] {
        fs::copy(from.ctx.path().join(name), to.ctx.path().join(name)).unwrap();
    }
}

fn fixture() -> Fixture {
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write("main.go", "package main\n");
    f
}

#[test]
fn registry_cache_moves_a_build_between_stores() {
    require(&["runc"]);
    let dir = tempfile::tempdir().unwrap();
    let registry = start_registry(dir.path());
    let reference = format!("127.0.0.1:{}/app:cache", registry.port);
    let to = format!("type=registry,ref={reference},mode=max");
    let from = format!("type=registry,ref={reference}");

    let a = fixture();
    let first = build(&a, &["--cache-to", &to]);
    assert_eq!(executed(&first).len(), 5, "{:?}", executed(&first));
    assert!(
        export_note(&first).ends_with("blobs uploaded"),
        "{}",
        export_note(&first)
    );

    // The same cache again: every blob is there already.
    let again = build(&a, &["--cache-to", &to]);
    assert!(executed(&again).is_empty());
    assert!(
        export_note(&again).contains(" 0 blobs uploaded"),
        "{}",
        export_note(&again)
    );

    let b = fresh_like(&a);
    // A dry run predicts the hits and fetches nothing.
    let dry = build(&b, &["--dry-run", "--cache-from", &from]);
    let remote = format!("registry {reference}");
    assert!(
        cached_from(&dry)
            .iter()
            .any(|(s, f)| s == "1/3" && f.as_deref() == Some(remote.as_str())),
        "{:?}",
        cached_from(&dry)
    );
    let imported = build(&b, &["--cache-from", &from]);
    assert!(
        executed(&imported).is_empty(),
        "ran {:?}",
        executed(&imported)
    );
    assert!(first.image().starts_with("sha256:"));
    assert_eq!(
        imported.image(),
        first.image(),
        "same image digest as the exporting store"
    );
    let hits = cached_from(&imported);
    assert!(
        hits.iter()
            .any(|(s, f)| s == "1/3" && f.as_deref() == Some(remote.as_str())),
        "{hits:?}"
    );
    assert!(warnings(&imported).is_empty(), "{:?}", warnings(&imported));
    // The TUI, fed this build's events: the steps pane marks remote hits, the details name the ref.
    let mut m = stagecraft::ui::tui::Model::new(stagecraft::ui::tui::Theme::default(), 140, 40);
    common::tui::feed(&mut m, imported.events.clone());
    common::tui::select(&mut m, &stagecraft::engine::StepRef::new("1", 3));
    let screen = common::tui::render(&m);
    assert!(screen.contains("3.1 kB hit↓"), "{screen}");
    assert!(
        screen.contains(&format!("cache hit from {remote}")),
        "{screen}"
    );
    let check = b.cmd(&["store", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The hits are local now: no source needed.
    let local = build(&b, &[]);
    assert!(executed(&local).is_empty(), "ran {:?}", executed(&local));
    assert!(cached_from(&local).iter().all(|(_, f)| f.is_none()));
    assert_eq!(local.image(), first.image());

    // A store that never built this: an edited file reruns what depends on it, named.
    let c = fresh_like(&a);
    c.write("main.go", "package main\nfunc main() {}\n");
    let edited = build(&c, &["--cache-from", &from]);
    assert_eq!(
        edited.miss_reason("builder/1").as_deref(),
        Some("files changed: main.go")
    );
    assert_eq!(
        edited.miss_reason("builder/2").as_deref(),
        Some("parent step rebuilt")
    );
    assert_eq!(
        edited.miss_reason("1/1").as_deref(),
        Some("source stage rebuilt")
    );
    assert!(!edited.cached("1/3"));
}

#[test]
fn hostile_and_missing_caches_warn_and_build() {
    require(&["runc"]);
    let dir = tempfile::tempdir().unwrap();
    let registry = start_registry(dir.path());
    let reference = format!("127.0.0.1:{}/app:cache", registry.port);
    let a = fixture();
    build(
        &a,
        &[
            "--cache-to",
            &format!("type=registry,ref={reference},mode=max"),
        ],
    );

    // Every layer blob in the registry's storage overwritten with other bytes.
    let blobs = dir.path().join("data/docker/registry/v2/blobs/sha256");
    let mut tampered = 0;
    for data in files_named(&blobs, "data") {
        let bytes = fs::read(&data).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) && bytes.len() > 20 {
            let mut evil = bytes.clone();
            let n = evil.len();
            evil[n / 2] ^= 0xff;
            fs::write(&data, evil).unwrap();
            tampered += 1;
        }
    }
    assert!(tampered > 0);
    let b = fresh_like(&a);
    let built = build(&b, &["--cache-from", &reference]);
    let warned = warnings(&built);
    assert!(
        warned
            .iter()
            .any(|w| w.contains("refused") && w.contains("the step runs")),
        "{warned:?}"
    );
    assert!(!built.cached("1/3"), "a refused record's step runs");

    // Unreachable, and a tag that is not there: warned, built.
    let c = fresh_like(&a);
    let built = build(
        &c,
        &[
            "--cache-from",
            "127.0.0.1:1/nothing:here",
            "--cache-from",
            &format!("127.0.0.1:{}/none:x", registry.port),
        ],
    );
    let warned = warnings(&built);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(
        warned.iter().all(|w| w.contains("building without it")),
        "{warned:?}"
    );
    assert_eq!(executed(&built).len(), 5);
}

fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_named(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
    out
}

/// The records' step names in a local cache directory.
fn local_steps(dir: &Path) -> Vec<String> {
    let read =
        |p: PathBuf| serde_json::from_slice::<serde_json::Value>(&fs::read(p).unwrap()).unwrap();
    let blob = |d: &serde_json::Value| {
        dir.join("blobs/sha256")
            .join(d.as_str().unwrap().trim_start_matches("sha256:"))
    };
    let index = read(dir.join("index.json"));
    let manifest = read(blob(&index["manifests"][0]["digest"]));
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.stagecraft.cache.v1"
    );
    let config = read(blob(&manifest["config"]["digest"]));
    let mut steps: Vec<String> = config["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["step"].as_str().unwrap().to_string())
        .collect();
    steps.sort();
    steps
}

#[test]
fn local_cache_modes_and_round_trip() {
    require(&["runc"]);
    let a = fixture();
    let out = tempfile::tempdir().unwrap();
    let min = out.path().join("min");
    let max = out.path().join("max");
    let first = build(
        &a,
        &[
            "--cache-to",
            &format!("type=local,dest={}", min.display()),
            "--cache-to",
            &format!("type=local,dest={},mode=max", max.display()),
        ],
    );
    assert_eq!(local_steps(&min), ["1/1", "1/2", "1/3"]);
    assert_eq!(
        local_steps(&max),
        ["1/1", "1/2", "1/3", "builder/1", "builder/2"]
    );

    let b = fresh_like(&a);
    let built = build(
        &b,
        &["--cache-from", &format!("type=local,src={}", max.display())],
    );
    assert!(executed(&built).is_empty(), "ran {:?}", executed(&built));
    assert_eq!(built.image(), first.image());

    // The final stage rebuilt over a builder made of imported hits: its COPY --from mounts the
    // never-extracted builder only now, and the result is the same image.
    let d = fresh_like(&a);
    let src = format!("type=local,src={}", max.display());
    let built = build(&d, &["--cache-from", &src, "--no-cache-filter", "1"]);
    assert!(built.cached("builder/2"));
    assert_eq!(executed(&built), ["1/1", "1/2", "1/3"]);
    assert_eq!(built.image(), first.image());

    // A truncated manifest is refused as a whole; the build goes on without it.
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(min.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let manifest = min.join("blobs/sha256").join(digest);
    let bytes = fs::read(&manifest).unwrap();
    fs::write(&manifest, &bytes[..bytes.len() / 2]).unwrap();
    let c = fresh_like(&a);
    let built = build(
        &c,
        &["--cache-from", &format!("type=local,src={}", min.display())],
    );
    let warned = warnings(&built);
    assert!(
        warned.len() == 1 && warned[0].contains("building without it"),
        "{warned:?}"
    );
    assert_eq!(executed(&built).len(), 5);
}

#[test]
fn two_builds_exporting_to_one_ref_leave_a_valid_cache() {
    require(&["runc"]);
    let dir = tempfile::tempdir().unwrap();
    let registry = start_registry(dir.path());
    let reference = format!("127.0.0.1:{}/app:cache", registry.port);
    let to = format!("type=registry,ref={reference},mode=max");
    let a = fixture();
    let b = fresh_like(&a);
    b.write("main.go", "package main // b\n");
    let (ra, rb) = (
        piped(build_cmd(&a, &["--cache-to", &to])),
        piped(build_cmd(&b, &["--cache-to", &to])),
    );
    let (ra, rb) = (
        parse(ra.wait_with_output().unwrap()),
        parse(rb.wait_with_output().unwrap()),
    );
    assert!(ra.ok() && rb.ok());
    // Whichever manifest came last, every blob it names is there: one of the two contexts hits
    // every step on a fresh store, with no record refused.
    let winners: Vec<bool> = [&a, &b]
        .iter()
        .map(|f| {
            let c = fresh_like(f);
            let built = build(&c, &["--cache-from", &reference]);
            assert!(warnings(&built).is_empty(), "{:?}", warnings(&built));
            executed(&built).is_empty()
        })
        .collect();
    assert_eq!(winners.iter().filter(|w| **w).count(), 1, "{winners:?}");
}
