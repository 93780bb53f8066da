//! `--builder docker`: builds on the BuildKit of a private dockerd (tests/common/dockerd.rs), and
//! the recordings of its status streams under tests/data/buildkit.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use stagecraft::buildkit::daemon::{self, DockerExtras};
use stagecraft::engine::event::ActivityState;
use stagecraft::engine::{BuildOptions, Event, Record};
use tokio_util::sync::CancellationToken;

use common::dockerd::dockerd;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/buildkit")
        .join(name)
}

/// One build through the library, as `--builder docker` runs it: the mapped events and the
/// rawjson of what BuildKit sent.
fn build_on_daemon(ctx: &Path, dockerfile: &str) -> (Vec<Record>, String) {
    let d = dockerd();
    let mut opts = BuildOptions::new(ctx.to_path_buf());
    opts.dockerfile = ctx.join("Dockerfile");
    std::fs::copy(data(dockerfile), &opts.dockerfile).unwrap();
    let plan = stagecraft::engine::load_plan(&opts).unwrap();
    let raw = tempfile::NamedTempFile::new().unwrap();
    let extras = DockerExtras {
        rawjson: Some(raw.path().to_path_buf()),
        ..DockerExtras::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    rt.block_on(async {
        let docker = daemon::connect_to(&d.host).await.unwrap();
        daemon::build(&docker, plan, &opts, &extras, &tx, CancellationToken::new())
            .await
            .unwrap();
    });
    drop(tx);
    let mut events = Vec::new();
    while let Ok(r) = rx.try_recv() {
        events.push(r);
    }
    (events, std::fs::read_to_string(raw.path()).unwrap())
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

fn record_if_asked(name: &str, raw: &str) {
    if std::env::var_os("STAGECRAFT_RECORD").is_some() {
        std::fs::write(data(name), raw).unwrap();
    }
}

/// The four recorded builds, run again on the live daemon: the mapping of what it sends now
/// says what the unit tests say of the recordings.
#[test]
fn recorded_builds_map_onto_the_plan() {
    let d = dockerd();
    d.docker_ok(&["builder", "prune", "-af"]);
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("input.txt"), "v1\n").unwrap();

    let (cold, raw) = build_on_daemon(ctx.path(), "multistage.Dockerfile");
    record_if_asked("multistage-cold.rawjson", &raw);
    assert_eq!(kinds(&cold, "base/4"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&cold, "builder/2"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&cold, "3/1"), ["started", "miss", "finished"]);
    assert_eq!(kinds(&cold, "3/0"), ["started", "cached"]);
    assert!(cold.iter().any(|r| matches!(&r.event,
        Event::StepLog { step, text, .. } if step.to_string() == "base/4" && text == "hello from base")));
    assert!(cold.iter().any(|r| matches!(&r.event,
        Event::StageSkipped { stage, .. } if stage == "unused")));
    assert!(cold.iter().any(|r| matches!(&r.event,
        Event::Activity { name, state: ActivityState::Done, .. } if name == "exporting to image")));
    assert!(matches!(
        &cold.last().unwrap().event,
        Event::BuildFinished {
            image: Some(_),
            error: None,
            ..
        }
    ));

    let (cached, raw) = build_on_daemon(ctx.path(), "multistage.Dockerfile");
    record_if_asked("multistage-cached.rawjson", &raw);
    for step in ["base/3", "base/4", "builder/1", "builder/2", "3/1", "3/3"] {
        assert_eq!(kinds(&cached, step), ["started", "cached"], "{step}");
    }

    std::fs::write(ctx.path().join("input.txt"), "v2\n").unwrap();
    let (edited, raw) = build_on_daemon(ctx.path(), "multistage.Dockerfile");
    record_if_asked("multistage-edited.rawjson", &raw);
    assert_eq!(kinds(&edited, "base/4"), ["started", "cached"]);
    assert_eq!(kinds(&edited, "builder/1"), ["started", "miss", "finished"]);

    let (failed, raw) = build_on_daemon(ctx.path(), "failing.Dockerfile");
    record_if_asked("failing.rawjson", &raw);
    assert!(failed.iter().any(|r| matches!(&r.event,
        Event::StepFailed { step, exit_code: Some(3), .. } if step.to_string() == "0/2")));
    assert!(matches!(
        &failed.last().unwrap().event,
        Event::BuildFinished {
            image: None,
            error: Some(_),
            ..
        }
    ));
}
