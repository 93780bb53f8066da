//! The overlay an executor changes the filesystem through, and WORKDIR-relative paths.

use std::path::{Path, PathBuf};

use super::super::ctx::BuildCtx;
use super::super::cursor::Executed;
use super::super::error::StepError;
use crate::snapshot::overlay::Overlay;

/// Mounts an overlay of `lowers` with a fresh upper dir in a scratch dir of the store, runs `work`
/// on its rootfs (blocking), unmounts, and returns the upper dir as the step's diff.
pub async fn on_overlay<F>(
    ctx: &BuildCtx,
    lowers: Vec<PathBuf>,
    work: F,
) -> Result<Executed, StepError>
where
    F: FnOnce(&Path) -> Result<bool, StepError> + Send + 'static,
{
    let scratch = ctx.store.tmp_dir("step-")?;
    let dir = scratch.path().to_path_buf();
    let (upper, layer) = tokio::task::spawn_blocking(move || {
        let overlay = Overlay::mount(&lowers, &dir)?;
        let result = work(overlay.rootfs());
        let upper = overlay.unmount()?;
        Ok::<_, StepError>((upper, result?))
    })
    .await??;
    Ok(Executed {
        scratch,
        upper,
        layer,
    })
}

/// The absolute path a relative one means under the stage's WORKDIR.
pub fn absolute(workdir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        let base = if workdir.is_empty() { "/" } else { workdir };
        format!("{}/{}", base.trim_end_matches('/'), path)
    }
}
