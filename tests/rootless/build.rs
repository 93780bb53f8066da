//! A multi-stage build as the user: container IDs in layer tars, whiteouts, root's digest,
//! cache hits, export, shell and diff.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use super::common::{self, bin, rootless::*};

pub const EPOCH: (&str, &str) = ("SOURCE_DATE_EPOCH", "1700000000");

/// Two stages, a USER switch, a deleted file, a replaced (opaque) dir, COPY --chown.
pub const DOCKERFILE: &str = "\
FROM busybox:latest AS tools
RUN echo built-by-tools > /tool.txt
FROM busybox:latest
RUN mkdir -p /data /opq && echo a > /data/gone && echo keep > /data/keep && echo b > /opq/old
RUN rm /data/gone && rm -rf /opq && mkdir /opq && echo new > /opq/new
COPY --chown=1000:1000 hello.txt /home/app/hello.txt
COPY --from=tools /tool.txt /tool.txt
USER app
RUN id -u > /tmp/id && echo made-by-app > /home/app/made.txt
";

/// Every (path, uid, gid) of every layer tar in `store`'s blobs (built layers are plain tars).
fn layer_entries(store: &Path) -> Vec<(String, u64, u64)> {
    let mut entries = Vec::new();
    for blob in fs::read_dir(store.join("blobs/sha256")).unwrap() {
        let mut head = [0u8; 262];
        let path = blob.unwrap().path();
        let n = fs::File::open(&path).unwrap().read(&mut head).unwrap();
        if n < 262 || &head[257..262] != b"ustar" {
            continue;
        }
        let mut archive = tar::Archive::new(fs::File::open(&path).unwrap());
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            entries.push((
                entry.path().unwrap().display().to_string(),
                header.uid().unwrap(),
                header.gid().unwrap(),
            ));
        }
    }
    entries
}

#[test]
fn multi_stage_build_matches_roots_image_and_caches() {
    common::require(&["umoci", "runc"]);
    let base = BaseArchive::new();
    let sb = Sandbox::new(RANGED);
    ok(&sb.import(&base), "import the root-made base");
    sb.write("Dockerfile", DOCKERFILE);
    sb.write("hello.txt", "hello\n");
    let args = ["build", "--progress=plain", "-t", "out:1", "."];
    let built = sb.run_env(&args, &[EPOCH]);
    ok(&built, "rootless build");
    assert!(
        sb.store().join("index.json").is_file(),
        "default store path"
    );

    // Layer headers carry container IDs, whatever subuid holds the files on the host.
    let entries = layer_entries(&sb.store());
    let find = |p: &str| entries.iter().find(|e| e.0 == p).cloned();
    assert_eq!(
        find("home/app/made.txt").map(|e| (e.1, e.2)),
        Some((1000, 1000))
    );
    assert_eq!(
        find("home/app/hello.txt").map(|e| (e.1, e.2)),
        Some((1000, 1000))
    );
    assert!(find("data/.wh.gone").is_some(), "whiteout: {entries:?}");
    assert!(
        find("opq/.wh..wh..opq").is_some(),
        "opaque dir: {entries:?}"
    );
    let host_start = subid_start("/etc/subuid", RANGED).unwrap();
    let made = fs::read_dir(sb.store().join("snapshots"))
        .unwrap()
        .map(|d| d.unwrap().path().join("fs/home/app/made.txt"))
        .find(|p| p.exists())
        .unwrap();
    assert_eq!(fs::metadata(made).unwrap().uid(), host_start + 999);

    // A rebuild is all cache hits.
    let again = sb.run_env(&args, &[EPOCH]);
    ok(&again, "rebuild");
    assert!(
        stderr(&again).contains("cached (100%)"),
        "{}",
        stderr(&again)
    );
    assert_eq!(image_digest(&again), image_digest(&built));

    // Root, from the same base and context, makes the very same image.
    let root_store = tempfile::tempdir().unwrap();
    let root = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("--root")
            .arg(root_store.path())
            .args(args)
            .env(EPOCH.0, EPOCH.1)
            .current_dir(sb.path("ctx"))
            .output()
            .unwrap();
        ok(&out, &format!("root {args:?}"));
        out
    };
    let archive = format!("oci-archive:{}", base.path.display());
    root(&["image", "import", &archive, "-t", "busybox:latest"]);
    let as_root = root(&args);
    assert_eq!(image_digest(&as_root), image_digest(&built));

    // The export unpacks (umoci, as root) to what the Dockerfile says.
    let layout = sb.path("home/oci");
    let dest = format!("type=oci,dest={}", layout.display());
    ok(
        &sb.run(&["image", "export", "out:1", "--output", &dest]),
        "export",
    );
    let bundle = sb.path("bundle");
    let out = Command::new("umoci")
        .args(["unpack", "--image", &format!("{}:1", layout.display())])
        .arg(&bundle)
        .output()
        .unwrap();
    ok(&out, "umoci unpack");
    let rootfs = bundle.join("rootfs");
    assert!(!rootfs.join("data/gone").exists() && rootfs.join("data/keep").exists());
    assert!(!rootfs.join("opq/old").exists() && rootfs.join("opq/new").exists());
    assert_eq!(fs::read_to_string(rootfs.join("tmp/id")).unwrap(), "1000\n");
    assert_eq!(
        fs::read_to_string(rootfs.join("tool.txt")).unwrap(),
        "built-by-tools\n"
    );
    let made = fs::metadata(rootfs.join("home/app/made.txt")).unwrap();
    assert_eq!((made.uid(), made.gid()), (1000, 1000));

    // shell and diff on the last build, as the same user.
    let shell = sb.run(&["shell", "1", "--", "cat", "/home/app/made.txt", "/opq/new"]);
    ok(&shell, "shell");
    assert_eq!(stdout(&shell), "made-by-app\nnew\n");
    let diff = sb.run(&["diff", "1/1", "1/2"]);
    ok(&diff, "diff");
    assert!(stdout(&diff).contains("data/gone"), "{}", stdout(&diff));
}
