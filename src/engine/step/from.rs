//! Base images for FROM and `--from`: the store's tags first, then the registry.

use super::super::build::BuildCtx;
use super::super::error::StepError;
use crate::image::registry::RegistryOptions;
use crate::image::resolve::{Origin, resolve_base};
use crate::store::ResolvedImage;

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
    let (image, origin) = resolve_base(&ctx.store, reference, &opts).await?;
    Ok((image, origin == Origin::Registry))
}
