//! `s` in the TUI: a shell in the filesystem after a step (or before a failed one); `S`: in what a
//! failed RUN left behind (the engine keeps its upper dir under `failed/`). The model says
//! which state ([`ShellRequest`]); `analyze::states::resolve` turns it into layers and an image config, from the
//! build record when it is this build's, else from what the events said.

use super::build::{BuildState, StepState};
use crate::engine::event::StepRef;
use crate::store::failed_snapshot_name;

pub use crate::analyze::states::{ShellRequest, ShellTarget};

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
