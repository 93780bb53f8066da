//! `s` in the TUI: a shell in the filesystem after a step (or before a failed one); `S`: in what a
//! failed RUN left behind (the engine keeps its upper dir under `failed/`). The model says
//! which state ([`ShellRequest`]); [`resolve`] turns it into layers and an image config, from the
//! build record when it is this build's, else from what the events said.

use std::path::PathBuf;

use oci_spec::image::{Descriptor, MediaType};

use super::build::{BuildState, StepState};
use super::tree::LayerRequest;
use crate::engine::event::{ConfigSummary, StepRef};
use crate::engine::lookup::{Resolved, resolve_target};
use crate::store::digest::parse_sha256;
use crate::store::{LayerRef, Store, failed_snapshot_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellRequest {
    /// The state to open: the filesystem after this step.
    pub after: Option<StepRef>,
    /// The layers that make it up, as the events reported them.
    pub layers: LayerRequest,
    /// The stage's config when the events carried one (`stage_finished`).
    pub config: Option<ConfigSummary>,
    pub build_id: Option<String>,
    /// Printed before the shell starts (the failing command, ready to re-run).
    pub banner: Vec<String>,
    pub label: String,
    /// `S`: the failed snapshot (what the failed RUN left behind) stacked over `after`'s state.
    pub left: Option<String>,
}

/// A resolved shell: the state's layers and config, and a failed step's leftovers over them.
pub struct ShellTarget {
    pub target: Resolved,
    pub top: Option<PathBuf>,
}

/// What `s` on `step` opens: its state when it finished, the state before it when it failed.
pub fn request(build: &BuildState, step: &StepRef) -> Result<ShellRequest, String> {
    let view = build
        .step(step)
        .ok_or_else(|| format!("no step {step} in this build"))?;
    let stage = build.stage_index(&step.stage).map(|i| &build.stages[i]);
    let config = stage.and_then(|s| s.finished.clone());
    let mut banner = Vec::new();
    let (after, label) = match view.state {
        StepState::Cached | StepState::Done => (Some(step.clone()), step.to_string()),
        StepState::Failed => {
            let before = stage.and_then(|s| {
                s.steps
                    .iter()
                    .rev()
                    .find(|p| p.step.index < step.index)
                    .map(|p| p.step.clone())
            });
            banner.push(format!(
                "stagecraft: shell in the state before the failing step {step} (line {})",
                view.line
            ));
            banner.push("the failing command, to re-run:".into());
            banner.push(format!("    {}", runnable(&view.text)));
            (before, format!("before {step}"))
        }
        _ => return Err(format!("step {step} has not finished: no filesystem yet")),
    };
    // A failed step committed no layer: its chain is the state before it.
    let layers = build.layer_request(step);
    Ok(ShellRequest {
        after,
        layers,
        config,
        build_id: build.build_id.clone(),
        banner,
        label,
        left: None,
    })
}

/// What `S` on a failed step opens: the state before it with what its RUN wrote on top.
pub fn request_left(build: &BuildState, step: &StepRef) -> Result<ShellRequest, String> {
    let view = build
        .step(step)
        .ok_or_else(|| format!("no step {step} in this build"))?;
    if view.state != StepState::Failed {
        return Err("S opens what a failed step left behind; select a failed step".into());
    }
    let stage = build.stage_index(&step.stage).map(|i| &build.stages[i]);
    // The failed step ran on the state its predecessor's key names (the engine's name for it).
    let parent_key = stage
        .and_then(|s| {
            s.steps
                .iter()
                .rev()
                .find(|p| p.step.index < step.index)
                .and_then(|p| p.cache_key.clone())
        })
        .ok_or_else(|| format!("the state before {step} is not known: nothing to open"))?;
    let mut req = request(build, step)?;
    req.banner = vec![
        format!(
            "stagecraft: shell in the state the failed step {step} (line {}) left behind",
            view.line
        ),
        format!("it ran:  {}", runnable(&view.text)),
    ];
    req.label = format!("left by {step}");
    req.left = Some(failed_snapshot_name(&step.stage, step.index, &parent_key));
    Ok(req)
}

/// `RUN cmd` → `cmd`, what a person types at the prompt.
fn runnable(text: &str) -> String {
    let t = text.trim();
    match t.split_once(char::is_whitespace) {
        Some((kw, rest)) if kw.eq_ignore_ascii_case("RUN") => {
            let rest = rest.trim();
            // Exec form: ["a", "b"] → a b
            match serde_json::from_str::<Vec<String>>(rest) {
                Ok(argv) => argv.join(" "),
                Err(_) => rest.to_string(),
            }
        }
        _ => t.to_string(),
    }
}

/// The state to open, with a failed step's leftovers when `S` asked for them.
pub fn resolve_shell(store: &Store, req: &ShellRequest) -> Result<ShellTarget, String> {
    let top = match &req.left {
        Some(name) => {
            let dir = store.failed_dir(name);
            if !dir.is_dir() {
                return Err(format!(
                    "{} kept nothing: only a RUN that ran and failed leaves its state behind",
                    req.label
                ));
            }
            Some(dir)
        }
        None => None,
    };
    Ok(ShellTarget {
        target: resolve(store, req)?,
        top,
    })
}

/// The layers and config to open: this build's record when it has the step, else the events.
pub fn resolve(store: &Store, req: &ShellRequest) -> Result<Resolved, String> {
    if let Some(after) = &req.after
        && let Ok(Some(record)) = store.last_build()
        && Some(&record.id) == req.build_id.as_ref()
        && let Ok(found) = resolve_target(store, &format!("{}/{}", after.stage, after.index))
    {
        return Ok(found);
    }
    let mut layers = Vec::new();
    let mut config = serde_json::json!({"config": {}});
    if let Some(image) = &req.layers.base_image {
        let base = store
            .resolve(image)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("base image {image} is not in the store"))?;
        config = serde_json::to_value(&base.config).map_err(|e| e.to_string())?;
        layers = base.layers;
    }
    for info in &req.layers.layers {
        let bad = || format!("bad layer digest {:?}", info.digest);
        layers.push(LayerRef {
            descriptor: Descriptor::new(
                MediaType::ImageLayerGzip,
                info.compressed_size,
                parse_sha256(&info.digest).ok_or_else(bad)?,
            ),
            diff_id: parse_sha256(&info.diff_id).ok_or_else(bad)?,
        });
    }
    if let Some(summary) = &req.config {
        config["config"]["Env"] = serde_json::json!(summary.env);
        if let Some(w) = &summary.workdir {
            config["config"]["WorkingDir"] = serde_json::json!(w);
        }
        if let Some(u) = &summary.user {
            config["config"]["User"] = serde_json::json!(u);
        }
    }
    Ok(Resolved {
        label: req.label.clone(),
        layers,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::runnable;

    #[test]
    fn the_failing_command_is_what_one_types() {
        assert_eq!(runnable("RUN make -j2 all"), "make -j2 all");
        assert_eq!(runnable(r#"RUN ["sh", "-c", "false"]"#), "sh -c false");
        assert_eq!(runnable("COPY a b"), "COPY a b");
    }
}
