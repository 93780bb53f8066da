//! Every command as a regular user (issue 16): the binary runs through `runuser` as the users
//! `.ci/run` creates, each with its own store under `~/.local/share/stagecraft`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::bin;
use common::rootless::*;

const EPOCH: (&str, &str) = ("SOURCE_DATE_EPOCH", "1700000000");

/// Two stages, a USER switch, a deleted file, a replaced (opaque) dir, COPY --chown.
const DOCKERFILE: &str = "\
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

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        stdout(out),
        stderr(out)
    );
}

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

#[test]
fn single_id_fallback_builds_as_root_and_names_the_fix_for_other_ids() {
    common::require(&["runc"]);
    let sb = Sandbox::new(SINGLE);
    // The root-made base holds /home/app as uid 1000, which has no host ID here.
    let base = BaseArchive::new();
    let refused = sb.import(&base);
    assert!(!refused.status.success(), "{}", stderr(&refused));
    let said = stderr(&refused);
    assert!(
        said.contains("uid 1000 is outside the ID map") && said.contains("/etc/subuid"),
        "{said}"
    );
    let own = sb.import_own_rootfs();
    ok(&own, "import a base of the user's own files");
    assert!(
        stderr(&own).contains("usermod --add-subuids"),
        "{}",
        stderr(&own)
    );

    sb.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN mkdir /d && echo x > /d/f && echo y > /gone\nRUN rm /gone && id -u > /d/id\n",
    );
    ok(
        &sb.run(&["build", "--progress=plain", "-t", "s:1", "."]),
        "build",
    );
    let shell = sb.run(&["shell", "0", "--", "sh", "-c", "cat /d/id; ls /gone"]);
    assert_eq!(stdout(&shell), "0\n", "{}", stderr(&shell));

    sb.write("Dockerfile", "FROM busybox:latest\nUSER 1000\nRUN id\n");
    let refused = sb.run(&["build", "--progress=plain", "."]);
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(
        said.contains("uid 1000 is outside the ID map") && said.contains("/etc/subuid"),
        "{said}"
    );
}

/// Host pids of processes running `argv` as host uid `uid`.
fn processes(argv: &[u8], uid: u32) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let owner = fs::metadata(format!("/proc/{pid}")).map(|m| m.uid());
            cmdline == argv && owner.ok() == Some(uid)
        })
        .collect()
}

#[test]
fn kill_9_mid_build_leaves_no_mount_and_a_clean_store() {
    common::require(&["runc"]);
    let base = BaseArchive::new();
    let sb = Sandbox::new(RANGED);
    ok(&sb.import(&base), "import");
    sb.write("Dockerfile", "FROM busybox:latest\nRUN sleep 7777\n");
    let mut build = sb.spawn(&["build", "--progress=plain", "."]);
    let sleep = b"sleep\x007777\x00";
    // The RUN is running once its process exists (as the user on the host: container root).
    while processes(sleep, sb.uid).is_empty() {
        assert!(build.try_wait().unwrap().is_none(), "build ended early");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ours: Vec<u32> = fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/exe")).ok() == Some(sb.path("stagecraft")))
        .collect();
    assert_eq!(ours.len(), 1, "one stagecraft process: {ours:?}");
    let killed = ours[0];
    for pid in ours {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let _ = build.wait();
    // The container died with stagecraft (its PID namespace's init went with it).
    assert!(
        eventually(|| processes(sleep, sb.uid).is_empty()),
        "container outlived stagecraft: {:?}",
        processes(sleep, sb.uid)
    );
    assert_eq!(mounts_below(sb.dir.path()), Vec::<String>::new());
    // What the killed run left is the runtime's state dir under the user's runtime dir: `store
    // check` names it, and the next command removes it.
    let state = sb.runtime_dir().join("runc");
    let left = |pid: u32| owned_by(&state, pid);
    assert_eq!(left(killed).len(), 1, "state of {killed} in {state:?}");
    let check = sb.run(&["store", "check"]);
    assert!(!check.status.success(), "{}", stdout(&check));
    assert!(
        stdout(&check).contains(&format!(
            "of stagecraft process {killed}, which no longer runs"
        )),
        "{}",
        stdout(&check)
    );

    sb.write("Dockerfile", "FROM busybox:latest\nRUN echo fine\n");
    ok(
        &sb.run(&["build", "--progress=plain", "."]),
        "build after kill",
    );
    assert_eq!(left(killed), Vec::<String>::new());
    let check = sb.run(&["store", "check"]);
    ok(&check, "store check after the next build");
    assert!(
        stdout(&check).contains(": 0 problems"),
        "{}",
        stdout(&check)
    );
    assert_eq!(mounts_below(sb.dir.path()), Vec::<String>::new());
}

/// Polls `done` (10 s at most) for what the kernel finishes asynchronously after a kill.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    done()
}

/// Container state dirs in `root` named for stagecraft process `pid`.
fn owned_by(root: &Path, pid: u32) -> Vec<String> {
    let prefix = format!("stagecraft-{pid}-");
    fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn runtime_dir_of_someone_else_or_a_symlink_is_refused() {
    common::require(&["runc"]);
    let sb = Sandbox::new(RANGED);
    ok(&sb.import_own_rootfs(), "import");
    sb.write("Dockerfile", "FROM busybox:latest\nRUN true\n");
    let build = || sb.run(&["build", "--progress=plain", "."]);
    // Root's dir stands for another user's: the user cannot write it, but a link would lead
    // runc state there (and to whatever a planted state.json says).
    let theirs = tempfile::tempdir().unwrap();
    let dir = sb.runtime_dir();
    // Every command makes it at start (the import above did).
    fs::remove_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(theirs.path(), &dir).unwrap();
    let refused = build();
    assert!(!refused.status.success(), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(&format!(
            "refusing the runtime dir {}: it is a symlink",
            dir.display()
        )),
        "{}",
        stderr(&refused)
    );
    let check = sb.run(&["store", "check"]);
    assert!(!check.status.success(), "{}", stdout(&check));
    assert!(stdout(&check).contains("refusing the runtime dir"));

    fs::remove_file(&dir).unwrap();
    fs::create_dir(&dir).unwrap();
    let refused = build();
    assert!(
        stderr(&refused).contains("it belongs to another user (unmapped here), not to you"),
        "{}",
        stderr(&refused)
    );
    sb.give(&dir);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let refused = build();
    assert!(
        stderr(&refused).contains("others can write it (mode 777)"),
        "{}",
        stderr(&refused)
    );

    fs::remove_dir(&dir).unwrap();
    ok(&build(), "build with the runtime dir it makes itself");
    let made = fs::symlink_metadata(&dir).unwrap();
    assert!(made.is_dir());
    assert_eq!((made.uid(), made.mode() & 0o777), (sb.uid, 0o700));
}
