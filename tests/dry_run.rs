//! `build --dry-run`: every step keyed against the store, hits and misses with their reasons,
//! nothing run or written but the stat cache; and the prediction equals the build that follows.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Built, Fixture, bin};
use stagecraft::engine::Event;

/// Per step, in the order the steps started: its cache key, hit or not, and the miss reason.
fn outcome(b: &Built) -> Vec<(String, String, bool, Option<String>)> {
    b.events
        .iter()
        .filter_map(|r| match &r.event {
            Event::StepStarted { step, cache_key } => Some((step.to_string(), cache_key.clone())),
            _ => None,
        })
        .map(|(step, key)| {
            let cached = b.cached(&step);
            let reason = b.miss_reason(&step);
            (step, key, cached, reason)
        })
        .collect()
}

fn sorted(
    mut v: Vec<(String, String, bool, Option<String>)>,
) -> Vec<(String, String, bool, Option<String>)> {
    // Stages run in parallel: compare step by step, not by arrival order.
    v.sort();
    v
}

/// Every file of the store with its size and mtime, the stat cache aside.
fn store_state(root: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.path().ends_with("cache/statcache.json"))
        .filter(|e| !e.path().strip_prefix(root).unwrap().starts_with("tmp"))
        .map(|e| {
            let m = e.metadata().unwrap();
            // A directory's own times change with any rename inside it (the stat cache's
            // too); what it holds is listed entry by entry.
            let state = if m.is_dir() {
                (0, std::time::UNIX_EPOCH)
            } else {
                (m.len(), m.modified().unwrap())
            };
            (
                e.path().strip_prefix(root).unwrap().display().to_string(),
                state,
            )
        })
        .collect()
}

const DOCKERFILE: &str = "FROM busybox AS deps\nWORKDIR /src\nCOPY a.txt .\nRUN cat a.txt > /deps.out\n\
FROM busybox AS final\nARG VERSION=1\nENV V=$VERSION\nCOPY --from=deps /deps.out /deps.out\n\
COPY b.txt /b.txt\nRUN --mount=type=cache,target=/cache echo $V > /v\nCMD [\"cat\", \"/v\"]\n";

/// A dry run, then the real build with the same flags: same keys, hits, misses and reasons.
fn predict_then_build(f: &Fixture, flags: &[&str]) -> Vec<(String, String, bool, Option<String>)> {
    let before = store_state(f.root());
    let mut dry_flags = vec!["--dry-run"];
    dry_flags.extend_from_slice(flags);
    let dry = f.build(&dry_flags);
    assert!(dry.ok(), "{}", dry.stderr());
    assert_eq!(
        store_state(f.root()),
        before,
        "a dry run wrote to the store"
    );
    assert!(
        !dry.events
            .iter()
            .any(|r| matches!(r.event, Event::StepLog { .. } | Event::StepFinished { .. })),
        "a dry run ran something"
    );
    assert!(dry.image().is_empty());
    let real = f.build(flags);
    assert!(real.ok(), "{}", real.stderr());
    let predicted = sorted(outcome(&dry));
    assert_eq!(predicted, sorted(outcome(&real)));
    predicted
}

#[test]
fn the_prediction_equals_the_build_that_follows() {
    let f = Fixture::new();
    f.write("a.txt", "a1");
    f.write("b.txt", "b1");
    f.dockerfile(DOCKERFILE);
    // Nothing built yet: everything after the FROMs misses.
    let p = predict_then_build(&f, &[]);
    assert!(
        p.iter().filter(|s| !s.0.ends_with("/0")).all(|s| !s.2),
        "{p:?}"
    );
    assert_eq!(p.len(), 11, "{p:?}");
    // All cached.
    let p = predict_then_build(&f, &[]);
    assert!(p.iter().all(|s| s.2), "{p:?}");
    // A changed source file in deps, and a build arg in final.
    f.write("a.txt", "a2");
    let p = predict_then_build(&f, &["--build-arg", "VERSION=2"]);
    let reason = |step: &str| p.iter().find(|s| s.0 == step).unwrap().3.clone();
    assert_eq!(reason("deps/2").as_deref(), Some("files changed: a.txt"));
    assert_eq!(reason("deps/3").as_deref(), Some("parent step rebuilt"));
    assert!(reason("final/2").unwrap().contains("ENV V=2"), "{p:?}");
    assert_eq!(reason("final/3").as_deref(), Some("source stage rebuilt"));
    assert_eq!(
        reason("final/5").as_deref(),
        Some("build arg VERSION changed: 1 → 2")
    );
    // --no-cache-filter: one stage misses with that reason.
    let p = predict_then_build(
        &f,
        &["--build-arg", "VERSION=2", "--no-cache-filter", "deps"],
    );
    assert!(
        p.iter().filter(|s| s.0.starts_with("final")).all(|s| s.2),
        "{p:?}"
    );
    assert_eq!(
        p.iter().find(|s| s.0 == "deps/2").unwrap().3.as_deref(),
        Some("--no-cache")
    );
}

#[test]
fn plain_dry_run_lists_hits_and_misses_with_reasons() {
    let f = Fixture::new();
    f.write("a.txt", "a1");
    f.write("b.txt", "b1");
    f.dockerfile(DOCKERFILE);
    assert!(f.build(&[]).ok());
    f.write("b.txt", "b2");
    let out = std::process::Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=plain", "--dry-run"])
        .arg(f.ctx.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty(), "no digest: nothing was built");
    assert!(err.contains("[final 5/7] COPY b.txt /b.txt"), "{err}");
    assert!(err.contains("cache miss: files changed: b.txt"), "{err}");
    assert!(err.contains("cache miss: parent step rebuilt"), "{err}");
    assert!(err.contains("CACHED"), "{err}");
    assert!(
        err.contains(
            "dry run: 11 steps: 8 would be cached, 3 would run (nothing was run or written)"
        ),
        "{err}"
    );
}
