//! `x`: writing one path of an image, as it is after some layer, into a directory on the host.
//! Each layer's tar is cut to that path (renamed to sit at the top of the destination) and put
//! through the store's layer applier, which resolves every path inside the destination with
//! openat2(RESOLVE_IN_ROOT): nothing is written outside it, whatever the image holds.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tar::{Archive, Builder, EntryType, Header};

use crate::image::layer::sparse::{SparseReader, entry_real_size};
use crate::image::layer::{
    ApplyOptions, LayerError, OPAQUE_WHITEOUT, WHITEOUT_PREFIX, WhiteoutMode, apply_layer,
    decompress,
};
use crate::store::{LayerRef, Store, StoreError};

use super::error::AnalyzeError;
use super::layers::{IndexOptions, LayerEntry, LayerIndex, index_layers_each};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{0} already exists: choose another destination")]
    Exists(PathBuf),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ExtractError {
    let path = path.to_path_buf();
    move |source| ExtractError::Io {
        action,
        path,
        source,
    }
}

/// Where one path of the image goes: `path` (relative, `""` for the whole filesystem) becomes
/// `NAME` at the top of the destination.
struct Cut<'a> {
    path: &'a str,
    name: &'a str,
}

impl Cut<'_> {
    /// The new name of `p` when it is the path or under it.
    fn rewrite(&self, p: &str) -> Option<String> {
        if self.path.is_empty() {
            return Some(p.to_string());
        }
        if p == self.path {
            return Some(self.name.to_string());
        }
        let rest = p.strip_prefix(self.path)?.strip_prefix('/')?;
        Some(format!("{}/{rest}", self.name))
    }

    /// `p` is a directory above the path (so deleting or replacing it deletes the path).
    fn above(&self, p: &str) -> bool {
        !self.path.is_empty()
            && (p.is_empty()
                || self
                    .path
                    .strip_prefix(p)
                    .is_some_and(|r| r.starts_with('/')))
    }
}

fn clean(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn whiteout_of(new: &str) -> String {
    match new.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{WHITEOUT_PREFIX}{name}"),
        None => format!("{WHITEOUT_PREFIX}{new}"),
    }
}

fn empty_file(out: &mut Builder<impl io::Write>, path: &str) -> io::Result<()> {
    let mut h = Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_size(0);
    h.set_mode(0o644);
    out.append_data(&mut h, path, io::empty())
}

