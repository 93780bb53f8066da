//! `e`: what a stage or step does and why it is in its state, in plain words, made from the build
//! the UI has seen (plan, cache outcomes with their miss reasons, skip reasons, layers, `--from`
//! edges). Pure: a `BuildState` in, lines of text out.

use super::build::{BuildState, Cache, StageState, StageView, StepState, StepView};
use super::format;
use crate::engine::event::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub title: String,
    /// Paragraphs; the view wraps them.
    pub lines: Vec<String>,
}

/// A step: what the instruction does, why it ran, came from the cache, failed or waits, and how
/// its stage reaches the image.
pub fn step(build: &BuildState, stage: usize, index: usize, now: Timestamp) -> Option<Explanation> {
    let s = build.stages.get(stage)?;
    let st = s.steps.get(index)?;
    let mut lines = vec![meaning(build, s, st)];
    if let Some(why) = &s.skipped {
        lines.push(skipped(build, why));
    } else {
        lines.push(state(s, st, now));
        lines.extend(layer(st));
        lines.extend(knock_on(s, st));
    }
    lines.push(reach(build, stage));
    Some(Explanation {
        title: format!("{} — {}", st.step, st.text),
        lines,
    })
}

/// A stage: its base, what happened to its steps, and how it reaches the image.
pub fn stage(build: &BuildState, stage: usize) -> Option<Explanation> {
    let s = build.stages.get(stage)?;
    let mut lines = vec![base(build, s)];
    match &s.skipped {
        Some(why) => lines.push(skipped(build, why)),
        None => lines.push(stage_state(s)),
    }
    lines.push(reach(build, stage));
    Some(Explanation {
        title: format!("stage {}", s.label),
        lines,
    })
}

fn base(build: &BuildState, s: &StageView) -> String {
    if s.base == "scratch" {
        format!(
            "{} starts FROM scratch: an empty filesystem. Only what its steps add is in it.",
            s.label
        )
    } else if build.stage_index(&s.base).is_some() {
        format!(
            "{} starts FROM the stage {}: everything {} built is its starting filesystem.",
            s.label, s.base, s.base
        )
    } else {
        format!(
            "{} starts FROM the image {}: its layers are the bottom of this stage.",
            s.label, s.base
        )
    }
}

/// What the instruction does, with this step's own arguments.
fn meaning(build: &BuildState, s: &StageView, st: &StepView) -> String {
    let args = st
        .text
        .split_once(char::is_whitespace)
        .map_or("", |(_, a)| a.trim());
    match st.instruction.as_str() {
        "FROM" => base(build, s),
        "RUN" => format!(
            "RUN executes `{args}` in a container on the filesystem so far; what it writes becomes a new layer."
        ),
        "COPY" | "ADD" => match from_flag(&st.text) {
            Some(from) if build.stage_index(from).is_some() => format!(
                "{} takes files from the stage {from}'s filesystem and puts them in this stage: this is how {from} feeds {}.",
                st.instruction, s.label
            ),
            Some(from) => format!(
                "{} takes files straight from the image {from} and puts them in this stage.",
                st.instruction
            ),
            None => format!(
                "{} copies files from the build context into this stage; their contents (not their times) are part of its cache key.",
                st.instruction
            ),
        },
        "WORKDIR" => format!(
            "WORKDIR sets the directory later steps run in ({args}), creating it if needed."
        ),
        "ENV" | "ARG" | "LABEL" | "CMD" | "ENTRYPOINT" | "USER" | "EXPOSE" | "SHELL"
        | "STOPSIGNAL" | "HEALTHCHECK" | "VOLUME" | "ONBUILD" | "MAINTAINER" => format!(
            "{} changes the image's configuration ({args}), not its files: it adds no layer.",
            st.instruction
        ),
        other => format!("{other} {args}"),
    }
}

/// `--from=X` of a COPY/ADD, if any.
fn from_flag(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("--from="))
}

