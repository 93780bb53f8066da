//! The per-user runtime dir (runc state) is refused when it is a symlink, someone else's or
//! writable by others.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::common::{self, rootless::*};

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
