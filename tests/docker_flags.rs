//! The `docker build` flags people type without reading the manual, each on a real build:
//! JSON-only stdout, `-q`, `--iidfile`, `--metadata-file`, `--label`, `--add-host`, `--shm-size`,
//! `--platform`, and `--load` without a docker CLI.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;

use common::Fixture;

/// The image config of a manifest in the store (an OCI layout).
fn config(store: &Path, manifest: &str) -> serde_json::Value {
    let blob = |d: &str| {
        let hex = d.strip_prefix("sha256:").unwrap();
        std::fs::read(store.join("blobs/sha256").join(hex)).unwrap()
    };
    let m: serde_json::Value = serde_json::from_slice(&blob(manifest)).unwrap();
    serde_json::from_slice(&blob(m["config"]["digest"].as_str().unwrap())).unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn json_progress_writes_only_json_lines_to_stdout() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo hi\n");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    let text = stdout(&b.output);
    assert!(!text.is_empty());
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert!(v["type"].is_string(), "{line}");
    }
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "build_finished");
    assert!(last["image"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn quiet_prints_the_digest_alone_and_errors_on_stderr() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo quiet-build-output\n");
    let ctx = f.ctx.path().display().to_string();
    let out = f.cmd(&["build", "-q", &ctx]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("sha256:") && text.trim().len() == 71,
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("quiet-build-output"),
        "progress leaked: {err}"
    );
    f.dockerfile("FROM busybox\nRUN exit 3\n");
    let out = f.cmd(&["build", "--quiet", &ctx]);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exit") && err.contains('3'), "{err}");
}

#[test]
fn iidfile_metadata_file_and_labels() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox AS builder\nRUN echo b > /b\nFROM busybox AS final\nLABEL from.file=yes\nCOPY --from=builder /b /b\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let iid = dir.path().join("iid");
    let meta = dir.path().join("meta.json");
    let b = f.build(&[
        "-t",
        "app:1",
        "-t",
        "app:latest",
        "--iidfile",
        iid.to_str().unwrap(),
        "--metadata-file",
        meta.to_str().unwrap(),
        "--label",
        "org.example.team=builders",
        "--label",
        "with.equals=a=b",
    ]);
    assert!(b.ok(), "{}", b.stderr());
    let digest = b.image();
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), digest);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(m["containerimage.digest"], digest.as_str());
    assert_eq!(m["image.name"], "app:1,app:latest");
    let cfg = config(f.root(), &digest);
    let config_digest = m["containerimage.config.digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            f.root()
                .join("blobs/sha256")
                .join(digest.strip_prefix("sha256:").unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["config"]["digest"], config_digest);
    let labels = &cfg["config"]["Labels"];
    assert_eq!(labels["org.example.team"], "builders");
    assert_eq!(labels["with.equals"], "a=b");
    assert_eq!(labels["from.file"], "yes");
    // Per-stage images: the builder stage has its own image, without the --label labels.
    let stages = m["stagecraft.stages"].as_object().unwrap();
    assert_eq!(stages["final"], digest.as_str());
    let builder = stages["builder"].as_str().unwrap();
    assert_ne!(builder, digest);
    assert!(config(f.root(), builder)["config"]["Labels"]["org.example.team"].is_null());
}

#[test]
fn add_host_and_shm_size_reach_run() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN cat /etc/hosts && df -k /dev/shm\n");
    let b = f.build(&[
        "--add-host",
        "db.internal:10.1.2.3",
        "--add-host",
        "v6host=fd00::1",
        "--shm-size",
        "128m",
    ]);
    assert!(b.ok(), "{}", b.stderr());
    let logs = b.logs("0/1");
    assert!(logs.contains("10.1.2.3\tdb.internal"), "{logs}");
    assert!(logs.contains("fd00::1\tv6host"), "{logs}");
    // The host's own entries stay.
    assert!(logs.contains("localhost"), "{logs}");
    let shm = logs.lines().find(|l| l.ends_with("/dev/shm")).unwrap();
    assert!(shm.split_whitespace().nth(1) == Some("131072"), "{shm}");
    // Without the flags: Docker's 64 MiB and no extra host; the step is keyed apart.
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    assert!(
        !b.cached("0/1"),
        "different hosts/shm must not share a cache entry"
    );
    let logs = b.logs("0/1");
    assert!(!logs.contains("db.internal"), "{logs}");
    assert!(logs.contains("65536"), "{logs}");
    let out = f.cmd(&["build", "--add-host", "nocolon", "."]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST:IP"));
}

