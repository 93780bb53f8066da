//! The same Dockerfile built by stagecraft and by `buildah build --layers` gives the same final
//! filesystem: paths, types, modes, owners, file contents and symlink targets.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::Fixture;

const DOCKERFILE: &str = r#"
FROM busybox AS builder
WORKDIR /src
COPY app.txt .
RUN mkdir -p out/sub && cp app.txt out/app && chmod 750 out/app && ln -s app out/link \
 && echo built > out/sub/stamp && chown 1000:1000 out/sub/stamp && rm /bin/vi

FROM busybox
COPY --from=builder /src/out/ /opt/out/
COPY --chown=1000:1000 app.txt /home/app/
COPY --chmod=600 app.txt /etc/app.conf
RUN rm -f /bin/ls && mkdir -p /var/data && echo x > /var/data/x && ln -sf /var/data/x /var/x-link
WORKDIR /var/work
RUN touch made-here
"#;

/// Mount points buildah's own RUN leaves in an image (BuildKit and stagecraft remove them).
const BUILDAH_RUNTIME_ARTIFACTS: [&str; 4] =
    ["etc/hostname", "etc/hosts", "etc/resolv.conf", "run"];

#[derive(Debug, PartialEq, Eq)]
struct Node {
    kind: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    body: Vec<u8>,
}

fn tree(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.unwrap();
        let meta = entry.path().symlink_metadata().unwrap();
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap()
            .display()
            .to_string();
        let ft = meta.file_type();
        let body = if ft.is_symlink() {
            fs::read_link(entry.path())
                .unwrap()
                .display()
                .to_string()
                .into_bytes()
        } else if ft.is_file() {
            fs::read(entry.path()).unwrap()
        } else {
            Vec::new()
        };
        let mode = if ft.is_symlink() {
            0
        } else {
            meta.mode() & 0o7777
        };
        out.insert(
            rel,
            Node {
                kind: meta.mode() & libc::S_IFMT,
                mode,
                uid: meta.uid(),
                gid: meta.gid(),
                body,
            },
        );
    }
    out
}

#[test]
fn final_filesystem_matches_buildah() {
    common::require(&["buildah", "skopeo"]);
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write("app.txt", "hello\n");
    let b = f.build(&["-t", "cmp/ours:1"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_ours_dir, ours) = f.unpack("cmp/ours:1");

    // buildah gets the very same base image, through an OCI layout we export.
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("base");
    let out = f.cmd(&[
        "image",
        "export",
        "busybox:latest",
        "--output",
        &format!("type=oci,dest={}", base.display()),
    ]);
    assert!(out.status.success());
    let root = work.path().join("root");
    let runroot = work.path().join("run");
    let storage = format!(
        "containers-storage:[overlay@{}+{}]localhost/busybox:latest",
        root.display(),
        runroot.display()
    );
    let status = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            &format!("oci:{}:latest", base.display()),
            &storage,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let buildah = |args: &[&str]| {
        let out = Command::new("buildah")
            .arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(&runroot)
            .args(["--storage-driver", "overlay"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "buildah {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let ctx = f.ctx.path().display().to_string();
    buildah(&[
        "build",
        "--layers",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "-t",
        "cmp-theirs",
        &ctx,
    ]);
    let container = buildah(&["from", "-q", "localhost/cmp-theirs:latest"]);
    let mount = buildah(&["mount", &container]);
    let mut theirs = tree(Path::new(&mount));
    buildah(&["umount", &container]);
    buildah(&["rm", &container]);
    let ours = tree(&ours);

    for path in BUILDAH_RUNTIME_ARTIFACTS {
        if !ours.contains_key(path) {
            let artifact = theirs.remove(path);
            assert!(
                artifact.is_none_or(|n| n.body.is_empty()),
                "{path} has content in buildah's image"
            );
        }
    }
    let differ: Vec<String> = ours
        .keys()
        .chain(theirs.keys())
        .filter(|p| ours.get(*p) != theirs.get(*p))
        .map(|p| {
            format!(
                "{p}: ours {:?} theirs {:?}",
                ours.get(p).map(|n| (n.kind, n.mode, n.uid, n.gid)),
                theirs.get(p).map(|n| (n.kind, n.mode, n.uid, n.gid))
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "filesystems differ:\n{}",
        differ.join("\n")
    );
    assert!(ours.contains_key("opt/out/link") && !ours.contains_key("bin/ls"));
}
