//! Root filesystems made at test time: busybox from Debian's busybox-static, and one Debian
//! bookworm minbase made by debootstrap and shared by every test binary.

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

/// Where slow fixtures are made once and shared by every test binary (and every later run):
/// `$STAGECRAFT_TEST_FIXTURES`, else `/var/tmp/stagecraft-test-fixtures`.
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("STAGECRAFT_TEST_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/stagecraft-test-fixtures"))
}

/// A Debian bookworm minbase root filesystem made by `debootstrap` from Debian's archive
/// (`$DEBIAN_MIRROR`, default deb.debian.org), trimmed like the official image (no apt lists, no
/// downloaded .debs). Made once (about 2 minutes) under [`fixtures_dir`] behind a file lock, so
/// concurrent test binaries wait for one debootstrap instead of running their own.
pub fn debian_rootfs() -> PathBuf {
    use nix::fcntl::{Flock, FlockArg};
    let base = fixtures_dir();
    let root = base.join("debian-bookworm");
    let done = base.join("debian-bookworm.ok");
    if done.exists() {
        return root;
    }
    fs::create_dir_all(&base).expect("mkdir fixtures dir");
    let lock = fs::File::create(base.join("debian-bookworm.lock")).expect("fixture lock file");
    let _lock = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .expect("lock the debian fixture");
    if done.exists() {
        return root;
    }
    super::require(&["debootstrap"]);
    let tmp = base.join("debian-bookworm.tmp");
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_dir_all(&root);
    let mirror =
        std::env::var("DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    let out = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&tmp)
        .arg(&mirror)
        .output()
        .expect("run debootstrap");
    assert!(
        out.status.success(),
        "debootstrap --variant=minbase bookworm {} {mirror} failed:\n{}\n{}",
        tmp.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        for item in fs::read_dir(tmp.join(dir)).expect("read apt dir").flatten() {
            if item.file_type().is_ok_and(|t| t.is_file()) {
                fs::remove_file(item.path()).expect("trim apt dir");
            }
        }
    }
    fs::rename(&tmp, &root).expect("move the debian fixture in place");
    fs::write(&done, mirror).expect("mark the debian fixture done");
    root
}
