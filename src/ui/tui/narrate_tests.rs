//! Tests of `narrate`.
#![allow(clippy::unwrap_used)]
use super::*;
use crate::engine::event::{Event, Record, StepRef};
use crate::frontend::plan::BuildPlan;
use crate::store::LayerInfo;

fn plan() -> BuildPlan {
    serde_json::from_value(serde_json::json!({
        "target": "final",
        "stages": [
            {"index": 0, "name": "build", "base": {"image": "busybox:latest"}, "depends_on": [],
             "needed": true, "skip_reason": null, "steps": [
                {"index": 0, "instruction": "FROM", "text": "FROM busybox AS build", "line": 1},
                {"index": 1, "instruction": "COPY", "text": "COPY src/ ./", "line": 2},
                {"index": 2, "instruction": "RUN", "text": "RUN make", "line": 3}]},
            {"index": 1, "name": "docs", "base": {"image": "busybox:latest"}, "depends_on": [],
             "needed": false, "skip_reason": "not needed by target final", "steps": [
                {"index": 0, "instruction": "FROM", "text": "FROM busybox AS docs", "line": 5}]},
            {"index": 2, "name": "final", "base": {"scratch": true}, "depends_on": ["build"],
             "needed": true, "skip_reason": null, "steps": [
                {"index": 0, "instruction": "FROM", "text": "FROM scratch AS final", "line": 7},
                {"index": 1, "instruction": "COPY", "text": "COPY --from=build /app /app", "line": 8}]}
        ]
    }))
    .unwrap()
}

fn rec(event: Event) -> Record {
    Record {
        time: Timestamp::now(),
        event,
    }
}

fn state() -> BuildState {
    let mut b = BuildState::default();
    let step = |s: &str| s.parse::<StepRef>().unwrap();
    let layer = LayerInfo {
        digest: "sha256:aa".into(),
        diff_id: "sha256:bb".into(),
        size: 2048,
        compressed_size: 100,
        added: 3,
        modified: 1,
        removed: 0,
    };
    for e in [
        Event::BuildStarted {
            build_id: "1".into(),
            plan: plan(),
        },
        Event::StageSkipped {
            stage: "docs".into(),
            reason: "not needed by target final".into(),
        },
        Event::StepCached {
            step: step("build/0"),
            layer: None,
            from: None,
        },
        Event::CacheMiss {
            step: step("build/1"),
            reason: "files changed: src/main.c".into(),
        },
        Event::StepFinished {
            step: step("build/1"),
            layer: Some(layer.clone()),
            duration: 0.1,
        },
        Event::CacheMiss {
            step: step("build/2"),
            reason: "parent step rebuilt".into(),
        },
        Event::StepFinished {
            step: step("build/2"),
            layer: Some(layer),
            duration: 0.1,
        },
        Event::StepCached {
            step: step("final/1"),
            layer: None,
            from: None,
        },
    ] {
        b.apply(&rec(e));
    }
    b
}

#[test]
fn a_missed_copy_names_the_files_and_the_steps_it_dragged_along() {
    let b = state();
    let e = step(&b, 0, 1, Timestamp::now()).unwrap();
    let text = e.lines.join("\n");
    assert_eq!(e.title, "build/1 — COPY src/ ./");
    assert!(
        text.contains("copies files from the build context"),
        "{text}"
    );
    assert!(
        text.contains("Ran because the cache missed: files changed: src/main.c."),
        "{text}"
    );
    assert!(
        text.contains("not the same as last time (src/main.c)"),
        "{text}"
    );
    assert!(
        text.contains("the 1 step after it in build missed too"),
        "{text}"
    );
    assert!(
        text.contains("Its layer: 2.0 kB (3 added, 1 modified, 0 removed)"),
        "{text}"
    );
    assert!(
        text.contains("reaches the image through final/1 COPY --from=build /app /app (line 8)"),
        "{text}"
    );
}

#[test]
fn a_cached_copy_from_a_stage_says_what_feeds_what() {
    let b = state();
    let text = step(&b, 2, 1, Timestamp::now()).unwrap().lines.join("\n");
    assert!(text.contains("from the stage build's filesystem"), "{text}");
    assert!(
        text.contains("Cached: an earlier build ran this same step"),
        "{text}"
    );
    assert!(text.contains("same file contents"), "{text}");
    assert!(text.contains("This is the target stage"), "{text}");
}

#[test]
fn a_skipped_stage_says_why_and_that_nothing_reads_it() {
    let b = state();
    let text = stage(&b, 1).unwrap().lines.join("\n");
    assert!(
        text.contains("Skipped: not needed by target final."),
        "{text}"
    );
    assert!(text.contains("Nothing in final reads from it"), "{text}");
    let text = stage(&b, 2).unwrap().lines.join("\n");
    assert!(text.contains("FROM scratch: an empty filesystem"), "{text}");
}

#[test]
fn a_stage_summary_names_where_it_rebuilt_from() {
    let b = state();
    let text = stage(&b, 0).unwrap().lines.join("\n");
    assert!(text.contains("2 step(s) ran"), "{text}");
    assert!(
        text.contains("rebuilt from build/1 on: files changed: src/main.c"),
        "{text}"
    );
}
