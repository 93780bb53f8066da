//! Moving images between the store and the outside: skopeo-style transports for import
//! (`oci:`, `oci-archive:`, `docker-archive:`, `rootfs:`, `docker://`) and export
//! (`type=oci|oci-archive|docker-archive|registry`).

mod blobs;
pub mod docker_archive;
pub mod oci_archive;
pub mod oci_dir;
pub mod rootfs;
mod spec;

pub use spec::{Destination, Source};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TransportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Layer(#[from] crate::image::layer::LayerError),
    #[error(transparent)]
    Io(#[from] crate::store::ioerr::IoError),
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error(transparent)]
    Registry(#[from] crate::image::registry::RegistryError),
}

pub(crate) use crate::store::ioerr::io_err;

pub(crate) fn invalid(
    location: impl std::fmt::Display,
    message: impl Into<String>,
) -> TransportError {
    TransportError::Invalid {
        location: location.to_string(),
        message: message.into(),
    }
}
