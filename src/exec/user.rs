//! Docker's `USER` resolution against the rootfs's `/etc/passwd` and `/etc/group`.

use std::path::Path;

use super::error::ExecError;
use super::in_root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Groups in `/etc/group` that list the user as a member, besides `gid`.
    pub additional_gids: Vec<u32>,
    /// From `/etc/passwd`; `/` when the user has no entry.
    pub home: String,
}

/// Resolves `name`, `uid`, `name:group`, `uid:gid` (or empty, meaning root) like Docker:
/// a name must exist in the rootfs; a number need not, and then gets gid 0 unless given.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<ResolvedUser, ExecError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let passwd = read(rootfs, "/etc/passwd")?;
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| {
            f.len() >= 6
                && (f[0] == user_part || (user_part.parse::<u32>().is_ok() && f[2] == user_part))
        });
    let (uid, mut gid, name, home) = match (&entry, user_part.parse::<u32>()) {
        (Some(f), _) => (
            number(f[2], rootfs, user_part)?,
            number(f[3], rootfs, user_part)?,
            Some(f[0].to_string()),
            f[5].to_string(),
        ),
        (None, Ok(uid)) => (uid, 0, None, "/".to_string()),
        (None, Err(_)) => {
            return Err(ExecError::UnknownUser {
                user: user_part.into(),
                rootfs: rootfs.into(),
            });
        }
    };
    let groups = read(rootfs, "/etc/group")?;
    let groups: Vec<Vec<&str>> = groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    if let Some(group) = group_part.filter(|g| !g.is_empty()) {
        gid = match groups.iter().find(|f| f[0] == group) {
            Some(f) => f[2].parse().map_err(|_| unknown_group(rootfs, group))?,
            None => group.parse().map_err(|_| unknown_group(rootfs, group))?,
        };
    }
    let mut additional_gids = Vec::new();
    if let Some(name) = &name {
        for f in &groups {
            let member = f.get(3).is_some_and(|m| m.split(',').any(|m| m == name));
            if let (true, Ok(g)) = (member, f[2].parse::<u32>())
                && g != gid
                && !additional_gids.contains(&g)
            {
                additional_gids.push(g);
            }
        }
    }
    crate::rootless::ensure_mapped(uid, gid)?;
    // Groups with no host ID behind them cannot be joined; a rootless user without a range
    // has only gid 0, and setgroups is denied to it anyway.
    additional_gids.retain(|g| crate::rootless::ensure_mapped(0, *g).is_ok());
    if crate::rootless::state().is_some_and(|s| s.gid_map.is_single()) {
        additional_gids.clear();
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

fn read(rootfs: &Path, path: &str) -> Result<String, ExecError> {
    in_root::read_optional(rootfs, path)
        .map(Option::unwrap_or_default)
        .map_err(|source| ExecError::ReadRootfs {
            rootfs: rootfs.into(),
            path: path.into(),
            source,
        })
}

fn number(field: &str, rootfs: &Path, user: &str) -> Result<u32, ExecError> {
    field.parse().map_err(|_| ExecError::UnknownUser {
        user: user.into(),
        rootfs: rootfs.into(),
    })
}

fn unknown_group(rootfs: &Path, group: &str) -> ExecError {
    ExecError::UnknownGroup {
        group: group.into(),
        rootfs: rootfs.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("etc");
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
        )
        .expect("passwd");
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\nstaff:x:50:\n",
        )
        .expect("group");
        dir
    }

    #[test]
    fn names_and_numbers_resolve_like_docker() {
        let dir = rootfs();
        let root = dir.path();
        let app = resolve_user(root, "app").expect("app");
        assert_eq!(
            (app.uid, app.gid, app.additional_gids.clone()),
            (1000, 1000, vec![10])
        );
        assert_eq!(app.home, "/home/app");
        assert_eq!(resolve_user(root, "").expect("root").uid, 0);
        let numeric = resolve_user(root, "1000").expect("numeric");
        assert_eq!((numeric.uid, numeric.gid), (1000, 1000));
        let unknown = resolve_user(root, "4242").expect("unknown number");
        assert_eq!(
            (unknown.uid, unknown.gid, unknown.home.as_str()),
            (4242, 0, "/")
        );
        let with_group = resolve_user(root, "app:staff").expect("app:staff");
        assert_eq!((with_group.uid, with_group.gid), (1000, 50));
        assert_eq!(resolve_user(root, "1:2").expect("1:2").gid, 2);
    }

    #[test]
    fn unknown_names_are_errors() {
        let dir = rootfs();
        assert!(matches!(
            resolve_user(dir.path(), "nobody"),
            Err(ExecError::UnknownUser { .. })
        ));
        assert!(matches!(
            resolve_user(dir.path(), "app:nogroup"),
            Err(ExecError::UnknownGroup { .. })
        ));
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_rootfs() {
        let dir = rootfs();
        let etc = dir.path().join("etc");
        std::fs::rename(etc.join("passwd"), etc.join("passwd.real")).expect("rename");
        std::os::unix::fs::symlink("/etc/passwd.real", etc.join("passwd")).expect("symlink");
        assert_eq!(resolve_user(dir.path(), "app").expect("app").uid, 1000);
    }
}
