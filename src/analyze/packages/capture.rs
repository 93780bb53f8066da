//! What the layer indexer keeps for the package readers, and which files those are: a leaf
//! module (it imports no reader), so `layers` can ask it while indexing and the readers, which
//! read what `layers` captured, sit above both.

use super::buildinfo::GoBuild;
use super::manager::Manager;

/// What indexing kept of a file for the readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    /// A database file's bytes.
    Bytes(Vec<u8>),
    /// A Go binary's build info.
    Go(GoBuild),
}

/// True for the files a reader needs the bytes of.
pub fn wanted(path: &str) -> bool {
    dpkg::wanted(path)
        || path == apk::INSTALLED
        || rpm::SQLITE.contains(&path)
        || lang::manager(path).is_some()
}

/// Debian's dpkg database.
pub mod dpkg {
    pub const STATUS: &str = "var/lib/dpkg/status";
    pub const STATUS_D: &str = "var/lib/dpkg/status.d/";
    pub const INFO: &str = "var/lib/dpkg/info/";

    pub fn wanted(path: &str) -> bool {
        path == STATUS
            || path.starts_with(STATUS_D)
            || (path.starts_with(INFO) && path.ends_with(".list"))
    }
}

/// Alpine's apk database.
pub mod apk {
    pub const INSTALLED: &str = "lib/apk/db/installed";
}

/// rpm's sqlite database (rpm 4.16+).
pub mod rpm {
    pub const SQLITE: &[&str] = &[
        "var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
    ];
}

/// Language package managers' per-package metadata files.
pub mod lang {
    use super::Manager;

    /// Which manager a metadata file belongs to.
    pub fn manager(path: &str) -> Option<Manager> {
        if path.ends_with(".dist-info/RECORD") {
            Some(Manager::Python)
        } else if npm_dir(path).is_some() {
            Some(Manager::Npm)
        } else {
            None
        }
    }

    /// The package directory of a `package.json` directly inside a `node_modules` entry.
    pub fn npm_dir(path: &str) -> Option<&str> {
        let dir = path.strip_suffix("/package.json")?;
        let (parent, _) = dir.rsplit_once('/')?;
        let parent = match parent.rsplit_once('/') {
            Some((grand, scope)) if scope.starts_with('@') => grand,
            _ if parent.starts_with('@') => return None,
            _ => parent,
        };
        (parent == "node_modules" || parent.ends_with("/node_modules")).then_some(dir)
    }
}
