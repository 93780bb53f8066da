//! Tags are the entries of `index.json`, named by the `org.opencontainers.image.ref.name`
//! annotation holding the canonical reference (`docker.io/library/busybox:latest`), so
//! `skopeo inspect oci:STORE:docker.io/library/busybox:latest` reads them directly.

use std::collections::HashMap;

use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};

use super::Store;
use super::error::{Result, StoreError, io_err};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations().as_ref()?.get(REF_NAME).map(String::as_str)
}

impl Store {
    fn read_index(&self) -> Result<ImageIndex> {
        let path = self.root.join("index.json");
        let data = std::fs::read(&path).map_err(io_err("read", &path))?;
        serde_json::from_slice(&data).map_err(|source| StoreError::Json {
            what: "image index",
            path: path.display().to_string(),
            source,
        })
    }

    fn write_index(&self, manifests: Vec<Descriptor>) -> Result<()> {
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(manifests)
            .build()?;
        let data = serde_json::to_vec(&index).map_err(|source| StoreError::Json {
            what: "image index",
            path: "index.json".into(),
            source,
        })?;
        self.write_atomic(&self.root.join("index.json"), &data)
    }

    /// Points the canonical name `name` at `manifest` (replacing any earlier image of that name).
    pub fn set_tag(&self, name: &str, manifest: &Descriptor) -> Result<()> {
        let _guard = self.index_lock()?;
        let mut manifests: Vec<Descriptor> = self
            .read_index()?
            .manifests()
            .iter()
            .filter(|d| ref_name(d) != Some(name))
            .cloned()
            .collect();
        let mut d = Descriptor::new(
            manifest.media_type().clone(),
            manifest.size(),
            manifest.digest().clone(),
        );
        d.set_annotations(Some(HashMap::from([(
            REF_NAME.to_string(),
            name.to_string(),
        )])));
        manifests.push(d);
        manifests.sort_by(|a, b| ref_name(a).cmp(&ref_name(b)));
        self.write_index(manifests)
    }

    /// Removes a tag; returns the descriptor it pointed at.
    pub fn remove_tag(&self, name: &str) -> Result<Option<Descriptor>> {
        let _guard = self.index_lock()?;
        let (gone, kept): (Vec<Descriptor>, Vec<Descriptor>) = self
            .read_index()?
            .manifests()
            .iter()
            .cloned()
            .partition(|d| ref_name(d) == Some(name));
        if gone.is_empty() {
            return Ok(None);
        }
        self.write_index(kept)?;
        Ok(gone.into_iter().next())
    }

    /// All tags, sorted by name.
    pub fn tags(&self) -> Result<Vec<(String, Descriptor)>> {
        Ok(self
            .read_index()?
            .manifests()
            .iter()
            .filter_map(|d| Some((ref_name(d)?.to_string(), d.clone())))
            .collect())
    }

    pub fn tag(&self, name: &str) -> Result<Option<Descriptor>> {
        Ok(self
            .tags()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d))
    }
}
