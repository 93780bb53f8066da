//! Reading files of a rootfs as the container would see them: absolute symlinks resolve inside
//! the rootfs (`openat2` with `RESOLVE_IN_ROOT`), never on the host.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
use nix::sys::stat::Mode;

/// Contents of `path` (absolute inside the rootfs), or `None` when it does not exist.
pub fn read_optional(rootfs: &Path, path: &str) -> io::Result<Option<String>> {
    let root = open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT);
    match openat2(&root, path, how) {
        Ok(fd) => {
            let mut text = String::new();
            File::from(fd).read_to_string(&mut text)?;
            Ok(Some(text))
        }
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
