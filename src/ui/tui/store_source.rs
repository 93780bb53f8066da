//! Layer contents from the store: the layer blobs of a step's chain stacked in order (whiteouts
//! applied), the step's own layer marking what it added, modified or removed.
//!
//! Runs off the UI thread (`Effect::LoadLayer`). Belongs in `analyze` once that module exists.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::image::Digest;

use super::tree::{Change, Entry, EntryKind, LayerError, LayerRequest, LayerSource};
use crate::image::layer::decompress;
use crate::store::Store;
use crate::store::digest::parse_sha256;

#[derive(Debug, Clone)]
pub struct StoreLayers {
    root: PathBuf,
}

impl StoreLayers {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

type Files = BTreeMap<String, (u64, EntryKind, Change)>;

impl LayerSource for StoreLayers {
    fn entries(
        &self,
        request: &LayerRequest,
    ) -> Result<Box<dyn Iterator<Item = Entry> + Send + '_>, LayerError> {
        let fail = |message: String| LayerError::Store {
            step: request.step.clone(),
            message,
        };
        let store = Store::open(&self.root).map_err(|e| fail(e.to_string()))?;
        let mut blobs: Vec<Digest> = Vec::new();
        if let Some(image) = &request.base_image {
            let resolved = store
                .resolve(image)
                .map_err(|e| fail(e.to_string()))?
                .ok_or_else(|| fail(format!("base image {image} is not in the store")))?;
            blobs.extend(
                resolved
                    .layers
                    .iter()
                    .map(|l| l.descriptor.digest().clone()),
            );
        }
        for layer in &request.layers {
            blobs.push(
                parse_sha256(&layer.digest)
                    .ok_or_else(|| fail(format!("bad layer digest {:?}", layer.digest)))?,
            );
        }
        let last = if request.changes_in_last {
            blobs.len().checked_sub(1)
        } else {
            None
        };
        let mut files = Files::new();
        for (i, digest) in blobs.iter().enumerate() {
            if !store.has_blob(digest) {
                return Err(fail(format!("layer {digest} is not in the store")));
            }
            let blob = store.open_blob(digest).map_err(|e| fail(e.to_string()))?;
            let tar = decompress(blob).map_err(|e| fail(format!("layer {digest}: {e}")))?;
            apply(&mut files, tar, Some(i) == last)
                .map_err(|e| fail(format!("layer {digest}: {e}")))?;
        }
        Ok(Box::new(files.into_iter().map(
            |(path, (size, kind, change))| Entry {
                path,
                size,
                kind,
                change,
            },
        )))
    }
}

/// Stacks one layer tar onto `files`. With `marks`, what it touches is marked as changed.
fn apply(files: &mut Files, tar: impl std::io::Read, marks: bool) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let entry = entry?;
        let path = entry
            .path()?
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() || path == "." {
            continue;
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if name == ".wh..wh..opq" {
            // Opaque directory: what lower layers had in it is gone.
            remove_below(files, parent, marks);
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let target = if parent.is_empty() {
                hidden.to_string()
            } else {
                format!("{parent}/{hidden}")
            };
            remove_below(files, &target, marks);
            if marks && files.contains_key(&target) {
                files.insert(target, (0, EntryKind::Other, Change::Removed));
            } else {
                files.remove(&target);
            }
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Link => {
                EntryKind::File
            }
            _ => EntryKind::Other,
        };
        let size = if kind == EntryKind::File {
            entry.size()
        } else {
            0
        };
        let existed = files.get(&path).map(|f| f.2);
        let change = match (marks, existed, kind) {
            (false, _, _) => Change::Unchanged,
            // A directory listed again only because something below it changed is not a change.
            (true, Some(previous), EntryKind::Dir) => previous,
            (true, Some(_), _) => Change::Modified,
            (true, None, _) => Change::Added,
        };
        files.insert(path, (size, kind, change));
    }
    Ok(())
}

fn remove_below(files: &mut Files, dir: &str, marks: bool) {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let below: Vec<String> = files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for key in below {
        if marks {
            files.insert(key, (0, EntryKind::Other, Change::Removed));
        } else {
            files.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::StepRef;
    use crate::image::layer::{LayerOptions, LayerStore};

    fn write(root: &std::path::Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    }

    #[test]
    fn stacks_committed_layers_and_marks_the_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store_root = dir.path().join("store");
        let store = Store::open(&store_root).expect("store");
        let lower = dir.path().join("lower");
        write(
            &lower,
            &[
                ("etc/motd", "hello"),
                ("etc/issue", "v1"),
                ("usr/bin/tool", "#!/bin/sh"),
            ],
        );
        let upper = dir.path().join("upper");
        write(&upper, &[("etc/motd", "hello, world"), ("app/run", "run")]);
        // Overlay's whiteout for a removed file: a 0/0 character device; the writer turns it into `.wh.`.
        nix::sys::stat::mknod(
            &upper.join("etc/issue"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            0,
        )
        .expect("whiteout device");
        let first = store
            .commit_layer(&lower, &LayerOptions::default())
            .expect("commit lower");
        let second = store
            .commit_layer(&upper, &LayerOptions::default())
            .expect("commit upper");
        drop(store);

        let request = LayerRequest {
            step: StepRef::new("app", 2),
            base_image: None,
            layers: vec![first.info(), second.info()],
            changes_in_last: true,
        };
        let entries: Vec<Entry> = StoreLayers::new(&store_root)
            .entries(&request)
            .expect("entries")
            .collect();
        let find = |p: &str| {
            entries
                .iter()
                .find(|e| e.path == p)
                .unwrap_or_else(|| panic_missing(p, &entries))
        };
        assert_eq!(find("etc/motd").change, Change::Modified);
        assert_eq!(find("etc/motd").size, 12);
        assert_eq!(find("etc/issue").change, Change::Removed);
        assert_eq!(find("app/run").change, Change::Added);
        assert_eq!(find("usr/bin/tool").change, Change::Unchanged);
        assert_eq!(find("etc").change, Change::Unchanged);

        let missing = LayerRequest {
            base_image: Some("nope:1".into()),
            ..request
        };
        let err = StoreLayers::new(&store_root)
            .entries(&missing)
            .err()
            .expect("no such image");
        assert!(err.to_string().contains("nope:1"), "{err}");
    }

    fn panic_missing(path: &str, entries: &[Entry]) -> ! {
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        unreachable!("{path} missing from {paths:?}")
    }
}
