//! Hostile build input: contexts with symlinks out of them, `..` in sources, device files and
//! fifos, and `--build-arg` values full of shell syntax. Each gives a clear error or a safe
//! result; nothing outside the context is read, nothing outside the store is written.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::Fixture;

/// Host content that must never reach an image.
const OUTSIDE: &str = "host-only-6c1d0e";

/// A fixture whose context sits beside a file with host content (`../outside.txt`).
fn fixture() -> (Fixture, tempfile::TempDir) {
    let f = Fixture::new();
    let parent = tempfile::tempdir().unwrap();
    fs::write(parent.path().join("outside.txt"), OUTSIDE).unwrap();
    // The context is `parent/ctx`, so `../outside.txt` names real host content.
    let ctx = parent.path().join("ctx");
    fs::create_dir(&ctx).unwrap();
    (f, parent)
}

fn ctx_of(parent: &tempfile::TempDir) -> std::path::PathBuf {
    parent.path().join("ctx")
}

fn build_in(f: &Fixture, ctx: &Path, dockerfile: &str, extra: &[&str]) -> common::Built {
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let ctx_s = ctx.display().to_string();
    let mut args = vec!["build", "--progress=json"];
    args.extend_from_slice(extra);
    args.push(&ctx_s);
    let output = f.cmd(&args);
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    common::Built { output, events }
}

/// No file of the unpacked image holds the host's content.
fn assert_no_host_content(root: &Path) {
    for e in walkdir::WalkDir::new(root).into_iter().flatten() {
        if e.file_type().is_file() {
            let data = fs::read(e.path()).unwrap_or_default();
            assert!(
                !data.windows(OUTSIDE.len()).any(|w| w == OUTSIDE.as_bytes()),
                "{} holds host content",
                e.path().display()
            );
        }
    }
}

