//! The lessons' base image: `busybox:latest` made from Debian's busybox-static, as
//! `quickstart.sh` makes it, so lessons build without any registry.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use crate::image::layer::LayerOptions;
use crate::image::transport::rootfs;
use crate::store::Store;

pub const BASE_IMAGE: &str = "busybox:latest";
const BUSYBOX: &str = "/bin/busybox";

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("making the busybox base image from {BUSYBOX} (apt-get install busybox-static): {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Import(#[from] crate::image::transport::TransportError),
}

/// Imports `busybox:latest` unless the store has it; true when it imported.
pub fn ensure(store: &Store) -> Result<bool, BaseError> {
    if store.resolve(BASE_IMAGE)?.is_some() {
        return Ok(false);
    }
    let dir = tempfile::tempdir()?;
    busybox_rootfs(dir.path())?;
    rootfs::import(
        store,
        dir.path(),
        Some(BASE_IMAGE),
        &LayerOptions::default(),
    )?;
    Ok(true)
}

/// `/bin/busybox`, a symlink per applet, `/etc/passwd` and `/etc/group` with root and `app`
/// (uid 1000), `/tmp` writable by all.
fn busybox_rootfs(root: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(root.join("bin"))?;
    std::fs::copy(BUSYBOX, root.join("bin/busybox"))?;
    let list = Command::new(BUSYBOX).arg("--list-full").output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let path = root.join(applet);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        symlink("/bin/busybox", &path)?;
    }
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc)?;
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
    )?;
    std::fs::write(etc.join("group"), "root:x:0:\napp:x:1000:\n")?;
    for d in ["tmp", "root", "home/app"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    std::os::unix::fs::chown(root.join("home/app"), Some(1000), Some(1000))?;
    Ok(())
}
