//! A busybox image imported from a rootfs and from a docker-archive round-trips through every
//! export format, and external clients (skopeo, umoci) accept what we write.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest as _, Sha256};

/// Everything `umoci unpack` must reproduce: type, mode, owner, content or link target.
fn tree(root: &Path) -> BTreeMap<String, (u32, u32, u32, String)> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e.unwrap();
        let m = e.path().symlink_metadata().unwrap();
        let what = if m.file_type().is_symlink() {
            fs::read_link(e.path()).unwrap().display().to_string()
        } else if m.is_file() {
            hex::encode(Sha256::digest(fs::read(e.path()).unwrap()))
        } else {
            String::new()
        };
        let rel = e.path().strip_prefix(root).unwrap().display().to_string();
        out.insert(rel, (m.mode(), m.uid(), m.gid(), what));
    }
    out
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stagecraft(store: &Path) -> Command {
    let mut c = Command::cargo_bin("stagecraft").unwrap();
    c.arg("--root").arg(store);
    c
}

fn skopeo_json(arg: &str) -> serde_json::Value {
    serde_json::from_str(&run(Command::new("skopeo").args(["inspect", arg]))).unwrap()
}

fn umoci_tree(layout_and_tag: &str, work: &Path) -> BTreeMap<String, (u32, u32, u32, String)> {
    let bundle = work.join(format!(
        "bundle-{}",
        hex::encode(Sha256::digest(layout_and_tag))
    ));
    run(Command::new("umoci")
        .args(["unpack", "--image", layout_and_tag])
        .arg(&bundle));
    tree(&bundle.join("rootfs"))
}

