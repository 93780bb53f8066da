//! Dockerfile features BuildKit has that the engine took on late: RUN heredocs with a `#!` line,
//! COPY --link, RUN --mount=type=ssh, ADD of a git repository, ONBUILD triggers of a base image.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Fixture;

#[test]
fn run_heredoc_with_shebang_runs_that_interpreter() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox\nRUN <<EOF\n#!/bin/sh -e\necho \"$0 $-\" > /ran\nEOF\nRUN <<EOF\necho \"$0\" > /plain\nEOF\n",
    );
    let b = f.build(&["-t", "gaps:shebang"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("gaps:shebang");
    let ran = std::fs::read_to_string(rootfs.join("ran")).unwrap();
    let (argv0, flags) = ran.trim().split_once(' ').unwrap();
    assert_eq!(argv0, "/dev/pipes/EOF");
    assert!(flags.contains('e'), "the #! line's -e reached sh: {ran}");
    // Without #! the body is text for the stage's SHELL, as before.
    assert_eq!(
        std::fs::read_to_string(rootfs.join("plain")).unwrap(),
        "/bin/sh\n"
    );
    // The script file lives outside the layer.
    assert!(!rootfs.join("dev/pipes").exists());
}

#[test]
fn copy_link_copies_into_its_own_layer() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nWORKDIR /app\nCOPY --link conf/ ./conf/\nRUN cat conf/a > /seen\n");
    f.write("conf/a", "linked\n");
    let b = f.build(&["-t", "gaps:link"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("gaps:link");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("app/conf/a")).unwrap(),
        "linked\n"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("seen")).unwrap(),
        "linked\n"
    );
    assert_eq!(b.logs("0/2").trim(), "copied 1 file, 7 bytes");
}

#[test]
fn ssh_mount_is_a_clear_error() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN --mount=type=ssh ls\n");
    let b = f.build(&[]);
    assert!(!b.ok());
    assert!(
        b.stderr().contains("--mount=type=ssh is not supported"),
        "{}",
        b.stderr()
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn add_local_git_repository_at_a_ref() {
    common::require(&["git"]);
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    git(r, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(r.join("sub")).unwrap();
    std::fs::write(r.join("sub/version"), "one\n").unwrap();
    git(r, &["add", "."]);
    git(r, &["commit", "-qm", "one"]);
    git(r, &["tag", "v1"]);
    std::fs::write(r.join("sub/version"), "two\n").unwrap();
    git(r, &["commit", "-qam", "two"]);

    let f = Fixture::new();
    f.dockerfile(&format!(
        "FROM busybox\nADD file://{0}#v1:sub /v1/\nADD file://{0} /head/\n",
        r.display()
    ));
    let b = f.build(&["-t", "gaps:git"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("gaps:git");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("v1/version")).unwrap(),
        "one\n"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("head/sub/version")).unwrap(),
        "two\n"
    );
    assert!(!rootfs.join("head/.git").exists());

    // A new commit on the branch is a cache miss for the step that reads the branch only.
    std::fs::write(r.join("sub/version"), "three\n").unwrap();
    git(r, &["commit", "-qam", "three"]);
    let again = f.build(&[]);
    assert!(again.ok(), "{}", again.stderr());
    assert!(again.cached("0/1"));
    assert!(!again.cached("0/2"));

    // Remote repositories are refused up front (no network fetch is tried).
    f.dockerfile("FROM busybox\nADD https://example.invalid/repo.git#main /src\n");
    let remote = f.build(&[]);
    assert!(!remote.ok());
    assert!(
        remote
            .stderr()
            .contains("ADD of a remote git repository is not supported"),
        "{}",
        remote.stderr()
    );
}

#[test]
fn onbuild_triggers_of_a_base_image_run_in_the_child() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox\nRUN echo base > /base\nONBUILD COPY a.txt /from-child-context.txt\nONBUILD RUN echo triggered > /trig\n",
    );
    f.write("a.txt", "base context\n");
    let base = f.build(&["-t", "gaps:onbuild-base"]);
    assert!(base.ok(), "{}", base.stderr());
    let (_d0, base_root) = f.unpack("gaps:onbuild-base");
    assert!(
        !base_root.join("trig").exists(),
        "triggers run in the child only"
    );

    f.write("a.txt", "child context\n");
    f.dockerfile("FROM gaps:onbuild-base\nRUN cat /trig /from-child-context.txt > /seen\n");
    let child = f.build(&["-t", "gaps:onbuild-child"]);
    assert!(child.ok(), "{}", child.stderr());
    assert!(
        child
            .logs("0/0")
            .contains("ONBUILD trigger: RUN echo triggered > /trig")
    );
    let (_d1, root) = f.unpack("gaps:onbuild-child");
    assert_eq!(
        std::fs::read_to_string(root.join("seen")).unwrap(),
        "triggered\nchild context\n"
    );
    // The child image does not pass the triggers on.
    let out = Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!(
            "oci:{}:docker.io/library/gaps:onbuild-child",
            f.root().display()
        ))
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(config["config"].get("OnBuild").is_none(), "{config}");

    // A second build hits the cache for the triggers too.
    let again = f.build(&[]);
    assert!(again.ok(), "{}", again.stderr());
    assert!(again.cached("0/1"));
}

#[test]
fn stage_variables_follow_buildkit_rules() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox\nARG V=arg\nENV V=env\nARG ONLY=arg-only\nWORKDIR /w/$ONLY\nRUN echo \"$V $ONLY $http_proxy\" > /out\n",
    );
    let b = f.build(&[
        "-t",
        "gaps:vars",
        "--build-arg",
        "http_proxy=http://127.0.0.1:9",
    ]);
    assert!(b.ok(), "{}", b.stderr());
    let (_d, root) = f.unpack("gaps:vars");
    assert_eq!(
        std::fs::read_to_string(root.join("out")).unwrap(),
        "env arg-only http://127.0.0.1:9\n"
    );
    assert!(root.join("w/arg-only").is_dir());
    // Proxies reach RUN but not its cache key.
    let again = f.build(&["--build-arg", "http_proxy=http://127.0.0.1:10"]);
    assert!(again.ok(), "{}", again.stderr());
    assert!(again.cached("0/5"));
}

#[test]
fn escape_directive_governs_word_expansion() {
    let f = Fixture::new();
    // With `# escape=`` a backtick, not a backslash, makes `$` literal; a backslash is plain text.
    f.dockerfile(
        "# escape=`\nFROM busybox\nENV A=one\nENV B=`$A C=\\$A\nRUN echo \"$B|$C\" > /seen\n",
    );
    let b = f.build(&["-t", "gaps:escape"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("gaps:escape");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("seen")).unwrap(),
        "$A|\\one\n"
    );
}
