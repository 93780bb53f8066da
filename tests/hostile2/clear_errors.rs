//! Item 9: clear errors for the rest. `COPY --from` naming no stage, tags refused by docker's
//! reference grammar before anything runs, a NUL byte pointed at, a self-symlink that is a loop
//! (not "outside the context"), a 1 MB line or 20,000 tags cut with a count, and `cache du`
//! counting what the disk holds. (`image prune` waiting for a running build:
//! `tests/reliability_concurrency.rs`.)

use std::process::Command;

use super::common::Fixture;

/// stderr of `stagecraft --root STORE ARGS…` with miette's frame removed, and whether it succeeded.
fn run(f: &Fixture, args: &[&str]) -> (bool, String) {
    let out = f.cmd(args);
    let words = String::from_utf8_lossy(&out.stderr)
        .replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (out.status.success(), words)
}

fn build(f: &Fixture, extra: &[&str]) -> (bool, String) {
    let ctx = f.ctx.path().display().to_string();
    let mut args = vec!["build", "--progress=plain"];
    args.extend_from_slice(extra);
    args.push(&ctx);
    run(f, &args)
}

#[test]
fn names_tags_nul_bytes_and_symlink_loops_get_pointed_errors() {
    let f = Fixture::new();
    // A mistyped stage: no request to docker.io, the stage it probably meant.
    f.dockerfile("FROM busybox AS deps\nRUN echo hi\nFROM busybox\nCOPY --from=dep /x /x\n");
    let (ok, err) = build(&f, &[]);
    assert!(!ok);
    assert!(
        err.contains(r#"--from=dep: no stage is named "dep" (did you mean deps?)"#)
            && err.contains("would be pulled from docker.io/library/dep:latest")
            && !err.contains("error sending request"),
        "{err}"
    );
    // Tags: refused by the grammar before the build starts (the RUN never runs, no record).
    let records_before = std::fs::read_dir(f.root().join("builds")).unwrap().count();
    f.dockerfile("FROM busybox\nRUN echo ran\n");
    for tag in ["../../etc/x:1", "BAD TAG", "x@sha256:0000"] {
        let (ok, err) = build(&f, &["-t", tag]);
        assert!(!ok && err.contains("invalid tag"), "{tag}: {err}");
        assert!(
            !err.contains("ran") && !err.contains("#1"),
            "{tag} built: {err}"
        );
    }
    let builds = std::fs::read_dir(f.root().join("builds")).unwrap().count();
    assert_eq!(builds, records_before, "a build ran with a bad tag");
    let rootfs = format!("rootfs:{}", f.ctx.path().display());
    let (ok, err) = run(&f, &["image", "import", &rootfs, "-t", "../../etc/x:1"]);
    assert!(
        !ok && err.contains(r#"invalid tag "../../etc/x:1""#),
        "{err}"
    );
    // A NUL byte: file:line:col of the byte itself.
    f.write("Dockerfile", "FROM busybox\nRUN echo a\0b\n");
    let (ok, err) = build(&f, &[]);
    assert!(!ok);
    assert!(
        err.contains("Dockerfile:2:11: NUL byte") && err.contains("a^@b"),
        "{err}"
    );
    // A self-symlink is copied as a link by `COPY .`, and is a loop (not outside) when followed.
    std::os::unix::fs::symlink("loop", f.ctx.path().join("loop")).unwrap();
    f.dockerfile("FROM busybox\nCOPY . /c/\nRUN test -L /c/loop\nCOPY loop /x\n");
    let (ok, err) = build(&f, &[]);
    assert!(!ok);
    assert!(
        err.contains(r#""loop": too many levels of symbolic links"#) && !err.contains("outside"),
        "{err}"
    );
    assert!(err.contains("step 0/3 (COPY loop /x)"), "{err}");
}

#[test]
fn huge_lines_and_tag_lists_are_cut_with_a_count() {
    let f = Fixture::new();
    let x = "x".repeat(1 << 20);
    for df in [
        format!("FROM busybox\nRUN echo {x}\n"),
        format!("FROM busybox\nCOPY {x} /\n"),
    ] {
        f.dockerfile(&df);
        let ctx = f.ctx.path().display().to_string();
        let out = f.cmd(&["build", "--progress=plain", &ctx]);
        assert!(!out.status.success());
        // Each line at most a screenful: a few KB, where the 1 MB line came three times.
        assert!(
            out.stderr.len() < 16 << 10,
            "{} bytes of errors",
            out.stderr.len()
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("more bytes)"), "{err}");
    }
    // An OCI layout naming 20,000 images: the first few and a count.
    let layout = tempfile::tempdir().unwrap();
    let entries: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{:064x}","size":1,"annotations":{{"org.opencontainers.image.ref.name":"t{i}"}}}}"#,
                i
            )
        })
        .collect();
    std::fs::write(
        layout.path().join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            entries.join(",")
        ),
    )
    .unwrap();
    std::fs::write(
        layout.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let source = format!("oci:{}", layout.path().display());
    let out = f.cmd(&["image", "import", &source]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(+19990 more)") && out.stderr.len() < 4 << 10,
        "{err}"
    );
}

#[test]
fn cache_du_counts_what_the_disk_holds() {
    let f = Fixture::new();
    // 4,000 files of a few bytes: about 16 MB of blocks for 20 kB of content.
    f.dockerfile(
        "FROM busybox\nRUN mkdir /d && cd /d && for i in $(seq 4000); do echo $i > f$i; done\n",
    );
    assert!(f.build(&[]).ok());
    // `cache du` against `du`: the snapshots as the disk holds them.
    let out = f.cmd(&["cache", "du"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let ours = text
        .lines()
        .find_map(|l| l.strip_prefix("snapshots"))
        .map(|v| parse_human(v.trim()))
        .unwrap_or_else(|| panic!("{text}"));
    let du = Command::new("du")
        .args(["-s", "--block-size=1"])
        .arg(f.root().join("snapshots"))
        .output()
        .unwrap();
    let theirs: f64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(theirs > 10e6, "du: {theirs}");
    assert!(
        (ours - theirs).abs() / theirs < 0.05,
        "cache du {ours} vs du {theirs}"
    );
}

/// `84.5MB` → bytes (decimal units, as `cache du` prints them).
fn parse_human(s: &str) -> f64 {
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let scale = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unit {other}"),
    };
    n.parse::<f64>().unwrap() * scale
}
