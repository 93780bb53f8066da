//! Moving images between the store and the outside: skopeo-style transports for import
//! (`oci:`, `oci-archive:`, `docker-archive:`, `rootfs:`, `docker://`) and export
//! (`type=oci|oci-archive|docker-archive|registry`).

mod blobs;
pub mod docker_archive;
pub mod oci_archive;
pub mod oci_dir;
pub mod rootfs;
mod spec;

use std::io;
use std::path::PathBuf;

pub use spec::{Destination, Source};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TransportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Layer(#[from] crate::image::layer::LayerError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error(transparent)]
    Registry(#[from] crate::image::registry::RegistryError),
}

pub(crate) fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> TransportError {
    let path = path.into();
    move |source| TransportError::Io {
        action,
        path,
        source,
    }
}

pub(crate) fn invalid(
    location: impl std::fmt::Display,
    message: impl Into<String>,
) -> TransportError {
    TransportError::Invalid {
        location: location.to_string(),
        message: message.into(),
    }
}
