//! Base images for FROM and `--from`: the store's tags first, then the registry.

use std::path::PathBuf;

use super::super::ctx::BuildCtx;
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
    if ctx.opts.dry_run {
        return match ctx.store.resolve(reference)? {
            Some(image) => Ok((image, false)),
            None => Err(StepError::Invalid(format!(
                "{reference} is not in the store: a build would pull it (a dry run pulls nothing)"
            ))),
        };
    }
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

/// The stage a `--from` names (its name or number), if any; otherwise it is an image.
pub fn find_stage(ctx: &BuildCtx, from: &str) -> Option<usize> {
    let lower = from.to_ascii_lowercase();
    ctx.plan
        .stages
        .iter()
        .find(|s| s.name.as_deref() == Some(lower.as_str()) || s.index.to_string() == from)
        .map(|s| s.index)
}

/// The key of the stage `from` names when its chain holds imported hits not extracted yet (a
/// reader that only needs the key then mounts nothing).
pub async fn unextracted_stage_key(ctx: &BuildCtx, from: &str) -> Option<String> {
    let index = find_stage(ctx, from).filter(|_| !ctx.opts.dry_run)?;
    let out = ctx.stage_output(index).await.ok()?;
    out.stale.then(|| out.key.clone())
}

/// What `--from` (COPY, or a RUN bind mount) names: a stage of this build (waited for) or an
/// image. Returns its snapshot dirs and the key the reading step's cache key takes from it.
pub async fn source_lowers(
    ctx: &BuildCtx,
    from: &str,
) -> Result<(Vec<PathBuf>, String), StepError> {
    match find_stage(ctx, from) {
        Some(index) => {
            let out = ctx
                .stage_output(index)
                .await
                .map_err(StepError::SourceStage)?;
            // Imported hits are extracted when first read (a dry run reads nothing).
            let lowers = match out.stale && !ctx.opts.dry_run {
                true => ctx.lowers(&out.layers).await?,
                false => out.snapshots.clone(),
            };
            Ok((lowers, out.key.clone()))
        }
        None => {
            unknown_source(ctx, from)?;
            let (image, _) = resolve_image(ctx, from, None).await?;
            // A dry run only needs the key: extracting would write snapshots.
            let lowers = if ctx.opts.dry_run {
                Vec::new()
            } else {
                ctx.snapshots(&image.layers).await?
            };
            Ok((lowers, image.digest().to_string()))
        }
    }
}

/// A bare `--from` name (no registry, tag or digest) that is neither a stage nor in the store is
/// nearly always a mistyped stage: say so, instead of asking docker.io for an image of that name.
fn unknown_source(ctx: &BuildCtx, from: &str) -> Result<(), StepError> {
    let bare = !from.contains(['/', ':', '@']);
    if !bare || ctx.store.resolve(from).ok().flatten().is_some() {
        return Ok(());
    }
    let labels: Vec<String> = ctx.plan.stages.iter().map(|s| s.label()).collect();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let stages = match crate::frontend::suggest::closest(from, &refs) {
        Some(s) => format!("did you mean {s}?"),
        None => format!("stages: {}", crate::frontend::brief::list(&labels, 10)),
    };
    let pulled = crate::store::reference::Reference::parse(from)
        .map(|r| r.canonical())
        .unwrap_or_else(|_| format!("docker.io/library/{from}"));
    Err(StepError::NoSuchStage {
        from: crate::frontend::brief::line(from, 200),
        stages,
        pulled,
    })
}
