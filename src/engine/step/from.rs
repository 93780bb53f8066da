//! Base images: from the store's tags first, then from the registry.

use super::super::build::BuildCtx;
use super::super::error::StepError;
use crate::image::registry::{self, RegistryOptions};
use crate::store::ResolvedImage;

/// Resolves an image reference for FROM or `--from`: the store, else a registry pull.
/// Returns the image and whether it had to be pulled.
pub async fn resolve_image(
    ctx: &BuildCtx,
    reference: &str,
    platform: Option<&str>,
) -> Result<(ResolvedImage, bool), StepError> {
    if let Some(image) = ctx.store.resolve(reference)? {
        return Ok((image, false));
    }
    let opts = RegistryOptions {
        insecure: ctx.opts.insecure_registry,
        platform: platform.map(str::to_string),
        ..RegistryOptions::default()
    };
    let image = registry::pull(&ctx.store, reference, &opts).await?;
    Ok((image, true))
}
