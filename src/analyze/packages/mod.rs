//! Which package owns each file: one reader per package manager, each reading its database from
//! the files `layers` captured while indexing (see [`wanted`]). [`attribute`] turns what they
//! read into bytes per package, the layer that installed each, and the files no package owns.

pub mod advice;
pub mod apk;
pub mod attribute;
pub mod buildinfo;
pub mod capture;
pub mod dpkg;
pub mod golang;
pub mod lang;
pub mod manager;
pub mod owners;
pub mod rpm;
pub mod rpm_header;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use attribute::{Package, Packages, Removed, UnownedDir, attribute};
pub use buildinfo::GoBuild;
pub use capture::{Captured, wanted};
pub use manager::Manager;
pub use owners::Owners;

use super::stack::Live;

/// One package as its manager's database lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub manager: Manager,
    /// Relative paths, as the database writes them (directories included for dpkg).
    pub files: Vec<String>,
    /// The size the database declares (dpkg's Installed-Size, apk's `I:`), in bytes.
    pub declared_size: Option<u64>,
    /// Go: the modules linked in (`path@version`).
    pub modules: Vec<String>,
}

impl Installed {
    pub fn new(name: &str, version: &str, manager: Manager, files: Vec<String>) -> Self {
        Installed {
            name: name.to_string(),
            version: version.to_string(),
            manager,
            files,
            declared_size: None,
            modules: Vec::new(),
        }
    }
}

/// The captured files of one filesystem state, and its live paths.
#[derive(Debug, Default, Clone)]
pub struct Db<'a> {
    files: BTreeMap<String, Arc<Captured>>,
    live: Option<&'a BTreeMap<String, Live>>,
}

impl<'a> Db<'a> {
    pub fn new(files: BTreeMap<String, Arc<Captured>>, live: &'a BTreeMap<String, Live>) -> Self {
        Db {
            files,
            live: Some(live),
        }
    }

    #[cfg(test)]
    pub fn insert(&mut self, path: &str, bytes: &[u8]) {
        self.files
            .insert(path.to_string(), Arc::new(Captured::Bytes(bytes.to_vec())));
    }

    pub fn file(&self, path: &str) -> Option<&[u8]> {
        match self.files.get(path).map(|c| c.as_ref()) {
            Some(Captured::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    /// Captured database files, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().filter_map(|(p, c)| match c.as_ref() {
            Captured::Bytes(b) => Some((p.as_str(), b.as_slice())),
            Captured::Go(_) => None,
        })
    }

    pub fn files_under<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = (&'s str, &'s [u8])> {
        self.iter().filter(move |(p, _)| p.starts_with(prefix))
    }

    pub fn go_binaries(&self) -> impl Iterator<Item = (&str, &GoBuild)> {
        self.files.iter().filter_map(|(p, c)| match c.as_ref() {
            Captured::Go(g) => Some((p.as_str(), g)),
            Captured::Bytes(_) => None,
        })
    }

    /// Live non-directory paths under `dir`.
    pub fn live_under<'s>(&'s self, dir: &'s str) -> impl Iterator<Item = &'s str> {
        let (lo, hi) = (format!("{dir}/"), format!("{dir}0"));
        self.live
            .into_iter()
            .flat_map(move |live| live.range(lo.clone()..hi.clone()))
            .filter(|(_, l)| l.kind != super::layers::EntryKind::Dir)
            .map(|(p, _)| p.as_str())
    }
}

/// Every package of every manager in `db`, system managers first (they win shared files).
pub fn read_all(db: &Db) -> Vec<Installed> {
    let mut out = dpkg::read(db);
    out.extend(apk::read(db));
    out.extend(rpm::read(db));
    out.extend(lang::read(db));
    out.extend(golang::read(db));
    out
}