fn state(s: &StageView, st: &StepView, now: Timestamp) -> String {
    match (st.state, &st.cache) {
        (StepState::Cached, _) => {
            let key = st
                .cache_key
                .as_deref()
                .map(|k| format!(" (key {})", short(k)))
                .unwrap_or_default();
            if st.instruction == "FROM" {
                format!("Ready: the base was already in the store{key}.")
            } else {
                format!(
                    "Cached: an earlier build ran this same step — same starting filesystem, same instruction{} — so its result was reused without running it{key}.",
                    if matches!(st.instruction.as_str(), "COPY" | "ADD") {
                        ", same file contents"
                    } else {
                        ""
                    }
                )
            }
        }
        (StepState::Failed, _) => {
            let f = st.failure.as_ref();
            let code = f
                .and_then(|f| f.exit_code)
                .map(|c| format!(" with exit code {c}"))
                .unwrap_or_default();
            let last = f
                .and_then(|f| f.message.lines().rev().find(|l| !l.trim().is_empty()))
                .unwrap_or("");
            format!("Failed{code}: {last}")
        }
        (state, Cache::Miss(reason)) => {
            let verb = match state {
                StepState::Done => "Ran",
                StepState::Running | StepState::Paused => "Running",
                _ => "Will run",
            };
            format!(
                "{verb} because the cache missed: {reason}. {}",
                why_miss(reason)
            )
        }
        (StepState::Running, _) => format!(
            "Running now, for {}.",
            format::duration(st.elapsed(now).unwrap_or_default())
        ),
        (StepState::Paused, _) => {
            "Paused here at a breakpoint: c continues, n runs one step.".into()
        }
        (StepState::Done, _) => "Ran in this build.".into(),
        (StepState::Pending | StepState::Queued, _) => {
            let before = s.steps.iter().rev().find(|o| o.step.index < st.step.index);
            match before {
                Some(b) => format!("Waiting: it starts after {} finishes.", b.step),
                None => "Waiting for its stage to start.".into(),
            }
        }
    }
}

/// The miss reasons the engine gives, said in words.
fn why_miss(reason: &str) -> String {
    let r = reason;
    if r.starts_with("no earlier build") {
        "Nothing in the cache matches: this step has not been built before with these inputs."
            .into()
    } else if let Some(files) = r.strip_prefix("files changed: ") {
        format!(
            "The files it copies are not the same as last time ({files}); their content is part of the cache key."
        )
    } else if r.starts_with("parent step rebuilt") {
        "The step before it made a new layer, so this one starts from a different filesystem and must run again.".into()
    } else if r.starts_with("instruction changed") {
        "The instruction's text is different from the last build of this step.".into()
    } else if r.starts_with("build arg") {
        "A build argument this step can see has a new value.".into()
    } else if r.starts_with("base image changed") {
        "The FROM image is not the one the last build used.".into()
    } else if r.starts_with("source stage rebuilt") {
        "The stage it copies from was rebuilt, so the files it takes may differ.".into()
    } else if r.contains("no-cache") {
        "The cache was turned off for this build.".into()
    } else {
        String::new()
    }
}

fn layer(st: &StepView) -> Option<String> {
    let l = st.layer.as_ref()?;
    Some(format!(
        "Its layer: {} ({} added, {} modified, {} removed); t shows its files.",
        format::size(l.size),
        l.added,
        l.modified,
        l.removed
    ))
}

/// A miss makes every later step of the stage miss: say how many followed this one.
fn knock_on(s: &StageView, st: &StepView) -> Option<String> {
    if !matches!(st.cache, Cache::Miss(_)) {
        return None;
    }
    let after = s
        .steps
        .iter()
        .filter(|o| o.step.index > st.step.index)
        .filter(|o| matches!(&o.cache, Cache::Miss(r) if r.starts_with("parent step rebuilt")))
        .count();
    (after > 0).then(|| {
        format!(
            "Because it missed, the {after} step{} after it in {} missed too (parent step rebuilt).",
            if after == 1 { "" } else { "s" },
            s.label
        )
    })
}