/// Copies the entries of one layer tar that touch the cut into `out`; returns how many.
fn cut_layer(tar: impl Read, cut: &Cut, out: &mut Builder<impl io::Write>) -> io::Result<usize> {
    let mut n = 0;
    let mut archive = Archive::new(tar);
    for item in archive.entries()? {
        let mut item = item?;
        let p = clean(&item.path()?.to_string_lossy());
        let (dir, base) = p.rsplit_once('/').unwrap_or(("", &p));
        let (dir, base) = (dir.to_string(), base.to_string());
        if base == OPAQUE_WHITEOUT {
            if let Some(new) = cut.rewrite(&dir) {
                empty_file(out, &format!("{new}/{OPAQUE_WHITEOUT}"))?;
                n += 1;
            } else if cut.above(&dir) {
                empty_file(out, &whiteout_of(cut.name))?;
                n += 1;
            }
            continue;
        }
        if let Some(gone) = base.strip_prefix(WHITEOUT_PREFIX) {
            let target = if dir.is_empty() {
                gone.to_string()
            } else {
                format!("{dir}/{gone}")
            };
            if let Some(new) = cut.rewrite(&target) {
                empty_file(out, &whiteout_of(&new))?;
                n += 1;
            } else if cut.above(&target) {
                empty_file(out, &whiteout_of(cut.name))?;
                n += 1;
            }
            continue;
        }
        let kind = item.header().entry_type();
        let Some(new) = cut.rewrite(&p) else {
            // A non-directory where a directory above the path was: the path is gone.
            if cut.above(&p) && kind != EntryType::Directory {
                empty_file(out, &whiteout_of(cut.name))?;
                n += 1;
            }
            continue;
        };
        if new.is_empty() {
            continue;
        }
        let mut header = item.header().clone();
        // Blank numeric fields (some tar writers leave them) would stop the applier: zero them.
        let h = item.header();
        header.set_uid(h.uid().unwrap_or(0));
        header.set_gid(h.gid().unwrap_or(0));
        header.set_mtime(h.mtime().unwrap_or(0));
        let mode = if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        };
        header.set_mode(h.mode().unwrap_or(mode));
        // A sparse entry goes on as the plain file it stands for, holes as zeros.
        let sparse = entry_real_size(&mut item)?;
        if kind == EntryType::GNUSparse || sparse.is_some() {
            header.set_entry_type(EntryType::Regular);
            header.set_size(sparse.unwrap_or(item.size()));
        }
        match kind {
            EntryType::Link => {
                let target = item.link_name()?.map(|l| clean(&l.to_string_lossy()));
                // A hard link to a file outside the cut has nothing to point at: skipped.
                if let Some(t) = target.and_then(|t| cut.rewrite(&t)) {
                    out.append_link(&mut header, &new, &t)?;
                    n += 1;
                }
            }
            EntryType::Symlink => {
                let target = item.link_name()?.unwrap_or_default().into_owned();
                out.append_link(&mut header, &new, target)?;
                n += 1;
            }
            _ => {
                match sparse {
                    Some(real) => {
                        let mut data = SparseReader::new(&mut item, real)?;
                        out.append_data(&mut header, &new, &mut data)?
                    }
                    None => out.append_data(&mut header, &new, &mut item)?,
                }
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Writes `path` (relative; `""` for everything) as it is after layer `upto` of `layers` into
/// the directory `dest` (created if missing), as `dest/NAME`. Refuses to overwrite: `dest/NAME`
/// must not exist (for the whole filesystem, `dest` must be empty). Returns what it wrote.
pub fn extract(
    store: &Store,
    layers: &[LayerRef],
    upto: usize,
    path: &str,
    dest: &Path,
) -> Result<PathBuf, ExtractError> {
    let path = clean(path);
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    let target = if name.is_empty() {
        dest.to_path_buf()
    } else {
        dest.join(&name)
    };
    let taken = if name.is_empty() {
        std::fs::read_dir(dest).is_ok_and(|mut d| d.next().is_some())
    } else {
        std::fs::symlink_metadata(&target).is_ok()
    };
    if taken {
        return Err(ExtractError::Exists(target));
    }
    std::fs::create_dir_all(dest).map_err(io_err("create", dest))?;
    let cut = Cut {
        path: &path,
        name: &name,
    };
    let tmp = store.tmp_dir("extract-")?;
    let staged = tmp.path().join("cut.tar");
    for layer in layers.iter().take(upto + 1) {
        let digest = layer.descriptor.digest();
        let blob = store.blob_path(digest);
        let tar = decompress(store.open_blob(digest)?).map_err(io_err("decompress", &blob))?;
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&staged)
            .map_err(io_err("create", &staged))?;
        let mut out = Builder::new(BufWriter::new(file));
        let n = cut_layer(tar, &cut, &mut out).map_err(io_err("read layer", &blob))?;
        let mut file = out
            .into_inner()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(io_err("write", &staged))?;
        if n == 0 {
            continue;
        }
        file.rewind().map_err(io_err("read", &staged))?;
        apply_layer(
            file,
            dest,
            &ApplyOptions {
                whiteouts: WhiteoutMode::Apply,
            },
        )?;
    }
    Ok(target)
}

/// An image as an explorer reads it: its layers and config, and the store they live in. The UI
/// holds one of these and asks it for layer indexes and extractions; it never opens the store.
pub struct StoredImage {
    pub label: String,
    pub layers: Vec<LayerRef>,
    pub config: serde_json::Value,
    store: Arc<Store>,
}

impl StoredImage {
    pub fn new(
        store: Store,
        label: String,
        layers: Vec<LayerRef>,
        config: serde_json::Value,
    ) -> Self {
        Self {
            label,
            layers,
            config,
            store: Arc::new(store),
        }
    }

    /// Indexes every layer's headers in parallel (see [`index_layers_each`]).
    pub fn index_each(
        &self,
        partial: &(dyn Fn(usize, &[LayerEntry]) + Sync),
        done: &(dyn Fn(usize, Result<LayerIndex, AnalyzeError>) + Sync),
    ) {
        index_layers_each(
            &self.store,
            &self.layers,
            &self.config,
            IndexOptions { content: false },
            partial,
            done,
        );
    }

    /// [`extract`] from this image's layers.
    pub fn extract(&self, upto: usize, path: &str, dest: &Path) -> Result<PathBuf, ExtractError> {
        extract(&self.store, &self.layers, upto, path, dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_rename_paths_and_see_deletions_above() {
        let cut = Cut {
            path: "usr/lib",
            name: "lib",
        };
        assert_eq!(cut.rewrite("usr/lib").as_deref(), Some("lib"));
        assert_eq!(cut.rewrite("usr/lib/x/y").as_deref(), Some("lib/x/y"));
        assert_eq!(cut.rewrite("usr/libexec"), None);
        assert!(cut.above("usr") && cut.above(""));
        assert!(!cut.above("usr/lib") && !cut.above("us"));
        let all = Cut { path: "", name: "" };
        assert_eq!(all.rewrite("etc/passwd").as_deref(), Some("etc/passwd"));
        assert!(!all.above(""));
        assert_eq!(whiteout_of("lib/x/y"), "lib/x/.wh.y");
    }
}
