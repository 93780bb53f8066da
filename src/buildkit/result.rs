//! What the imported image tells of the plan. BuildKit's image config keeps one history entry per
//! instruction after FROM (ARG, ENV and the like marked `empty_layer`), so the tail of the history
//! lines up with the target stage's steps, and the entries before it with the stages the target
//! is built FROM. Each step gets the image's layers up to it; a step that added a layer gets that
//! layer's real sizes (a `layer_digested` event) and the build record gets the stages, so
//! `explain`, `inspect`, `diff` and `shell` open them. Stages the target only copies from are not
//! in the image (BuildKit exports the target alone); their steps keep no layers.

use super::import::Imported;
use crate::engine::StepRef;
use crate::engine::event::ConfigSummary;
use crate::frontend::plan::{BuildPlan, Stage, StageBase};
use crate::image::config::ImageState;
use crate::store::{LayerDesc, LayerInfo, StageRecord, StepRecord};

/// The imported image laid over the plan.
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    /// The target stage and the stages it is built FROM, in plan order.
    pub stages: Vec<StageRecord>,
    /// The layer each step added, for `layer_digested`.
    pub digested: Vec<(StepRef, LayerInfo)>,
    pub config: ConfigSummary,
}

pub fn map_image(plan: &BuildPlan, imported: &Imported) -> Mapped {
    let config = ConfigSummary::of(&ImageState::from_json(&imported.config));
    let has_layer: Vec<bool> = imported.config["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|e| !e["empty_layer"].as_bool().unwrap_or(false))
                .collect()
        })
        .unwrap_or_default();
    let Some(target) = plan.stages.iter().find(|s| s.label() == plan.target) else {
        return Mapped {
            config,
            ..Mapped::default()
        };
    };
    let chain = chain(plan, target);
    let starts = starts(&chain, has_layer.len());
    let layer_count = has_layer.iter().filter(|l| **l).count();
    let mut out = Mapped {
        config,
        ..Mapped::default()
    };
    match starts {
        Some(starts) if layer_count == imported.layers.len() => {
            // before[k]: how many layers the history entries before k added.
            let before: Vec<usize> = std::iter::once(0)
                .chain(has_layer.iter().scan(0, |n, l| {
                    *n += usize::from(*l);
                    Some(*n)
                }))
                .collect();
            for (stage, start) in chain.iter().zip(starts).rev() {
                let is_target = stage.index == target.index;
                out.stages.push(stage_record(
                    stage,
                    start,
                    &before,
                    imported,
                    is_target,
                    &mut out.digested,
                ));
            }
        }
        // A history that does not line up (an exporter we do not know): the target's layers
        // as a whole, under its last step.
        _ => out.stages.push(whole(target, imported)),
    }
    out
}

/// The target, then the stage it is built FROM, and so on up to an image. Read from what a build
/// record keeps of the plan (`base`), so an import after the build maps the same way.
fn chain<'a>(plan: &'a BuildPlan, target: &'a Stage) -> Vec<&'a Stage> {
    let parent_of = |s: &Stage| match &s.base {
        StageBase::Stage(name) => plan
            .stages
            .iter()
            .find(|p| p.index < s.index && (p.label() == *name || p.index.to_string() == *name)),
        _ => None,
    };
    let mut out = vec![target];
    while let Some(parent) = out.last().and_then(|s| parent_of(s)) {
        // A malformed plan could loop; the chain is never longer than the plan.
        if out.len() > plan.stages.len() {
            break;
        }
        out.push(parent);
    }
    out
}

/// Where each stage's entries start in the history (the chain's order), or `None` when the
/// history is shorter than the instructions.
fn starts(chain: &[&Stage], history: usize) -> Option<Vec<usize>> {
    let mut end = history;
    let mut out = Vec::new();
    for stage in chain {
        end = end.checked_sub(stage.steps.len().saturating_sub(1))?;
        out.push(end);
    }
    Some(out)
}

fn stage_record(
    stage: &Stage,
    start: usize,
    before: &[usize],
    imported: &Imported,
    is_target: bool,
    digested: &mut Vec<(StepRef, LayerInfo)>,
) -> StageRecord {
    let label = stage.label();
    let steps = stage
        .steps
        .iter()
        .map(|step| {
            let entry = (start + step.index).saturating_sub(1);
            let upto = if step.index == 0 {
                before[start]
            } else {
                before[entry + 1]
            };
            let added = step.index > 0 && before[entry + 1] > before[entry];
            if added && let Some(info) = imported.layers.get(upto - 1) {
                digested.push((StepRef::new(label.clone(), step.index), info.clone()));
            }
            step_record(step, imported, upto, added)
        })
        .collect();
    StageRecord {
        index: stage.index,
        label,
        image: is_target.then(|| imported.image.digest().to_string()),
        steps,
        failed_step: None,
    }
}

fn step_record(
    step: &crate::frontend::plan::PlanStep,
    imported: &Imported,
    upto: usize,
    added: bool,
) -> StepRecord {
    let layers = &imported.image.layers[..upto.min(imported.image.layers.len())];
    StepRecord {
        index: step.index,
        text: step.text.clone(),
        line: step.line,
        cache_key: String::new(),
        cached: false,
        diff_id: added
            .then(|| layers.last().map(|l| l.diff_id.to_string()))
            .flatten(),
        layers: layers.iter().map(LayerDesc::from_ref).collect(),
        // BuildKit exports the final config only: every step of the image shares it.
        config_digest: imported.image.manifest.config().digest().to_string(),
        pending_config: None,
    }
}

fn whole(target: &Stage, imported: &Imported) -> StageRecord {
    let last = target.steps.last();
    StageRecord {
        index: target.index,
        label: target.label(),
        image: Some(imported.image.digest().to_string()),
        steps: last
            .map(|s| step_record(s, imported, imported.image.layers.len(), false))
            .into_iter()
            .collect(),
        failed_step: None,
    }
}