fn skipped(build: &BuildState, why: &str) -> String {
    let target = build.target.as_deref().unwrap_or("the target");
    format!(
        "Skipped: {why}. Building {target} never reads from this stage through FROM or COPY --from, so none of its steps run."
    )
}

fn stage_state(s: &StageView) -> String {
    let count = |f: &dyn Fn(&StepView) -> bool| s.steps.iter().filter(|x| f(x)).count();
    let cached = count(&|x| x.state == StepState::Cached && x.instruction != "FROM");
    let ran = count(&|x| x.state == StepState::Done);
    let failed = count(&|x| x.state == StepState::Failed);
    let first_miss = s.steps.iter().find_map(|x| match &x.cache {
        Cache::Miss(r) if !r.starts_with("parent step rebuilt") => Some((x, r)),
        _ => None,
    });
    let mut out = match s.state() {
        StageState::Cached => format!("Every step came from the cache ({cached})."),
        StageState::Failed => format!("{failed} step failed; {ran} ran, {cached} cached."),
        StageState::Pending | StageState::Queued => "Not started yet.".into(),
        _ => format!("{ran} step(s) ran, {cached} came from the cache."),
    };
    if let Some((x, r)) = first_miss {
        out.push_str(&format!(" It rebuilt from {} on: {r}.", x.step));
    }
    out.push_str(&format!(
        " Its own layers: {}.",
        format::size(s.layers_size())
    ));
    out
}

/// How the stage's files get into the target image: the chain of FROM / COPY --from edges.
fn reach(build: &BuildState, stage: usize) -> String {
    let Some(target) = build.target.as_deref().and_then(|t| build.stage_index(t)) else {
        return String::new();
    };
    if stage == target {
        return "This is the target stage: its filesystem and configuration are the image.".into();
    }
    match path_to(build, stage, target) {
        Some(hops) => {
            let via: Vec<String> = hops.iter().map(|(_, how)| how.clone()).collect();
            format!("It reaches the image through {}.", via.join(", then "))
        }
        None => format!(
            "Nothing in {} reads from it: its files are not in the image.",
            build.stages[target].label
        ),
    }
}

/// Breadth-first from `from` along "is read by" edges; each hop says which instruction reads.
fn path_to(build: &BuildState, from: usize, to: usize) -> Option<Vec<(usize, String)>> {
    let n = build.stages.len();
    let mut prev: Vec<Option<(usize, String)>> = vec![None; n];
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = vec![false; n];
    seen[from] = true;
    while let Some(at) = queue.pop_front() {
        if at == to {
            let mut hops = Vec::new();
            let mut cur = to;
            while let Some((p, how)) = prev[cur].clone() {
                hops.push((cur, how));
                cur = p;
            }
            hops.reverse();
            return Some(hops);
        }
        for (next, how) in readers(build, at) {
            if !seen[next] {
                seen[next] = true;
                prev[next] = Some((at, how));
                queue.push_back(next);
            }
        }
    }
    None
}

/// Stages that read from `stage`, with the instruction that does it.
fn readers(build: &BuildState, stage: usize) -> Vec<(usize, String)> {
    let s = &build.stages[stage];
    let names = [s.label.clone(), stage.to_string()];
    let mut out = Vec::new();
    for (i, other) in build.stages.iter().enumerate() {
        if i == stage {
            continue;
        }
        if names.contains(&other.base) {
            out.push((i, format!("{}/0 FROM {}", other.label, s.label)));
            continue;
        }
        let by_step = other.steps.iter().find(|st| {
            from_flag(&st.text).is_some_and(|f| names.iter().any(|n| n == f))
                || st.text.contains(&format!("from={}", s.label))
        });
        if let Some(st) = by_step {
            out.push((i, format!("{} {} (line {})", st.step, st.text, st.line)));
        } else if other.depends_on.iter().any(|d| names.contains(d)) {
            out.push((i, format!("{} (reads it)", other.label)));
        }
    }
    out
}

fn short(key: &str) -> String {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    format!("{}…", &hex[..hex.len().min(12)])
}

#[cfg(test)]
#[path = "narrate_tests.rs"]
mod tests;