#[test]
fn symlinks_and_dotdot_never_reach_outside_the_context() {
    let (f, parent) = fixture();
    let ctx = ctx_of(&parent);
    fs::write(ctx.join("ok.txt"), "inside\n").unwrap();
    fs::create_dir(ctx.join("sub")).unwrap();
    symlink("../outside.txt", ctx.join("rel-out")).unwrap();
    symlink(parent.path().join("outside.txt"), ctx.join("abs-out")).unwrap();
    symlink(parent.path(), ctx.join("dir-out")).unwrap();
    symlink("../../outside.txt", ctx.join("sub/deep-out")).unwrap();
    let cases = [
        "COPY ../outside.txt /x",
        "COPY sub/../../outside.txt /x",
        "ADD ../outside.txt /x",
        "COPY rel-out /x",
        "COPY abs-out /x",
        "COPY dir-out/outside.txt /x",
        "COPY sub/deep-out /x",
        "COPY dir-out/ /x/",
        "RUN --mount=type=bind,source=../outside.txt,target=/o cat /o",
        "RUN --mount=type=bind,source=rel-out,target=/o cat /o",
        "RUN --mount=type=bind,source=dir-out,target=/o cat /o/outside.txt",
    ];
    for case in cases {
        let b = build_in(&f, &ctx, &format!("FROM busybox\n{case}\n"), &[]);
        let err = b.stderr();
        assert!(!b.ok(), "{case}: must fail");
        assert!(
            err.contains("outside") || err.contains("escape") || err.contains(".."),
            "{case}: the error says why: {err}"
        );
        assert!(!err.contains(OUTSIDE), "{case}: host content in the error");
        assert!(
            !b.logs("0/1").contains(OUTSIDE),
            "{case}: host content in the log"
        );
    }
    // The whole context: links are copied as links (as docker does), never followed.
    let b = build_in(
        &f,
        &ctx,
        "FROM busybox\nCOPY . /ctx/\n",
        &["-t", "hostile/links:1"],
    );
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, root) = f.unpack("hostile/links:1");
    assert_eq!(
        fs::read_link(root.join("ctx/rel-out")).unwrap(),
        Path::new("../outside.txt")
    );
    assert!(
        fs::symlink_metadata(root.join("ctx/dir-out"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(root.join("ctx/ok.txt")).unwrap(),
        "inside\n"
    );
    assert_no_host_content(&root);
}

#[test]
fn fifos_and_devices_in_the_context_are_never_read() {
    let (f, parent) = fixture();
    let ctx = ctx_of(&parent);
    fs::write(ctx.join("ok.txt"), "inside\n").unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(ctx.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    // /dev/zero's numbers: reading it would never end.
    let status = std::process::Command::new("mknod")
        .arg(ctx.join("zero"))
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    assert!(status.success());
    // Named explicitly: an error that names the file, without blocking on the fifo.
    for (case, name) in [("COPY pipe /p", "pipe"), ("COPY zero /z", "zero")] {
        let b = build_in(&f, &ctx, &format!("FROM busybox\n{case}\n"), &[]);
        assert!(!b.ok(), "{case}: must fail");
        let err = b.stderr();
        assert!(err.contains(name), "{case}: names the file: {err}");
        assert!(
            err.contains("device, socket or pipe"),
            "{case}: says why: {err}"
        );
    }
    // The whole context: the same clear error (not a hang on the fifo, not the device's bytes).
    let b = build_in(&f, &ctx, "FROM busybox\nCOPY . /ctx/\n", &[]);
    assert!(!b.ok(), "COPY . with a fifo in the context");
    assert!(
        b.stderr().contains("device, socket or pipe"),
        "{}",
        b.stderr()
    );
    // Ignored in .dockerignore, they are not looked at and the rest is copied.
    fs::write(ctx.join(".dockerignore"), "pipe\nzero\n").unwrap();
    let b = build_in(
        &f,
        &ctx,
        "FROM busybox\nCOPY . /ctx/\n",
        &["-t", "hostile/special:1"],
    );
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, root) = f.unpack("hostile/special:1");
    assert_eq!(
        fs::read_to_string(root.join("ctx/ok.txt")).unwrap(),
        "inside\n"
    );
    assert!(!root.join("ctx/pipe").exists() && !root.join("ctx/zero").exists());
}

#[test]
fn build_arg_values_are_passed_literally() {
    let f = Fixture::new();
    let values = [
        ("V1", "$(touch /pwned1)"),
        ("V2", "`touch /pwned2`"),
        ("V3", "\"'; touch /pwned3; echo '\""),
        ("V4", "line1\nline2; touch /pwned4"),
        ("V5", "${PATH:+x}$$ * ~ && touch /pwned5 | cat > /pwned5b"),
    ];
    let mut df = String::from("FROM busybox\n");
    for (k, _) in values {
        df.push_str(&format!("ARG {k}\n"));
    }
    for (k, _) in values {
        df.push_str(&format!(
            "RUN printf '%s' \"${k}\" > /{k}.q && echo ${k} > /{k}.u\n"
        ));
        df.push_str(&format!(
            "ENV E_{k}=${k}\nRUN printf '%s' \"$E_{k}\" > /{k}.e\n"
        ));
        df.push_str(&format!("LABEL l_{k}=\"${k}\"\n"));
    }
    f.dockerfile(&df);
    let mut args = vec!["-t".to_string(), "hostile/args:1".to_string()];
    for (k, v) in values {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let b = f.build(&args);
    assert!(b.ok(), "{}", b.stderr());
    let (dir, root) = f.unpack("hostile/args:1");
    for (k, v) in values {
        assert_eq!(
            fs::read_to_string(root.join(format!("{k}.q"))).unwrap(),
            v,
            "{k} quoted"
        );
        assert_eq!(
            fs::read_to_string(root.join(format!("{k}.e"))).unwrap(),
            v,
            "{k} via ENV"
        );
    }
    let names: Vec<String> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("pwned")),
        "a build arg was executed: {names:?}"
    );
    // Labels and env keep the values byte for byte in the image config.
    let config = walkdir::WalkDir::new(dir.path().join("oci/blobs"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| serde_json::from_slice::<serde_json::Value>(&fs::read(e.path()).ok()?).ok())
        .find(|v| v.get("rootfs").is_some())
        .unwrap();
    for (k, v) in values {
        assert_eq!(config["config"]["Labels"][format!("l_{k}")], v, "label {k}");
        let env = config["config"]["Env"].as_array().unwrap();
        assert!(
            env.iter()
                .any(|e| e.as_str() == Some(&format!("E_{k}={v}"))),
            "env {k}: {env:?}"
        );
    }
    assert!(!Path::new("/pwned1").exists() && !Path::new("/pwned5").exists());
}
