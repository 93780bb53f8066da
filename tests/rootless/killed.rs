//! `kill -9` of a rootless build: the container dies with it, no mount stays, and the next
//! command removes what it left.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use super::common::{self, rootless::*};

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
