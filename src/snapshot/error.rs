//! Why an overlay could not be made or taken down.

use std::io;
use std::path::PathBuf;

use super::options::MAX_LOWER_DIRS;

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("cannot create overlay dir {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("lower dir {path} is not a directory")]
    LowerMissing { path: PathBuf },
    #[error("{count} lower dirs exceed overlayfs's limit of {MAX_LOWER_DIRS}")]
    TooManyLowers { count: usize },
    #[error("mounting overlay at {target} failed (option {option}): {source}")]
    Mount {
        target: PathBuf,
        option: String,
        source: io::Error,
    },
    #[error(
        "mounting overlay at {target} failed: this kernel lacks `lowerdir+` and the {len}-byte \
         option string exceeds mount(2)'s page limit"
    )]
    OptionsTooLong { target: PathBuf, len: usize },
    #[error(transparent)]
    Namespace(#[from] super::namespace::NamespaceError),
    #[error("copying snapshotter at {path}: {source}")]
    Copy { path: PathBuf, source: io::Error },
    #[error("unmounting overlay at {target} failed: {source}")]
    Unmount { target: PathBuf, source: nix::Error },
}
