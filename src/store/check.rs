//! `store check`: verifies what the store's invariants promise and, with repair, removes what
//! breaks them so the next build redoes it.
//!
//! - every blob hashes to its name;
//! - every snapshot is a complete one (they appear by one rename of a finished `<chain>/fs`, so a
//!   snapshot dir without `fs` is debris);
//! - every failed step's leftovers (`failed/`) are complete and well named;
//! - every step-cache record parses and its layer blob is present;
//! - every other record parses;
//! - every tag in `index.json` resolves to a manifest whose config and layers are present.

use std::collections::HashSet;
use std::fs;
use std::io::BufReader;
use std::path::PathBuf;

use oci_spec::image::Digest;

use super::CacheRecord;
use super::digest::{HashingReader, parse_sha256};
use super::error::{Result, io_err};
use super::{RecordKind, Store};

/// One broken thing: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub what: String,
    /// A tag to drop from `index.json` instead of a path to remove.
    tag: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.what)
    }
}

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub blobs: usize,
    pub snapshots: usize,
    pub records: usize,
    pub tags: usize,
    pub problems: Vec<Problem>,
    /// Whether the problems were removed.
    pub repaired: bool,
}

fn problem(path: PathBuf, what: impl Into<String>) -> Problem {
    Problem {
        path,
        what: what.into(),
        tag: None,
    }
}

impl Store {
    /// Checks the whole store; with `repair`, waits until no other process has the store open
    /// and removes every broken part (cache records naming missing blobs go with them).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        let lock_path = self.root.join("lock");
        let _exclusive = if repair {
            Some(self._lock.upgrade().map_err(io_err("lock", &lock_path))?)
        } else {
            None
        };
        let mut report = CheckReport::default();
        let bad = self.check_blobs(&mut report)?;
        // A corrupt blob counts as missing for what refers to it: repair removes both.
        let present = |d: &Digest| self.has_blob(d) && !bad.contains(d.digest());
        self.check_snapshots(&mut report)?;
        self.check_failed(&mut report)?;
        self.check_records(&mut report, &present)?;
        self.check_tags(&mut report, &present)?;
        if repair {
            for p in &report.problems {
                match &p.tag {
                    Some(tag) => {
                        self.remove_tag(tag)?;
                    }
                    None if p.path.is_dir() => self.remove_dir_safely(&p.path)?,
                    None => match fs::remove_file(&p.path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(io_err("remove", &p.path)(e).into());
                        }
                        _ => {}
                    },
                }
            }
            report.repaired = true;
        }
        Ok(report)
    }

    /// Returns the names of the blobs whose content does not match.
    fn check_blobs(&self, report: &mut CheckReport) -> Result<HashSet<String>> {
        let mut bad = HashSet::new();
        let dir = self.root.join("blobs/sha256");
        for entry in fs::read_dir(&dir).map_err(io_err("read", &dir))?.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            report.blobs += 1;
            let Some(want) = parse_sha256(&format!("sha256:{name}")) else {
                report
                    .problems
                    .push(problem(path, "not a sha256 blob name"));
                continue;
            };
            let file = fs::File::open(&path).map_err(io_err("open", &path))?;
            let mut reader = HashingReader::new(BufReader::with_capacity(1 << 20, file));
            std::io::copy(&mut reader, &mut std::io::sink()).map_err(io_err("read", &path))?;
            let (got, size) = reader.finish().map_err(io_err("read", &path))?;
            if got != want {
                bad.insert(name);
                report.problems.push(problem(
                    path,
                    format!("content hashes to {got} ({size} bytes)"),
                ));
            }
        }
        Ok(bad)
    }

    fn check_snapshots(&self, report: &mut CheckReport) -> Result<()> {
        let dir = self.root.join("snapshots");
        for entry in fs::read_dir(&dir).map_err(io_err("read", &dir))?.flatten() {
            let path = entry.path();
            report.snapshots += 1;
            let name = entry.file_name().to_string_lossy().into_owned();
            if parse_sha256(&format!("sha256:{name}")).is_none() {
                report
                    .problems
                    .push(problem(path, "not a chain-id snapshot name"));
            } else if !path.join("fs").is_dir() {
                report
                    .problems
                    .push(problem(path, "incomplete snapshot (no fs directory)"));
            }
        }
        Ok(())
    }

    /// Failed steps' leftovers (`failed/<name>/fs`): complete by construction, like snapshots.
    /// One no record names (a build killed before its record) is not a problem: gc sweeps it.
    fn check_failed(&self, report: &mut CheckReport) -> Result<()> {
        for name in self.failed_snapshots()? {
            let path = self.root.join("failed").join(&name);
            report.snapshots += 1;
            if !super::failed::valid_failed_name(&name) {
                report
                    .problems
                    .push(problem(path, "not a failed-snapshot name"));
            } else if !path.join("fs").is_dir() {
                report.problems.push(problem(
                    path,
                    "incomplete failed snapshot (no fs directory)",
                ));
            }
        }
        Ok(())
    }

    fn check_records(
        &self,
        report: &mut CheckReport,
        present: &dyn Fn(&Digest) -> bool,
    ) -> Result<()> {
        for (kind, dir) in [(RecordKind::Cache, "cache"), (RecordKind::Build, "builds")] {
            for key in self.list_json(kind)? {
                report.records += 1;
                let path = self.root.join(dir).join(format!("{key}.json"));
                let text = match fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        report
                            .problems
                            .push(problem(path, format!("unreadable: {e}")));
                        continue;
                    }
                };
                let value: serde_json::Value = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        report
                            .problems
                            .push(problem(path, format!("invalid JSON: {e}")));
                        continue;
                    }
                };
                if kind != RecordKind::Cache || super::gc::is_aux_record(&key) {
                    continue;
                }
                match serde_json::from_value::<CacheRecord>(value) {
                    Err(e) => report
                        .problems
                        .push(problem(path, format!("not a cache record: {e}"))),
                    Ok(r) => {
                        let Some(layer) = r.layer else { continue };
                        // A built snapshot is enough: its tar and digest can be made again.
                        let built = r
                            .snapshot
                            .as_deref()
                            .is_some_and(|id| self.built_dir(id).is_dir());
                        match parse_sha256(&layer.digest) {
                            _ if built => {}
                            Some(d) if present(&d) => {}
                            _ => report.problems.push(problem(
                                path,
                                format!(
                                    "names layer {:?} (snapshot {:?}) which is not in the store",
                                    layer.digest, r.snapshot
                                ),
                            )),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn check_tags(
        &self,
        report: &mut CheckReport,
        present: &dyn Fn(&Digest) -> bool,
    ) -> Result<()> {
        let index = self.root.join("index.json");
        for (name, desc) in self.tags()? {
            report.tags += 1;
            let broken = match self.load_image(&desc) {
                Err(e) => Some(e.to_string()),
                Ok(image) => std::iter::once(image.digest())
                    .chain(std::iter::once(image.manifest.config().digest()))
                    .chain(image.layers.iter().map(|l| l.descriptor.digest()))
                    .find(|d| !present(d))
                    .map(|d| format!("blob {d} is missing or corrupt")),
            };
            if let Some(why) = broken {
                report.problems.push(Problem {
                    path: index.clone(),
                    what: format!("tag {name}: {why}"),
                    tag: Some(name),
                });
            }
        }
        Ok(())
    }
}
