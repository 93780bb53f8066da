//! A busybox root filesystem, made at test time from Debian's busybox-static.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's busybox-static puts its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Writes a minimal busybox root filesystem into `root`: `/bin/busybox`, one symlink per applet,
/// `/etc/passwd` and `/etc/group` with root, nobody and an `app` user (uid 1000), and `/tmp`.
pub fn busybox_rootfs(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    fs::create_dir_all(&bin).expect("mkdir bin");
    fs::copy(BUSYBOX, bin.join("busybox")).expect("copy busybox (apt-get install busybox-static)");
    let out = Command::new(BUSYBOX)
        .arg("--list-full")
        .output()
        .expect("busybox --list-full");
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let path = root.join(applet);
        if path.exists() || path.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir applet dir");
        }
        symlink("/bin/busybox", &path).expect("applet symlink");
    }
    let etc = root.join("etc");
    fs::create_dir_all(&etc).expect("mkdir etc");
    fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .expect("passwd");
    fs::write(
        etc.join("group"),
        "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n",
    )
    .expect("group");
    for dir in ["tmp", "root", "home/app", "proc", "sys", "dev"] {
        fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    // As in real images: everyone may write /tmp, and app owns its home.
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod tmp");
    std::os::unix::fs::chown(root.join("home/app"), Some(1000), Some(1000)).expect("chown home");
    root.to_path_buf()
}
