//! Reading `--secret` values. A secret file is whatever the user named, so it may be a FIFO that
//! nobody writes (open blocks forever), `/dev/zero` (never ends) or a slow network file: only
//! regular files are read, at most [`MAX_SECRET`] bytes of them, and the wait ends when the build
//! is cancelled.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::error::StepError;
use super::options::SecretSource;

/// BuildKit's limit (`MaxSecretSize`, 500 KiB): a secret is a token or a key, not a payload.
pub const MAX_SECRET: usize = 500 * 1024;

/// The secret's bytes, or why it cannot be used; `Cancelled` as soon as `cancel` fires.
pub async fn load(
    id: &str,
    source: &SecretSource,
    cancel: &CancellationToken,
) -> Result<Vec<u8>, StepError> {
    let path = match source {
        SecretSource::Env(var) => {
            let value = std::env::var_os(var).ok_or_else(|| {
                StepError::Invalid(format!(
                    "secret {id}: environment variable {var} is not set"
                ))
            })?;
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(value.as_os_str()).to_vec();
            return check_size(id, bytes);
        }
        SecretSource::File(path) => path.clone(),
    };
    // A plain thread, not the runtime's blocking pool: a read stuck in the kernel (a hung network
    // file) must not hold up the runtime's shutdown after the build gives up on it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let owned_id = id.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(read_file(&owned_id, &path));
    });
    tokio::select! {
        () = cancel.cancelled() => Err(StepError::Cancelled),
        read = rx => read.unwrap_or_else(|_| Err(StepError::Invalid(format!("secret {id}: reader failed")))),
    }
}

fn read_file(id: &str, path: &Path) -> Result<Vec<u8>, StepError> {
    let what = || format!("secret {id}: {}", path.display());
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(StepError::io(what()))?;
    let kind = file.metadata().map_err(StepError::io(what()))?.file_type();
    if !kind.is_file() {
        return Err(StepError::Invalid(format!(
            "{}: is {}, not a regular file; a secret's src= must name a file",
            what(),
            kind_name(&kind)
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(StepError::io(what()))?;
    check_size(id, bytes)
}

fn check_size(id: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StepError> {
    if bytes.len() > MAX_SECRET {
        return Err(StepError::Invalid(format!(
            "secret {id} is larger than {MAX_SECRET} bytes (the limit BuildKit also sets)"
        )));
    }
    Ok(bytes)
}

fn kind_name(kind: &std::fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}
