//! A repository tag holding an artifact (the build cache) rather than an image: its manifest
//! bytes, single blobs fetched on demand, and a push that sends only missing blobs (HEAD first)
//! and the manifest last, so nobody reading the tag meets a manifest whose blobs are not there.

use oci_client::RegistryOperation;
use oci_spec::image::Descriptor;

use super::{RegistryError, RegistryOptions, Session, http_header};
use crate::store::Store;

/// One session with the registry holding `reference`.
pub struct Artifact {
    s: Session,
}

impl Artifact {
    pub fn open(reference: &str, opts: &RegistryOptions) -> Result<Artifact, RegistryError> {
        Ok(Artifact {
            s: Session::new(reference, opts)?,
        })
    }

    /// The manifest bytes at the tag, verified against the digest the registry reports.
    pub async fn manifest(&self) -> Result<Vec<u8>, RegistryError> {
        Ok(self.s.manifest(&self.s.reference).await?.0)
    }

    /// Puts blob `desc` into the store, verified (digest, and no byte past its size).
    pub async fn fetch_blob(&self, store: &Store, desc: &Descriptor) -> Result<(), RegistryError> {
        self.s.fetch_blob(store, desc).await
    }

    /// Pushes the store's `blobs` the registry lacks, then the manifest; returns how many blobs
    /// were uploaded.
    pub async fn push(
        &self,
        store: &Store,
        blobs: &[Descriptor],
        manifest: Vec<u8>,
        media_type: &str,
    ) -> Result<usize, RegistryError> {
        let s = &self.s;
        s.client
            .auth(&s.reference, &s.auth, RegistryOperation::Push)
            .await
            .map_err(|e| s.err(e))?;
        let mut uploaded = 0;
        for desc in blobs {
            if s.push_blob(store, desc).await? {
                uploaded += 1;
            }
        }
        let header = http_header(media_type).ok_or_else(|| s.invalid("bad manifest media type"))?;
        s.client
            .push_manifest_raw(&s.reference, manifest, header)
            .await
            .map_err(|e| s.err(e))?;
        Ok(uploaded)
    }
}
