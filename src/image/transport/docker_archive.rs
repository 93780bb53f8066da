//! `docker-archive:FILE`: the `docker save` format (`manifest.json`, a config JSON and one
//! uncompressed tar per layer). Layers are recompressed with gzip on import.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use oci_spec::image::{Descriptor, ImageConfiguration, MediaType};
use serde::{Deserialize, Serialize};

use super::{TransportError, invalid, io_err};
use crate::image::layer::{Compression, Compressor, decompress};
use crate::store::digest::{HashingReader, parse_sha256};
use crate::store::{ResolvedImage, Store};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Where each member of the archive's tar sits: (offset, size), symlinks resolved.
struct Members {
    file: File,
    at: HashMap<String, (u64, u64)>,
}

fn norm(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

impl Members {
    fn scan(path: &Path) -> Result<Members, TransportError> {
        let file = File::open(path).map_err(io_err("open", path))?;
        let mut at = HashMap::new();
        let mut links = Vec::new();
        let mut archive = tar::Archive::new(io::BufReader::new(&file));
        for entry in archive.entries().map_err(io_err("read", path))? {
            let entry = entry.map_err(io_err("read", path))?;
            let name = norm(&String::from_utf8_lossy(&entry.path_bytes()));
            match entry.header().entry_type() {
                tar::EntryType::Regular => {
                    at.insert(name, (entry.raw_file_position(), entry.size()));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Some(target) = entry.link_name_bytes() {
                        let target = String::from_utf8_lossy(&target).into_owned();
                        let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                            name.rsplit_once('/')
                                .map(|(d, _)| d.to_string())
                                .unwrap_or_default()
                        } else {
                            String::new()
                        };
                        links.push((name, norm(&format!("{base}/{target}"))));
                    }
                }
                _ => {}
            }
        }
        for (name, target) in links {
            if let Some(v) = at.get(&target).copied() {
                at.insert(name, v);
            }
        }
        Ok(Members { file, at })
    }

    fn open(&self, name: &str) -> Result<impl Read + '_, TransportError> {
        let (offset, size) = *self
            .at
            .get(&norm(name))
            .ok_or_else(|| invalid(name, "missing from the docker archive"))?;
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))
            .map_err(io_err("seek to", name))?;
        Ok(io::BufReader::with_capacity(1 << 20, f.take(size)))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, TransportError> {
        let mut data = Vec::new();
        self.open(name)?
            .read_to_end(&mut data)
            .map_err(io_err("read", name))?;
        Ok(data)
    }
}

/// Imports the first image of the archive; tags it `name`, else the archive's first RepoTag.
pub fn import(
    store: &Store,
    file: &Path,
    name: Option<&str>,
) -> Result<ResolvedImage, TransportError> {
    import_as(store, file, name, Compression::Gzip)
}

