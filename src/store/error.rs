#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] super::ioerr::IoError),
    #[error("blob {expected} failed verification: content hashes to {actual} ({size} bytes)")]
    DigestMismatch {
        expected: String,
        actual: String,
        size: u64,
    },
    #[error("blob {digest} is {actual} bytes, the descriptor says {expected}")]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("layer {digest} has diff_id {actual}, the image config says {expected}")]
    DiffIdMismatch {
        digest: String,
        expected: String,
        actual: String,
    },
    #[error("blob {0} is not in the store")]
    MissingBlob(String),
    #[error("no image named {0:?} in the store")]
    UnknownImage(String),
    #[error("invalid JSON in {what} {path}: {source}")]
    Json {
        what: &'static str,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid image metadata: {0}")]
    Spec(#[from] oci_spec::OciSpecError),
    #[error("image {name}: {message}")]
    BadImage { name: String, message: String },
    #[error(
        "step {index} ({text}) has no config digest: recorded by an older stagecraft, build again"
    )]
    NoConfigDigest { index: usize, text: String },
    #[error("build record has an invalid layer digest {0}")]
    BadLayerDigest(String),
    #[error("the store is in use by another process; try again when it is idle")]
    Busy,
    #[error("invalid record key {0:?}: use letters, digits, '-', '_', '.' and ':'")]
    BadKey(String),
}

pub(crate) use super::ioerr::io_err;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
