//! The step cache across real builds: what hits, what misses, and the reason given.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;

use common::Fixture;

const DOCKERFILE: &str = r#"
FROM busybox AS deps
COPY go.mod /src/
RUN cat /src/go.mod > /deps

FROM busybox
ARG APP_VERSION=1.0.0
COPY --from=deps /deps /deps
COPY . /src
RUN echo "$APP_VERSION" > /version
"#;

fn fixture() -> Fixture {
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write("go.mod", "module example\n");
    f.write("main.go", "package main\n");
    f.write("node_modules/pkg.js", "1\n");
    f.write(".dockerignore", "node_modules\n");
    f
}

#[test]
fn rebuild_with_nothing_changed_is_fully_cached_and_ignores_mtime() {
    let f = fixture();
    let first = f.build(&[]);
    assert!(first.ok(), "{}", first.stderr());
    assert_eq!(
        first.miss_reason("1/4").as_deref(),
        Some("no earlier build of this step")
    );
    let file = fs::File::options()
        .write(true)
        .open(f.ctx.path().join("main.go"))
        .unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    let second = f.build(&[]);
    assert!(second.ok(), "{}", second.stderr());
    for step in [
        "deps/0", "deps/1", "deps/2", "1/0", "1/1", "1/2", "1/3", "1/4",
    ] {
        assert!(
            second.cached(step),
            "{step} not cached: {:?}",
            second.step(step)
        );
    }
}

#[test]
fn changed_source_file_rebuilds_from_its_copy_and_names_it() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    f.write("main.go", "package main // changed\n");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    assert!(b.cached("deps/2"), "the deps stage does not read main.go");
    assert!(b.cached("1/2"));
    assert_eq!(
        b.miss_reason("1/3").as_deref(),
        Some("files changed: main.go")
    );
    assert_eq!(b.miss_reason("1/4").as_deref(), Some("parent step rebuilt"));
}

#[test]
fn ignored_files_change_nothing() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    f.write("node_modules/pkg.js", "2\n");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    assert!(b.cached("1/3") && b.cached("1/4"));
}

#[test]
fn changed_build_arg_rebuilds_from_the_first_step_that_sees_it() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    let b = f.build(&["--build-arg", "APP_VERSION=2.0.0"]);
    assert!(b.ok(), "{}", b.stderr());
    assert!(
        b.cached("1/2") && b.cached("1/3"),
        "COPY steps do not see the arg"
    );
    assert_eq!(
        b.miss_reason("1/4").as_deref(),
        Some("build arg APP_VERSION changed: 1.0.0 → 2.0.0")
    );
    assert!(b.cached("deps/2"), "the deps stage declares no APP_VERSION");
}

#[test]
fn changed_base_image_rebuilds_everything() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    // Re-import busybox with one more file: a new manifest digest.
    let rootfs = tempfile::tempdir().unwrap();
    common::busybox_rootfs(rootfs.path());
    fs::write(rootfs.path().join("etc/new-release"), "2\n").unwrap();
    let source = format!("rootfs:{}", rootfs.path().display());
    let out = f.cmd(&["image", "import", &source, "-t", "busybox:latest"]);
    assert!(out.status.success());
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    assert_eq!(
        b.miss_reason("deps/1").as_deref(),
        Some("base image changed")
    );
    assert_eq!(
        b.miss_reason("deps/2").as_deref(),
        Some("parent step rebuilt")
    );
    assert!(!b.cached("1/4"));
}

#[test]
fn no_cache_runs_everything_and_says_why() {
    let f = fixture();
    assert!(f.build(&[]).ok());
    let b = f.build(&["--no-cache"]);
    assert!(b.ok());
    assert_eq!(b.miss_reason("1/4").as_deref(), Some("--no-cache"));
    let b = f.build(&["--no-cache-filter", "deps"]);
    assert!(b.ok());
    assert_eq!(b.miss_reason("deps/2").as_deref(), Some("--no-cache"));
    assert!(b.cached("1/2"));
}
