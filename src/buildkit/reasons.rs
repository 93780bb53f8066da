//! Miss reasons on BuildKit, which says only "cached" or not: per step, the inputs stagecraft can
//! compute itself (the instruction, the build args, the digest of the context files a COPY/ADD
//! selects, what it copies from, its parent), kept from the last build on this builder, so a miss
//! names what changed. When nothing stagecraft sees changed, the reason says BuildKit decided.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::StepRef;
use crate::engine::cache::{StepInputs, miss_reason};
use crate::engine::context::SourceTree;
use crate::engine::context::digest::{StatCache, digest};
use crate::frontend::instruction::{Op, Source};
use crate::frontend::plan::BuildPlan;

/// Said when BuildKit rebuilt a step whose inputs, as stagecraft sees them, are unchanged.
pub const BUILDKIT_DECIDED: &str = "BuildKit rebuilt this step; no input stagecraft sees changed";

/// Inputs of every needed step, keyed `stage/index`. `bases` maps a FROM image reference to its
/// id in the daemon: the first step of a stage on an image that changed misses with
/// `base image changed`, the steps after it with `parent step rebuilt`.
pub fn step_inputs(
    plan: &BuildPlan,
    context: &Path,
    dockerfile: &Path,
    args: &BTreeMap<String, String>,
    bases: &BTreeMap<String, String>,
) -> BTreeMap<String, StepInputs> {
    let tree = SourceTree::context(context, Some(dockerfile)).ok();
    let mut cache = StatCache::default();
    let mut out = BTreeMap::new();
    let mut stage_keys: Vec<String> = vec![String::new(); plan.stages.len()];
    for stage in plan.stages.iter().filter(|s| s.needed) {
        let mut parent = match stage.base_stage {
            Some(i) => stage_keys.get(i).cloned().unwrap_or_default(),
            None => match bases.get(&stage.base_ref) {
                Some(id) => format!("{}@{id}", stage.base_ref),
                None => stage.base_ref.clone(),
            },
        };
        let base = match stage.base_stage {
            Some(_) => None,
            None => bases.get(&stage.base_ref).cloned(),
        };
        for (i, inst) in stage.instructions.iter().enumerate().skip(1) {
            let mut inputs = StepInputs {
                parent: parent.clone(),
                instruction: inst.span.joined.clone(),
                args: args.clone(),
                base: if i == 1 { base.clone() } else { None },
                ..StepInputs::default()
            };
            if let Op::Copy(c) | Op::Add(c) = &inst.op {
                match &c.from {
                    Some(from) => inputs.from.push(from_key(plan, &stage_keys, from)),
                    None => inputs.sources = sources(tree.as_ref(), &c.sources, &mut cache),
                }
            }
            if matches!(
                inst.op,
                Op::Run(_) | Op::Copy(_) | Op::Add(_) | Op::Workdir(_)
            ) {
                parent = inputs.key();
            }
            out.insert(StepRef::new(stage.label(), i).to_string(), inputs);
        }
        stage_keys[stage.index] = parent;
    }
    out
}

fn from_key(plan: &BuildPlan, keys: &[String], from: &str) -> String {
    plan.stages
        .iter()
        .position(|s| s.name.as_deref() == Some(from) || s.index.to_string() == from)
        .and_then(|i| keys.get(i).cloned())
        .unwrap_or_else(|| from.to_string())
}

fn sources(
    tree: Option<&SourceTree>,
    sources: &[Source],
    cache: &mut StatCache,
) -> Option<crate::engine::context::digest::SourceDigest> {
    let tree = tree?;
    let paths: Vec<String> = sources
        .iter()
        .filter_map(|s| match s {
            Source::Path(p) => Some(p.clone()),
            Source::Heredoc(_) => None,
        })
        .collect();
    let selected = tree.select(&paths).ok()?;
    digest(tree, &selected, cache).ok()
}

/// Why each step will miss if BuildKit misses it: compared with the last build's inputs.
pub fn reasons(
    previous: &BTreeMap<String, StepInputs>,
    now: &BTreeMap<String, StepInputs>,
    no_cache: bool,
) -> BTreeMap<StepRef, String> {
    let mut out = BTreeMap::new();
    for (step, inputs) in now {
        let Ok(step_ref) = step.parse::<StepRef>() else {
            continue;
        };
        let prev = previous.get(step);
        let reason = match prev {
            Some(p) if p == inputs && !no_cache => BUILDKIT_DECIDED.to_string(),
            _ => miss_reason(prev, inputs, false, false, no_cache),
        };
        out.insert(step_ref, reason);
    }
    out
}

/// Where the inputs of the last build of this Dockerfile, context and target are kept.
pub fn record_path(root: &Path, context: &Path, dockerfile: &Path, target: &str) -> PathBuf {
    let mut h = Sha256::new();
    for part in [context.to_string_lossy(), dockerfile.to_string_lossy()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(target.as_bytes());
    root.join("buildkit")
        .join(format!("docker-{}.json", &hex::encode(h.finalize())[..16]))
}

pub fn load(path: &Path) -> BTreeMap<String, StepInputs> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Best effort: a store that cannot be written only costs the next build its reasons.
pub fn save(path: &Path, inputs: &BTreeMap<String, StepInputs>) {
    if let (Some(dir), Ok(json)) = (path.parent(), serde_json::to_vec(inputs)) {
        let tmp = path.with_extension("tmp");
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_inputs_leave_the_decision_to_buildkit() {
        let step = StepRef::new("b", 1);
        let inputs = StepInputs {
            instruction: "RUN make".into(),
            ..StepInputs::default()
        };
        let now = BTreeMap::from([(step.to_string(), inputs.clone())]);
        assert_eq!(reasons(&now, &now, false)[&step], BUILDKIT_DECIDED);
        assert_eq!(reasons(&now, &now, true)[&step], "--no-cache");
        let first = reasons(&BTreeMap::new(), &now, false);
        assert_eq!(first[&step], "no earlier build of this step");
        let edited = StepInputs {
            instruction: "RUN make all".into(),
            ..inputs
        };
        let later = BTreeMap::from([(step.to_string(), edited)]);
        assert!(reasons(&now, &later, false)[&step].starts_with("instruction changed"));
    }
}