fn fixture_rootfs(dir: &Path) -> std::path::PathBuf {
    let root = common::busybox_rootfs(dir);
    fs::write(root.join("home/app/owned"), "app's file").unwrap();
    std::os::unix::fs::chown(root.join("home/app/owned"), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::chown(root.join("home/app"), Some(1000), Some(1000)).unwrap();
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    root
}

#[test]
fn rootfs_image_round_trips_through_every_export() {
    common::require(&["skopeo", "umoci"]);
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let store = work.join("store");
    let rootfs = fixture_rootfs(&work.join("rootfs"));
    let want = tree(&rootfs);

    let digest = run(stagecraft(&store)
        .args(["image", "import"])
        .arg(format!("rootfs:{}", rootfs.display()))
        .args(["-t", "busybox:test"]));
    let digest = digest.trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let ls = run(stagecraft(&store).args(["image", "ls"]));
    assert!(
        ls.contains("busybox:test") && ls.contains(&digest[7..19]),
        "{ls}"
    );
    let history = run(stagecraft(&store).args(["image", "history", "busybox:test"]));
    assert!(
        history.contains("stagecraft image import rootfs:"),
        "{history}"
    );

    // The store itself is an OCI layout skopeo reads.
    let inspected = skopeo_json(&format!(
        "oci:{}:docker.io/library/busybox:test",
        store.display()
    ));
    assert_eq!(inspected["Digest"], digest);

    // oci dir → skopeo + umoci.
    let oci = work.join("oci");
    run(stagecraft(&store)
        .args(["image", "export", "busybox:test", "--output"])
        .arg(format!("type=oci,dest={}", oci.display())));
    assert_eq!(
        skopeo_json(&format!("oci:{}:test", oci.display()))["Digest"],
        digest
    );
    assert_eq!(
        umoci_tree(&format!("{}:test", oci.display()), work),
        want,
        "umoci unpack of the oci export"
    );

    // oci-archive → skopeo copy back to a layout → umoci.
    let archive = work.join("image.oci.tar");
    run(stagecraft(&store)
        .args(["image", "export", "busybox:test", "-o"])
        .arg(format!("type=oci-archive,dest={}", archive.display())));
    assert_eq!(
        skopeo_json(&format!("oci-archive:{}:test", archive.display()))["Digest"],
        digest
    );
    let copied = work.join("copied");
    run(Command::new("skopeo")
        .args(["copy"])
        .arg(format!("oci-archive:{}:test", archive.display()))
        .arg(format!("oci:{}:c", copied.display())));
    assert_eq!(
        umoci_tree(&format!("{}:c", copied.display()), work),
        want,
        "oci-archive via skopeo copy"
    );

    // docker-archive → skopeo copy → umoci.
    let docker = work.join("image.docker.tar");
    run(stagecraft(&store)
        .args(["image", "export", "busybox:test", "-o"])
        .arg(format!("type=docker-archive,dest={}", docker.display())));
    let d = skopeo_json(&format!("docker-archive:{}", docker.display()));
    assert_eq!(d["Layers"].as_array().map(Vec::len), Some(1), "{d}");
    assert_eq!(d["Os"], "linux");
    let from_docker = work.join("from-docker");
    run(Command::new("skopeo")
        .args(["copy"])
        .arg(format!("docker-archive:{}", docker.display()))
        .arg(format!("oci:{}:d", from_docker.display())));
    assert_eq!(
        umoci_tree(&format!("{}:d", from_docker.display()), work),
        want,
        "docker-archive via skopeo copy"
    );

    // Import each export back into a fresh store: same config, same layers.
    let store2 = work.join("store2");
    let config = |s: &Path, name: &str| {
        let st = stagecraft::store::Store::open(s).unwrap();
        let img = st.resolve(name).unwrap().unwrap();
        (img.manifest.config().digest().to_string(), img.diff_ids())
    };
    let original = config(&store, "busybox:test");
    run(stagecraft(&store2)
        .args(["image", "import"])
        .arg(format!("oci:{}:test", oci.display()))
        .args(["-t", "a"]));
    run(stagecraft(&store2)
        .args(["image", "import"])
        .arg(format!("oci-archive:{}:test", archive.display()))
        .args(["-t", "b"]));
    run(stagecraft(&store2)
        .args(["image", "import"])
        .arg(format!("docker-archive:{}", docker.display()))
        .args(["-t", "c"]));
    for name in ["a", "b", "c"] {
        assert_eq!(config(&store2, name), original, "re-imported {name}");
    }
    let rm = run(stagecraft(&store2).args(["image", "rm", "a"]));
    assert!(rm.contains("untagged a"), "{rm}");
    assert!(
        stagecraft::store::Store::open(&store2)
            .unwrap()
            .resolve("a")
            .unwrap()
            .is_none()
    );
}

#[test]
fn docker_archive_made_by_skopeo_imports_and_exports() {
    common::require(&["skopeo", "umoci"]);
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let rootfs = fixture_rootfs(&work.join("rootfs"));
    let want = tree(&rootfs);
    // Make a docker-archive with skopeo from an OCI layout written by our rootfs import.
    let seed = work.join("seed-store");
    run(stagecraft(&seed)
        .args(["image", "import"])
        .arg(format!("rootfs:{}", rootfs.display()))
        .args(["-t", "seed"]));
    let layout = work.join("layout");
    run(stagecraft(&seed)
        .args(["image", "export", "seed", "-o"])
        .arg(format!("type=oci,dest={}", layout.display())));
    let archive = work.join("skopeo.docker.tar");
    run(Command::new("skopeo")
        .args(["copy"])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!(
            "docker-archive:{}:busybox:from-skopeo",
            archive.display()
        )));

    let store = work.join("store");
    let digest = run(stagecraft(&store)
        .args(["image", "import"])
        .arg(format!("docker-archive:{}", archive.display())));
    let st = stagecraft::store::Store::open(&store).unwrap();
    let img = st
        .resolve("busybox:from-skopeo")
        .unwrap()
        .expect("tagged from the archive's RepoTags");
    assert_eq!(img.digest().to_string(), digest.trim());
    drop(st);
    let out = work.join("out");
    run(stagecraft(&store)
        .args(["image", "export", "busybox:from-skopeo", "-o"])
        .arg(format!("type=oci,dest={}", out.display())));
    assert_eq!(
        umoci_tree(&format!("{}:from-skopeo", out.display()), work),
        want
    );
    for (kind, file) in [
        ("oci-archive", "re.oci.tar"),
        ("docker-archive", "re.docker.tar"),
    ] {
        let path = work.join(file);
        run(stagecraft(&store)
            .args(["image", "export", "busybox:from-skopeo", "-o"])
            .arg(format!("type={kind},dest={}", path.display())));
        let copied = work.join(format!("copied-{kind}"));
        run(Command::new("skopeo")
            .arg("copy")
            .arg(format!("{kind}:{}", path.display()))
            .arg(format!("oci:{}:x", copied.display())));
        assert_eq!(
            umoci_tree(&format!("{}:x", copied.display()), work),
            want,
            "{kind}"
        );
    }
}
