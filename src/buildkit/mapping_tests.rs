//! The mapping on status streams recorded from a real dockerd (tests/data/buildkit/README.md).

use std::path::Path;

use super::*;
use crate::buildkit::replay::map_all;
use crate::buildkit::status::parse_rawjson;

fn plan_of(dockerfile: &str) -> BuildPlan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/buildkit")
        .join(dockerfile);
    let text = std::fs::read_to_string(&path).expect("dockerfile");
    let df = crate::frontend::parse_dockerfile(&text, &path).expect("parse");
    crate::frontend::plan(&df, &crate::frontend::PlanOptions::default()).expect("plan")
}

fn replay(dockerfile: &str, recording: &str) -> Vec<Record> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/buildkit")
        .join(recording);
    let text = std::fs::read_to_string(path).expect("recording");
    map_all(
        plan_of(dockerfile),
        "test",
        &parse_rawjson(&text).expect("rawjson"),
    )
}

fn kinds(events: &[Record], step: &str) -> Vec<&'static str> {
    events
        .iter()
        .filter(|r| r.step().is_some_and(|s| s.to_string() == step))
        .filter_map(|r| match &r.event {
            Event::StepStarted { .. } => Some("started"),
            Event::StepCached { .. } => Some("cached"),
            Event::CacheMiss { .. } => Some("miss"),
            Event::StepFinished { .. } => Some("finished"),
            Event::StepFailed { .. } => Some("failed"),
            _ => None,
        })
        .collect()
}

#[test]
fn cold_multistage_build() {
    let ev = replay("multistage.Dockerfile", "multistage-cold.rawjson");
    // WORKDIR and RUN are vertices 2/3 and 3/3 of `base`; ARG and ENV in between are none.
    assert_eq!(kinds(&ev, "base/3"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&ev, "base/4"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&ev, "base/1"), ["started", "finished"]);
    // One FROM vertex stands for both stages on busybox; `builder` is FROM a stage: no vertex.
    assert_eq!(kinds(&ev, "base/0"), ["started", "cached"]);
    assert_eq!(kinds(&ev, "3/0"), ["started", "cached"]);
    assert_eq!(kinds(&ev, "builder/0"), ["started", "cached"]);
    assert_eq!(kinds(&ev, "3/1"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&ev, "3/3"), ["started", "finished"]);
    assert!(kinds(&ev, "unused/1").is_empty());
    let logs: Vec<(Stream, &str)> = ev
        .iter()
        .filter_map(|r| match &r.event {
            Event::StepLog { step, stream, text } if step.to_string() == "base/4" => {
                Some((*stream, text.as_str()))
            }
            _ => None,
        })
        .collect();
    assert!(
        logs.contains(&(Stream::Stdout, "hello from base")),
        "{logs:?}"
    );
    assert!(logs.contains(&(Stream::Stderr, "to-stderr")), "{logs:?}");
    let activities: Vec<&str> = ev
        .iter()
        .filter_map(|r| match &r.event {
            Event::Activity {
                name,
                state: ActivityState::Done | ActivityState::Cached,
                ..
            } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    for want in [
        "[internal] load remote build context",
        "copy /context /",
        "[internal] load metadata for docker.io/library/busybox:latest",
        "exporting to image",
    ] {
        assert!(activities.contains(&want), "{want} in {activities:?}");
    }
    let stages: Vec<&str> = ev
        .iter()
        .filter_map(|r| match &r.event {
            Event::StageFinished { stage, .. } => Some(stage.as_str()),
            _ => None,
        })
        .collect();
    for want in ["base", "builder", "3"] {
        assert!(stages.contains(&want), "{want} in {stages:?}");
    }
}

#[test]
fn log_lines_carry_buildkits_timestamps() {
    let ev = replay("multistage.Dockerfile", "multistage-cold.rawjson");
    let started = ev
        .iter()
        .find(|r| matches!(r.event, Event::BuildStarted { .. }))
        .expect("start");
    let log = ev
        .iter()
        .find(|r| matches!(r.event, Event::StepLog { .. }))
        .expect("log");
    let end = ev.last().expect("end");
    assert!(started.time <= log.time && log.time <= end.time);
    // Recorded on 2026-12-04, not now.
    assert!(Timestamp::now().since(log.time).as_secs() > 60);
}

#[test]
fn cached_rebuild_is_all_hits() {
    let ev = replay("multistage.Dockerfile", "multistage-cached.rawjson");
    for step in [
        "base/1",
        "base/3",
        "base/4",
        "builder/1",
        "builder/2",
        "3/1",
        "3/2",
        "3/3",
    ] {
        assert_eq!(kinds(&ev, step), ["started", "cached"], "{step}");
    }
    let totals = ev
        .last()
        .and_then(|r| match &r.event {
            Event::BuildFinished { totals, .. } => Some(totals.clone()),
            _ => None,
        })
        .expect("build_finished");
    assert_eq!(totals.cached, totals.steps, "{totals:?}");
}

#[test]
fn edited_file_rebuilds_from_the_copy() {
    let ev = replay("multistage.Dockerfile", "multistage-edited.rawjson");
    assert_eq!(kinds(&ev, "base/4"), ["started", "cached"]);
    assert_eq!(kinds(&ev, "builder/1"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&ev, "builder/2"), ["started", "miss", "finished"]);
}

#[test]
fn failing_run_reports_the_exit_code() {
    let ev = replay("failing.Dockerfile", "failing.rawjson");
    let failed = ev.iter().find_map(|r| match &r.event {
        Event::StepFailed {
            step, exit_code, ..
        } => Some((step.to_string(), *exit_code)),
        _ => None,
    });
    assert_eq!(failed, Some(("0/2".to_string(), Some(3))));
    assert!(ev.iter().any(|r| matches!(&r.event,
        Event::StepLog { text, .. } if text == "before-failure")));
    assert!(matches!(
        &ev.last().map(|r| &r.event),
        Some(Event::BuildFinished {
            image: None,
            error: Some(_),
            ..
        })
    ));
}

#[test]
fn replay_names_the_image_buildkit_wrote() {
    let ev = replay("multistage.Dockerfile", "multistage-cold.rawjson");
    assert!(matches!(&ev.last().map(|r| &r.event),
        Some(Event::BuildFinished { image: Some(i), error: None, .. }) if i.starts_with("sha256:")));
}

#[test]
fn unknown_vertices_are_shown_not_dropped() {
    let (mut m, _) = Mapper::new(plan_of("failing.Dockerfile"), "t", Timestamp::now());
    let v = Vertex {
        digest: "sha256:x".into(),
        name: "[stage-7 9/9] RUN nothing we planned".into(),
        started: Some(Timestamp::now()),
        ..Vertex::default()
    };
    let out = m.update(&SolveStatus {
        vertexes: vec![v],
        ..SolveStatus::default()
    });
    assert!(matches!(&out[0].event,
        Event::Activity { name, state: ActivityState::Started, .. } if name.contains("nothing we planned")));
}
