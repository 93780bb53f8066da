//! `cache du|ls|prune` and `store check [--repair]` on stores made by real builds.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::path::PathBuf;

use common::Fixture;

const DOCKERFILE: &str = r#"
FROM busybox AS deps
COPY go.mod /src/
RUN --mount=type=cache,target=/cache cat /src/go.mod > /deps && echo hi > /cache/x

FROM busybox
COPY --from=deps /deps /deps
COPY . /src
RUN cat /src/main.go > /main
"#;

fn fixture() -> Fixture {
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write("go.mod", "module example\n");
    f.write("main.go", "package main\n");
    f
}

fn run(f: &Fixture, args: &[&str]) -> String {
    let out = f.cmd(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Step-cache record files (not lineage or stat cache).
fn cache_records(f: &Fixture) -> Vec<PathBuf> {
    fs::read_dir(f.root().join("cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("sha256:") && name.ends_with(".json")
        })
        .collect()
}

fn count(dir: PathBuf) -> usize {
    fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn assert_clean(f: &Fixture) {
    let out = f.cmd(&["store", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "store check: {stdout}");
    assert!(stdout.contains(": 0 problems"), "{stdout}");
}

#[test]
fn du_ls_and_prune_keep_what_tags_use() {
    let f = fixture();
    let first = f.build(&["-t", "app:1"]);
    assert!(first.ok(), "{}", first.stderr());
    let du = run(&f, &["cache", "du"]);
    assert!(
        du.contains("snapshots") && du.contains("cache mounts"),
        "{du}"
    );
    let ls = run(&f, &["cache", "ls"]);
    assert!(ls.contains("cat /src/main.go > /main"), "{ls}");
    assert!(ls.contains("s ago"), "{ls}");

    // A second, different build leaves the first one's untagged intermediates behind.
    f.write("main.go", "package main // v2\n");
    let second = f.build(&[]);
    assert!(second.ok(), "{}", second.stderr());

    // Every record is "unused for 0s": all go, lineage stays, tags and the last build stay.
    let out = run(&f, &["cache", "prune", "--filter", "until=0s"]);
    assert!(out.contains("removed"), "{out}");
    assert!(cache_records(&f).is_empty());
    assert!(f.root().join("builds/last.json").is_file());
    assert_clean(&f);
    let history = run(&f, &["image", "history", "app:1"]);
    assert!(history.contains("cat /src/main.go"), "{history}");
    let (_dir, rootfs) = f.unpack("app:1");
    assert_eq!(
        fs::read_to_string(rootfs.join("main")).unwrap(),
        "package main\n"
    );

    let third = f.build(&[]);
    assert!(third.ok(), "{}", third.stderr());
    let reasons: Vec<String> = ["deps/0", "deps/1", "1/0"]
        .iter()
        .filter_map(|s| third.miss_reason(s))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("cache record missing")),
        "{reasons:?}"
    );

    // --all: no records, no build records, no cache mounts; only the tags' blobs remain.
    let before = count(f.root().join("blobs/sha256"));
    run(&f, &["cache", "prune", "--all"]);
    assert!(cache_records(&f).is_empty());
    assert_eq!(count(f.root().join("builds")), 0);
    assert_eq!(count(f.root().join("cache/mounts")), 0);
    assert!(count(f.root().join("blobs/sha256")) < before);
    let ls = run(&f, &["cache", "ls"]);
    assert_eq!(ls.lines().count(), 1, "{ls}");
    assert_clean(&f);
    run(&f, &["image", "history", "app:1"]);
    run(&f, &["image", "history", "busybox"]);

    let fourth = f.build(&[]);
    assert!(fourth.ok(), "{}", fourth.stderr());
    assert_eq!(
        fourth.miss_reason("deps/1").as_deref(),
        Some("no earlier build of this step")
    );
    assert_clean(&f);
}

#[test]
fn keep_storage_removes_least_recently_used_until_it_fits() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    let records = cache_records(&f).len();
    run(&f, &["cache", "prune", "--keep-storage", "0"]);
    // Nothing a tag uses can go, so the store cannot reach 0 bytes, but every record went.
    assert!(records > 0);
    assert!(cache_records(&f).is_empty());
    run(&f, &["image", "history", "busybox"]);
    assert_clean(&f);
    assert!(f.build(&[]).ok());
}

#[test]
fn store_check_finds_and_repairs_corruption_then_a_rebuild_works() {
    let f = fixture();
    let first = f.build(&[]);
    assert!(first.ok(), "{}", first.stderr());
    assert_clean(&f);

    // Corrupt the layer of the last RUN (a cache record points at it). Its digest arrives after
    // the step (its tar is made in the background).
    let layer = first
        .step("1/3")
        .iter()
        .find_map(|e| match e {
            stagecraft::engine::Event::LayerDigested { layer: l, .. } => Some(l.digest.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no layer for 1/3: {:?}", first.step("1/3")));
    let blob = f
        .root()
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    fs::write(&blob, b"not the layer").unwrap();
    // Empty out a snapshot as a crash before the rename invariant existed would (a real one,
    // not a chain id's link to a built step's).
    let snap = fs::read_dir(f.root().join("snapshots"))
        .unwrap()
        .flatten()
        .find(|e| e.path().symlink_metadata().unwrap().is_dir())
        .unwrap()
        .path();
    fs::remove_dir_all(snap.join("fs")).unwrap();
    // A record naming a blob that is not there (and no built snapshot to fall back on).
    let record = cache_records(&f).pop().unwrap();
    let text = fs::read_to_string(&record).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut dangling = v.clone();
    dangling.as_object_mut().unwrap().remove("snapshot");
    dangling["key"] = serde_json::json!(format!("sha256:{}", "d".repeat(64)));
    dangling["layer"] = serde_json::json!({
        "digest": format!("sha256:{}", "e".repeat(64)),
        "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
        "compressed_size": 1, "diff_id": format!("sha256:{}", "f".repeat(64)),
        "size": 1, "added": 0, "modified": 0, "removed": 0,
    });
    let dangling_path = f
        .root()
        .join("cache")
        .join(format!("sha256:{}.json", "d".repeat(64)));
    fs::write(&dangling_path, dangling.to_string()).unwrap();

    let out = f.cmd(&["store", "check"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains(&layer[7..]) && report.contains("hashes to"),
        "{report}"
    );
    assert!(report.contains("incomplete snapshot"), "{report}");
    assert!(report.contains(&"e".repeat(64)), "{report}");

    let repaired = run(&f, &["store", "check", "--repair"]);
    assert!(repaired.contains("repaired"), "{repaired}");
    assert!(!blob.exists() && !snap.exists() && !dangling_path.exists());
    assert_clean(&f);

    let again = f.build(&[]);
    assert!(again.ok(), "{}", again.stderr());
    // The step's snapshot, when intact, is still its result: only its tar is made again, and
    // the same content gives the same digest. Otherwise the step runs again.
    if again.cached("1/3") {
        let remade = again.step("1/3").iter().any(|e| {
            matches!(e, stagecraft::engine::Event::LayerDigested { layer: l, .. } if l.digest == layer)
        });
        assert!(
            remade,
            "the corrupt tar is made again: {:?}",
            again.step("1/3")
        );
    }
    assert!(again.cached("deps/1"));
    assert_clean(&f);
}

#[test]
fn prune_waits_while_another_process_has_the_store_open() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let f = fixture();
    assert!(f.build(&[]).ok());
    let records = cache_records(&f).len();
    assert!(records > 0);
    // This process holds the store open as a running build does.
    let open = stagecraft::store::Store::open(f.root()).unwrap();
    let mut prune = Command::new(common::bin())
        .arg("--root")
        .arg(f.root())
        .args(["cache", "prune", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(prune.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("waiting"), "{line}");
    assert_eq!(
        cache_records(&f).len(),
        records,
        "nothing removed while in use"
    );
    assert!(f.root().join("builds/last.json").is_file());
    drop(open);
    let out = prune.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(cache_records(&f).is_empty());
    assert_clean(&f);
}

#[test]
fn until_filter_goes_by_last_use_of_records_and_cache_mounts() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    let mounts = f.root().join("cache/mounts");
    let mount = fs::read_dir(&mounts)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    let records = cache_records(&f);
    // Used just now: an hour's filter keeps everything.
    run(&f, &["cache", "prune", "--filter", "until=1h"]);
    assert!(mount.is_dir());
    assert_eq!(cache_records(&f).len(), records.len());
    // Make everything look a day old; a cached rebuild uses (touches) it all again.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(86400);
    for p in records.iter().chain([&mount]) {
        fs::File::open(p).unwrap().set_modified(old).unwrap();
    }
    f.write("main.go", "package main // 2\n");
    assert!(f.build(&[]).ok());
    let rebuilt = cache_records(&f);
    run(&f, &["cache", "prune", "--filter", "until=1h"]);
    // The deps stage was a hit (touched), as was its RUN's cache mount; stage 2's records of
    // the old main.go were not used and go.
    assert!(mount.is_dir(), "a build that has the mount's step uses it");
    let left = cache_records(&f);
    assert!(left.len() < rebuilt.len(), "{left:?}");
    assert!(left.len() >= 3, "deps/0..2 stay: {left:?}");
    assert!(f.build(&[]).ok());
}
