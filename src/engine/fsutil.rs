//! Path resolution scoped to a root directory, the way a container sees its own filesystem: absolute
//! symlinks and `..` are interpreted inside the root, so resolving can never leave it.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// Resolves `path` (absolute or relative to the root) inside `root`, following symlinks as if `root`
/// were `/`. Components that do not exist yet are appended as they are, so the result can be used to
/// create them. With `follow_last` false a final symlink is not followed (to copy the link itself).
/// Names are bytes: a component that is not UTF-8 resolves like any other.
pub fn resolve_in_root(
    root: &Path,
    path: impl AsRef<Path>,
    follow_last: bool,
) -> io::Result<PathBuf> {
    let path = path.as_ref();
    let mut pending: Vec<OsString> = components(path).into_iter().rev().collect();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut followed = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = join(root, &resolved).join(&part);
        let is_last = pending.is_empty();
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() && (follow_last || !is_last) => {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(io::Error::other(format!(
                        "too many levels of symbolic links resolving {}",
                        path.display()
                    )));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.has_root() {
                    resolved.clear();
                }
                pending.extend(components(&target).into_iter().rev());
            }
            _ => resolved.push(part),
        }
    }
    Ok(join(root, &resolved))
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut out = root.to_path_buf();
    out.extend(parts);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_and_dotdot_symlinks_stay_inside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib")).expect("mkdir");
        symlink("/usr/lib", root.join("lib")).expect("symlink");
        symlink("../../../../etc", root.join("usr/escape")).expect("symlink");
        symlink("/", root.join("up")).expect("symlink");
        assert_eq!(
            resolve_in_root(root, "/lib/x", true).expect("resolve"),
            root.join("usr/lib/x")
        );
        assert_eq!(
            resolve_in_root(root, "usr/escape/passwd", true).expect("resolve"),
            root.join("etc/passwd")
        );
        assert_eq!(
            resolve_in_root(root, "../../up/../etc", true).expect("resolve"),
            root.join("etc")
        );
        assert_eq!(
            resolve_in_root(root, "/lib", false).expect("resolve"),
            root.join("lib")
        );
    }

    #[test]
    fn symlink_loops_are_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        symlink("b", dir.path().join("a")).expect("symlink");
        symlink("a", dir.path().join("b")).expect("symlink");
        assert!(resolve_in_root(dir.path(), "a/x", true).is_err());
    }
}
