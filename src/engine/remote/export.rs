//! `--cache-to`: after a build, its steps' records (key, layer, inputs) and their layer blobs,
//! compressed, go to a registry tag or a directory in the format of
//! [`crate::image::remote_cache::format`]. `mode=min` writes the stages the target image is made
//! of, `mode=max` every built stage.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use oci_spec::image::{Descriptor, MediaType};

use super::super::cache::StepInputs;
use super::super::ctx::BuildCtx;
use super::super::event::{ActivityState, Event, StepRef};
use crate::image::registry::RegistryOptions;
use crate::image::remote_cache::format::{self, CONFIG_TYPE, CacheConfig, CacheEntry, CacheLayer};
use crate::image::remote_cache::{CacheMode, CacheSpec, compressed_layer, write};
use crate::store::digest::parse_sha256;
use crate::store::{BuildRecord, CacheRecord, LayerRef, RecordKind, StepRecord, Store};

/// Writes every `--cache-to` of the build; the first failure (unless `ignore-error=true`) is
/// the build's error.
pub async fn export_all(ctx: &BuildCtx, record: &BuildRecord) -> Result<(), String> {
    for spec in &ctx.opts.cache_to {
        let name = format!("exporting cache to {}", spec.location);
        let started = Instant::now();
        let activity = |state, text: String| {
            ctx.sink.emit(Event::Activity {
                name: name.clone(),
                state,
                text,
                duration: (state != ActivityState::Started)
                    .then(|| started.elapsed().as_secs_f64()),
            })
        };
        activity(ActivityState::Started, String::new());
        match export(ctx, record, spec).await {
            Ok((records, sent)) => activity(
                ActivityState::Done,
                format!("{records} records, {sent} blobs uploaded"),
            ),
            Err(e) => {
                activity(ActivityState::Failed, e.clone());
                if !spec.ignore_error {
                    return Err(format!("{name}: {e}"));
                }
            }
        }
    }
    Ok(())
}

/// The stages `mode` exports: the target and the stages it is based on, or every built one.
fn stages(ctx: &BuildCtx, mode: CacheMode) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    if mode == CacheMode::Max {
        out.extend(ctx.plan.stages.iter().map(|s| s.index));
        return out;
    }
    let mut next = Some(ctx.plan.target_index);
    while let Some(i) = next.filter(|i| out.insert(*i)) {
        next = ctx.plan.stages.get(i).and_then(|s| s.base_stage);
    }
    out
}

/// Returns how many records were written and how many blobs sent.
async fn export(
    ctx: &BuildCtx,
    record: &BuildRecord,
    spec: &CacheSpec,
) -> Result<(usize, usize), String> {
    let wanted = stages(ctx, spec.mode);
    let mut entries = Vec::new();
    let mut seen = BTreeSet::new();
    for stage in record.stages.iter().filter(|s| wanted.contains(&s.index)) {
        for step in &stage.steps {
            let step_ref = StepRef::new(stage.label.clone(), step.index);
            if let Some(entry) = entry(ctx, &step_ref, step)
                && seen.insert(entry.0.key.clone())
            {
                entries.push(entry);
            }
        }
    }
    let store = ctx.store.clone();
    let compression = spec.compression;
    let (config, blobs) = tokio::task::spawn_blocking(move || pack(&store, entries, compression))
        .await
        .map_err(|e| e.to_string())??;
    let config_bytes = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    let config_desc = ctx
        .store
        .put_blob(MediaType::Other(CONFIG_TYPE.into()), &config_bytes)
        .map_err(|e| e.to_string())?;
    let manifest = format::manifest_json(&config_desc, &blobs);
    let all: Vec<Descriptor> = std::iter::once(config_desc).chain(blobs).collect();
    let opts = RegistryOptions {
        insecure: ctx.opts.insecure_registry,
        ..RegistryOptions::default()
    };
    let sent = write(&ctx.store, &spec.location, &all, manifest, &opts)
        .await
        .map_err(|e| e.to_string())?;
    Ok((config.records.len(), sent))
}

/// A step's record to export, with its layer as the store has it (a plain tar), if the store
/// has a cache record for its key (a FROM has none).
fn entry(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    step: &StepRecord,
) -> Option<(CacheEntry, Option<(LayerRef, CacheLayer)>)> {
    let cached: CacheRecord = ctx
        .store
        .get_json(RecordKind::Cache, &step.cache_key)
        .ok()
        .flatten()?;
    let layer = match (&step.diff_id, &cached.layer) {
        (Some(diff_id), Some(l)) => {
            let desc = step.layers.iter().find(|d| &d.diff_id == diff_id)?;
            let layer = LayerRef {
                descriptor: Descriptor::new(
                    MediaType::from(desc.media_type.as_str()),
                    desc.size,
                    parse_sha256(&desc.digest)?,
                ),
                diff_id: parse_sha256(diff_id)?,
            };
            let counts = CacheLayer {
                digest: String::new(),
                media_type: String::new(),
                size: 0,
                diff_id: diff_id.clone(),
                uncompressed_size: l.size,
                added: l.added,
                modified: l.modified,
                removed: l.removed,
            };
            Some((layer, counts))
        }
        _ => None,
    };
    // The lineage record is this build's inputs unless the step hit without rewriting it.
    let inputs = ctx
        .store
        .get_json::<StepInputs>(RecordKind::Cache, &ctx.lineage(step_ref))
        .ok()
        .flatten()
        .filter(|i| i.key() == step.cache_key)
        .and_then(|i| serde_json::to_value(i).ok());
    let entry = CacheEntry {
        key: step.cache_key.clone(),
        step: step_ref.to_string(),
        text: cached.text,
        layer: None,
        config_digest: step.config_digest.clone(),
        inputs,
    };
    Some((entry, layer))
}

/// Compresses the layers (each once) and fills the records in; the layer blobs, in order.
fn pack(
    store: &Arc<Store>,
    entries: Vec<(CacheEntry, Option<(LayerRef, CacheLayer)>)>,
    compression: crate::image::layer::Compression,
) -> Result<(CacheConfig, Vec<Descriptor>), String> {
    let mut blobs: Vec<Descriptor> = Vec::new();
    let mut records = Vec::with_capacity(entries.len());
    for (mut entry, layer) in entries {
        if let Some((tar, mut cl)) = layer {
            let plain = tar.descriptor.digest() == &tar.diff_id;
            let blob = match plain {
                true => compressed_layer(store, &tar, compression).map_err(|e| e.to_string())?,
                false => tar.descriptor.clone(),
            };
            if plain {
                cl.uncompressed_size = tar.descriptor.size();
            }
            cl.digest = blob.digest().to_string();
            cl.media_type = blob.media_type().to_string();
            cl.size = blob.size();
            if !blobs.iter().any(|b| b.digest() == blob.digest()) {
                blobs.push(blob);
            }
            entry.layer = Some(cl);
        }
        records.push(entry);
    }
    let config = CacheConfig {
        version: format::VERSION,
        records,
    };
    Ok((config, blobs))
}
