//! What a BuildKit vertex name says: `[builder 2/5] RUN make` is the 2nd of the 5 vertices the
//! Dockerfile front end made for stage `builder` (FROM, RUN, COPY, ADD, WORKDIR make vertices;
//! ENV, ARG, LABEL, CMD and the like do not). The stage is absent in single-stage files, an
//! unnamed stage reads `stage-N`, and the index is padded (`[builder  2/12]`). Anything else
//! (`[internal] load build context`, `exporting to image`) is no step of the plan.

use crate::frontend::plan::{BuildPlan, Stage, StageBase};
use crate::store::reference::Reference;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepName<'a> {
    /// The stage as BuildKit spells it: its name, `stage-N`, or `None` in a single-stage file.
    pub stage: Option<&'a str>,
    /// 1-based position among the stage's vertices.
    pub n: usize,
    pub total: usize,
    /// The instruction after expansion (`RUN echo hi`).
    pub text: &'a str,
}

/// Parses `[stage n/m] TEXT` (a platform may come first: `[linux/amd64 builder 2/5]`).
pub fn parse_step(name: &str) -> Option<StepName<'_>> {
    let rest = name.strip_prefix('[')?;
    let (inside, text) = rest.split_once(']')?;
    let mut words: Vec<&str> = inside.split_whitespace().collect();
    let (n, total) = words.pop()?.split_once('/')?;
    let (n, total) = (n.parse().ok()?, total.parse().ok()?);
    if n == 0 || n > total {
        return None;
    }
    Some(StepName {
        stage: words.last().copied(),
        n,
        total,
        text: text.trim_start(),
    })
}

/// Our stage for BuildKit's spelling of it: a name (BuildKit lowercases them), `stage-N`, or
/// none at all (single-stage file: the target).
pub fn find_stage<'p>(plan: &'p BuildPlan, stage: Option<&str>) -> Option<&'p Stage> {
    let Some(stage) = stage else {
        return plan.stages.get(plan.target_index);
    };
    if let Some(s) = plan.stages.iter().find(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(stage))
    }) {
        return Some(s);
    }
    let index: usize = stage.strip_prefix("stage-")?.parse().ok()?;
    plan.stages.get(index)
}

/// The steps of `stage` that BuildKit makes vertices of, in order: the FROM when it pulls an image
/// (a stage or scratch base makes none), then every RUN, COPY, ADD and WORKDIR.
pub fn vertex_steps(stage: &Stage) -> Vec<usize> {
    let from = matches!(stage.base, StageBase::Image(_));
    stage
        .steps
        .iter()
        .filter(|s| {
            if s.index == 0 {
                from
            } else {
                matches!(s.instruction.as_str(), "RUN" | "COPY" | "ADD" | "WORKDIR")
            }
        })
        .map(|s| s.index)
        .collect()
}

/// `docker.io/library/busybox:latest` for `busybox`, so a FROM vertex that BuildKit shares between
/// stages with the same base can be matched to each of them.
pub fn normalize_image(reference: &str) -> String {
    match Reference::parse(reference) {
        Ok(r) => {
            let tag = match (&r.tag, &r.digest) {
                (Some(t), _) => format!(":{t}"),
                (None, Some(d)) => format!("@{d}"),
                (None, None) => ":latest".to_string(),
            };
            format!("{}/{}{tag}", r.registry, r.repository)
        }
        Err(_) => reference.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names() {
        let s = parse_step("[builder  2/12] RUN make all").expect("step");
        assert_eq!(
            (s.stage, s.n, s.total, s.text),
            (Some("builder"), 2, 12, "RUN make all")
        );
        let s = parse_step("[2/3] COPY a b").expect("single stage");
        assert_eq!((s.stage, s.n), (None, 2));
        let s = parse_step("[linux/amd64 stage-1 1/2] FROM docker.io/library/busybox").expect("p");
        assert_eq!(s.stage, Some("stage-1"));
        assert_eq!(parse_step("[internal] load build context"), None);
        assert_eq!(parse_step("exporting to image"), None);
        assert_eq!(parse_step("[x 0/2] RUN"), None);
    }

    #[test]
    fn images_normalize() {
        assert_eq!(
            normalize_image("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_image("docker.io/library/busybox:latest"),
            normalize_image("busybox:latest")
        );
        assert_eq!(normalize_image("localhost/x:1"), "localhost/x:1");
    }
}