#[test]
fn platform_accepts_the_native_one_and_refuses_others_clearly() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo p\n");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let native = format!("linux/{arch}");
    let b = f.build(&["--platform", &native]);
    assert!(b.ok(), "{}", b.stderr());
    let other = if arch == "s390x" {
        "linux/ppc64le"
    } else {
        "linux/s390x"
    };
    let b = f.build(&["--platform", other]);
    assert!(!b.ok());
    let err = b.stderr();
    assert!(
        err.contains(other) && err.contains("not supported") && err.contains(&native),
        "{err}"
    );
    assert!(b.events.is_empty(), "nothing may run: {:?}", b.events);
}

#[test]
fn load_without_docker_or_podman_says_what_to_install() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\n");
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::bin())
        .env("PATH", empty.path())
        .env_remove("STAGECRAFT_LOAD_CLI")
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=plain", "--load"])
        .arg(f.ctx.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--load needs docker or podman") && err.contains("apt-get install docker.io"),
        "{err}"
    );
}

#[test]
fn pull_re_resolves_the_base_image_from_its_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = common::start_registry(tmp.path());
    let remote = format!("127.0.0.1:{}/base/busybox:1", reg.port);
    let f = Fixture::new();
    let push = |image: &str| {
        let out = f.cmd(&[
            "image",
            "export",
            image,
            "-o",
            &format!("type=registry,name={remote}"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    push("busybox:latest");
    // A second base, v2, built and pushed under the same tag after the first build pulled v1.
    let v2_ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        v2_ctx.path().join("Dockerfile"),
        "FROM busybox\nRUN echo 2 > /v2\n",
    )
    .unwrap();
    let out = f.cmd(&[
        "build",
        "-q",
        "-t",
        "v2:1",
        &v2_ctx.path().display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    f.dockerfile(&format!("FROM {remote}\nRUN cat /v2 || echo no-v2\n"));
    let first = f.build(&[]);
    assert!(first.ok(), "{}", first.stderr());
    assert!(first.logs("0/1").contains("no-v2"));
    push("v2:1");
    // Without --pull the store's copy (v1) is used and everything is cached.
    let b = f.build(&[]);
    assert!(
        b.ok() && b.cached("0/0") && b.cached("0/1"),
        "{}",
        b.stderr()
    );
    // --pull asks the registry again: v2, so the RUN on top of it runs.
    let b = f.build(&["--pull"]);
    assert!(b.ok(), "{}", b.stderr());
    assert!(!b.cached("0/1"));
    assert_eq!(b.miss_reason("0/1").as_deref(), Some("base image changed"));
    assert!(b.logs("0/1").trim().ends_with('2'), "{}", b.logs("0/1"));
}

#[test]
fn load_hands_the_image_to_a_private_dockerd() {
    let d = common::dockerd::dockerd();
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo loaded > /loaded\nCMD [\"cat\", \"/loaded\"]\n");
    let out = std::process::Command::new(common::bin())
        .env("DOCKER_HOST", &d.host)
        .env("STAGECRAFT_LOAD_CLI", common::dockerd::DOCKER)
        .arg("--root")
        .arg(f.root())
        .args([
            "build",
            "--progress=plain",
            "-t",
            "loadtest:1",
            "-t",
            "loadtest:extra",
            "--load",
        ])
        .arg(f.ctx.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("loaded into"));
    d.docker_ok(&["image", "inspect", "loadtest:extra"]);
    let ran = d.docker_ok(&["run", "--rm", "--network", "none", "loadtest:1"]);
    assert_eq!(ran.trim(), "loaded");
}
