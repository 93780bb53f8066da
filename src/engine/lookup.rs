//! Naming a filesystem state after a build: a stage (`builder`) or a step (`builder/3`) of the last
//! build, or an image in the store. `shell` opens these; `diff` compares them.

use super::error::{EngineError, LookupError};
use crate::store::{BuildRecord, LayerDesc, LayerRef, Store};

/// A filesystem state: its layers (lowest first) and the image config at that point.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// How to call it in messages: `builder/3`, `final`, `busybox:latest`.
    pub label: String,
    pub layers: Vec<LayerRef>,
    pub config: serde_json::Value,
}

fn from_record(
    store: &Store,
    record: &BuildRecord,
    target: &str,
) -> Result<Option<Resolved>, EngineError> {
    let (stage_name, step) = match target.rsplit_once('/') {
        Some((stage, index)) if index.parse::<usize>().is_ok() => {
            (stage, index.parse::<usize>().ok())
        }
        _ => (target, None),
    };
    let Some(stage) = record.stages.iter().find(|s| s.label == stage_name) else {
        return Ok(None);
    };
    if stage.steps.is_empty() {
        return Err(LookupError::Unfinished {
            stage: stage_name.to_string(),
            error: record.error.clone().unwrap_or_else(|| "failed".into()),
        }
        .into());
    }
    if let (Some(i), Some(failed)) = (step, &stage.failed_step)
        && failed.index == i
    {
        return Err(LookupError::StepFailed {
            stage: stage_name.to_string(),
            index: i,
            before: stage.steps.last().map_or(0, |s| s.index),
        }
        .into());
    }
    let chosen = match step {
        Some(i) => {
            stage
                .steps
                .iter()
                .find(|s| s.index == i)
                .ok_or_else(|| LookupError::NoStep {
                    stage: stage_name.to_string(),
                    last: stage.steps.len().saturating_sub(1),
                    index: i,
                })?
        }
        None => stage
            .steps
            .last()
            .ok_or_else(|| LookupError::NoSteps(stage_name.to_string()))?,
    };
    Ok(Some(Resolved {
        label: format!("{stage_name}/{}", chosen.index),
        layers: chosen
            .layers
            .iter()
            .map(LayerDesc::to_ref)
            .collect::<Result<_, _>>()?,
        config: chosen.config(store)?,
    }))
}

/// Resolves TARGET: a stage or `stage/step` of the last build first, then an image name or digest.
pub fn resolve_target(store: &Store, target: &str) -> Result<Resolved, EngineError> {
    if let Some(record) = store.last_build()?
        && let Some(found) = from_record(store, &record, target)?
    {
        return Ok(found);
    }
    if let Some(image) = store.resolve(target)? {
        let config = serde_json::to_value(&image.config).map_err(|error| LookupError::Config {
            target: target.to_string(),
            error,
        })?;
        return Ok(Resolved {
            label: target.to_string(),
            layers: image.layers,
            config,
        });
    }
    Err(LookupError::Unknown(target.to_string()).into())
}
