//! `explain --format dive-json`: dive's `--json` export (`cmd/dive/cli/internal/command/export`),
//! so tools reading dive's file keep working: each layer with its tar entries as Go's
//! `tar.Header.FileInfo()` describes them, listed children first, and the image's size,
//! wasted bytes, efficiency and inefficient files, largest first.

use std::cmp::Ordering;

use serde::Serialize;

use super::layers::{EntryKind, LayerEntry, LayerIndex};
use super::report::Report;
use crate::image::layer::{OPAQUE_WHITEOUT, WHITEOUT_PREFIX};

#[derive(Debug, Serialize)]
pub struct DiveExport {
    pub layer: Vec<DiveLayer>,
    pub image: DiveImage,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveLayer {
    pub index: usize,
    pub id: String,
    pub digest_id: String,
    pub size_bytes: u64,
    pub command: String,
    pub file_list: Vec<DiveFile>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveFile {
    pub path: String,
    pub type_flag: u8,
    pub link_name: String,
    pub size: u64,
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveImage {
    pub size_bytes: u64,
    pub inefficient_bytes: u64,
    pub efficiency_score: f64,
    pub file_reference: Vec<DiveReference>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveReference {
    pub count: usize,
    pub size_bytes: u64,
    pub file: String,
}

/// Go's `os.FileMode` bits, as `tar.Header.FileInfo().Mode()` sets them.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_STICKY: u32 = 1 << 20;

fn file(e: &LayerEntry) -> DiveFile {
    let (name, flag) = match e.kind {
        EntryKind::Whiteout => {
            let (dir, base) = e.path.rsplit_once('/').unwrap_or(("", &e.path));
            let joined = format!("{dir}/{WHITEOUT_PREFIX}{base}");
            (joined.trim_start_matches('/').to_string(), b'0')
        }
        EntryKind::Opaque => (format!("{}/{OPAQUE_WHITEOUT}", e.path), b'0'),
        EntryKind::File => (e.path.clone(), b'0'),
        EntryKind::HardLink => (e.path.clone(), b'1'),
        EntryKind::Symlink => (e.path.clone(), b'2'),
        EntryKind::Other => (e.path.clone(), b'3'),
        EntryKind::Dir => (e.path.clone(), b'5'),
    };
    let mut mode = e.mode & 0o777;
    for (bit, go) in [
        (0o4000, MODE_SETUID),
        (0o2000, MODE_SETGID),
        (0o1000, MODE_STICKY),
    ] {
        if e.mode & bit != 0 {
            mode |= go;
        }
    }
    mode |= match e.kind {
        EntryKind::Dir => MODE_DIR,
        EntryKind::Symlink => MODE_SYMLINK,
        EntryKind::Other => MODE_DEVICE,
        _ => 0,
    };
    DiveFile {
        path: name,
        type_flag: flag,
        link_name: e.link.clone().unwrap_or_default(),
        size: e.size,
        file_mode: mode,
        uid: e.uid,
        gid: e.gid,
        is_dir: e.kind == EntryKind::Dir,
    }
}

/// dive's depth-first, children-first walk: siblings by name, a directory after its contents.
fn children_first(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.split('/'), b.split('/'));
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) if p == q => continue,
            (Some(p), Some(q)) => return p.cmp(q),
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
        }
    }
}

fn layer(l: &LayerIndex) -> DiveLayer {
    let mut files: Vec<DiveFile> = l.entries.iter().map(file).collect();
    files.sort_by(|a, b| children_first(&a.path, &b.path));
    DiveLayer {
        index: l.index,
        id: l.digest.trim_start_matches("sha256:").to_string(),
        digest_id: l.diff_id.clone(),
        size_bytes: l.size,
        command: l.created_by.clone(),
        file_list: files,
    }
}

/// The export of a report made with every inefficiency kept (`top` 0).
pub fn dive_export(r: &Report) -> DiveExport {
    let e = &r.efficiency;
    DiveExport {
        layer: r.layers.iter().map(layer).collect(),
        image: DiveImage {
            size_bytes: e.size,
            inefficient_bytes: e.wasted_bytes,
            efficiency_score: e.score,
            file_reference: e
                .inefficiencies
                .iter()
                .map(|i| DiveReference {
                    count: i.count,
                    size_bytes: i.cumulative_size,
                    file: i.path.clone(),
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_children_before_their_directory_as_dive_does() {
        let mut paths = vec!["bin", "bin/sh", "bin/a", "etc", "etc/x/y", "etc/x", "a"];
        paths.sort_by(|a, b| children_first(a, b));
        assert_eq!(
            paths,
            ["a", "bin/a", "bin/sh", "bin", "etc/x/y", "etc/x", "etc"]
        );
        let l = LayerIndex::for_test(
            0,
            &[
                ("bin", EntryKind::Dir, 0),
                ("bin/x", EntryKind::Whiteout, 0),
            ],
        );
        let files: Vec<(String, u8, u32)> = layer(&l)
            .file_list
            .into_iter()
            .map(|f| (f.path, f.type_flag, f.file_mode))
            .collect();
        assert_eq!(
            files,
            [
                ("bin/.wh.x".into(), b'0', 0o640),
                ("bin".into(), b'5', MODE_DIR | 0o755)
            ]
        );
    }
}