/// [`import`] with the layer blobs stored as `compression` (`None`: plain tars whose digest is
/// their diff_id, as built layers are kept).
pub fn import_as(
    store: &Store,
    file: &Path,
    name: Option<&str>,
    compression: Compression,
) -> Result<ResolvedImage, TransportError> {
    let members = Members::scan(file)?;
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(&members.read("manifest.json")?)
        .map_err(|e| invalid(format!("{}: manifest.json", file.display()), e.to_string()))?;
    let entry = manifest
        .first()
        .ok_or_else(|| invalid(file.display(), "manifest.json lists no image"))?;
    let config_bytes = members.read(&entry.config)?;
    let config: ImageConfiguration = serde_json::from_slice(&config_bytes).map_err(|e| {
        invalid(
            format!("{}: {}", file.display(), entry.config),
            e.to_string(),
        )
    })?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != entry.layers.len() {
        return Err(invalid(
            file.display(),
            format!(
                "{} layers but {} diff_ids",
                entry.layers.len(),
                diff_ids.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    for (layer, want) in entry.layers.iter().zip(diff_ids) {
        let want = parse_sha256(want)
            .ok_or_else(|| invalid(file.display(), format!("bad diff_id {want:?}")))?;
        let tar = decompress(members.open(layer)?).map_err(io_err("read", layer.as_str()))?;
        let mut hashing = HashingReader::new(tar);
        let mut comp = Compressor::new(compression, store.blob_writer()?)
            .map_err(io_err("compress", layer.as_str()))?;
        io::copy(&mut hashing, &mut comp).map_err(io_err("read", layer.as_str()))?;
        let (diff_id, _) = hashing.finish().map_err(io_err("read", layer.as_str()))?;
        if diff_id != want {
            return Err(invalid(
                format!("{}: {layer}", file.display()),
                format!("layer hashes to {diff_id}, the config says {want}"),
            ));
        }
        let blob = comp.finish().map_err(io_err("compress", layer.as_str()))?;
        let (digest, size) = blob.commit(None)?;
        layers.push(Descriptor::new(compression.media_type(), size, digest));
    }
    let config_desc = store.put_blob(MediaType::ImageConfig, &config_bytes)?;
    let tag = name
        .map(str::to_string)
        .or_else(|| entry.repo_tags.as_ref().and_then(|t| t.first().cloned()));
    Ok(store.put_manifest(config_desc, &layers, tag.as_deref())?)
}

/// Writes `image` as a docker-archive tagged `repo_tag` (e.g. `busybox:latest`).
pub fn export(
    store: &Store,
    image: &ResolvedImage,
    repo_tag: &str,
    file: &Path,
) -> Result<(), TransportError> {
    let partial = file.with_extension("partial");
    let out = File::create(&partial).map_err(io_err("create", &partial))?;
    let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, out));
    let append =
        |b: &mut tar::Builder<BufWriter<File>>, name: &str, size: u64, data: &mut dyn Read| {
            let mut h = tar::Header::new_ustar();
            h.set_size(size);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data)
                .map_err(io_err("write", &partial))
        };
    let mut layer_names = Vec::new();
    for layer in &image.layers {
        let name = format!("{}/layer.tar", layer.diff_id.digest());
        if !layer_names.contains(&name) {
            let tmp = store.tmp_dir("docker-archive-")?;
            let tar_path = tmp.path().join("layer.tar");
            let mut tar_file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tar_path)
                .map_err(io_err("create", &tar_path))?;
            let blob = store.open_blob(layer.descriptor.digest())?;
            let mut reader = decompress(blob)
                .map_err(io_err("read", store.blob_path(layer.descriptor.digest())))?;
            // Checked against the diff_id: a blob changed in the store is not exported.
            let mut hashed = super::blobs::Hashing::new(BufWriter::new(&tar_file));
            let size = io::copy(&mut reader, &mut hashed).map_err(io_err("write", &tar_path))?;
            hashed.finish(
                layer.diff_id.as_ref(),
                &store.blob_path(layer.descriptor.digest()),
            )?;
            tar_file
                .seek(SeekFrom::Start(0))
                .map_err(io_err("seek", &tar_path))?;
            append(&mut builder, &name, size, &mut io::BufReader::new(tar_file))?;
        }
        layer_names.push(name);
    }
    let config = store.read_blob(image.manifest.config().digest())?;
    let config_name = format!("{}.json", image.manifest.config().digest().digest());
    append(
        &mut builder,
        &config_name,
        config.len() as u64,
        &mut &config[..],
    )?;
    let manifest = vec![ManifestEntry {
        config: config_name,
        repo_tags: Some(vec![repo_tag.to_string()]),
        layers: layer_names,
    }];
    let manifest =
        serde_json::to_vec(&manifest).map_err(|e| invalid("manifest.json", e.to_string()))?;
    append(
        &mut builder,
        "manifest.json",
        manifest.len() as u64,
        &mut &manifest[..],
    )?;
    let mut out = builder.into_inner().map_err(io_err("write", &partial))?;
    out.flush().map_err(io_err("write", &partial))?;
    let out = out
        .into_inner()
        .map_err(|e| io_err("write", &partial)(e.into_error()))?;
    out.sync_all().map_err(io_err("fsync", &partial))?;
    std::fs::rename(&partial, file).map_err(io_err("rename to", file))?;
    Ok(())
}
