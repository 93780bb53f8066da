//! Base images for FROM and `--from`: the store's tags first, then the registry.

use std::path::PathBuf;

use super::super::build::BuildCtx;
use super::super::error::StepError;
use crate::image::layer::LayerStore;
use crate::image::registry::RegistryOptions;
use crate::image::resolve::{Origin, resolve_base};
use crate::store::{LayerRef, ResolvedImage};

/// Resolves an image reference; also says whether it had to be pulled.
pub async fn resolve_image(
    ctx: &BuildCtx,
    reference: &str,
    platform: Option<&str>,
) -> Result<(ResolvedImage, bool), StepError> {
    let opts = RegistryOptions {
        insecure: ctx.opts.insecure_registry,
        platform: platform.map(str::to_string),
        ..RegistryOptions::default()
    };
    if ctx.opts.pull && !is_digest(reference) {
        let image = crate::image::registry::pull(&ctx.store, reference, &opts).await?;
        return Ok((image, true));
    }
    let (image, origin) = resolve_base(&ctx.store, reference, &opts).await?;
    Ok((image, origin == Origin::Registry))
}

/// A bare manifest digest names content the store already has; there is nothing to re-resolve.
fn is_digest(reference: &str) -> bool {
    reference.starts_with("sha256:")
}

/// The extracted snapshot dirs of a layer chain (lowest first), extracting off the async threads.
pub async fn snapshots(ctx: &BuildCtx, layers: &[LayerRef]) -> Result<Vec<PathBuf>, StepError> {
    let store = ctx.store.clone();
    let layers = layers.to_vec();
    tokio::task::spawn_blocking(move || store.snapshot(&layers))
        .await
        .map_err(|e| StepError::Invalid(e.to_string()))?
        .map_err(StepError::from)
}

/// What `--from` (COPY, or a RUN bind mount) names: a stage of this build (waited for) or an
/// image. Returns its snapshot dirs and the key the reading step's cache key takes from it.
pub async fn source_lowers(
    ctx: &BuildCtx,
    from: &str,
) -> Result<(Vec<PathBuf>, String), StepError> {
    match super::copy::find_stage(ctx, from) {
        Some(index) => {
            let out = ctx.stage_output(index).await.map_err(StepError::Invalid)?;
            Ok((out.snapshots.clone(), out.key.clone()))
        }
        None => {
            let (image, _) = resolve_image(ctx, from, None).await?;
            Ok((
                snapshots(ctx, &image.layers).await?,
                image.digest().to_string(),
            ))
        }
    }
}
