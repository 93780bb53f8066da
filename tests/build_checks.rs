//! Build checks end to end: `plan --check` as `docker build --check` prints them, the `# check=`
//! directive, warnings in JSON and plain progress and in the TUI, the store's image ENV for
//! UndefinedVar, and a real `.dockerignore` for CopyIgnoredFile.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{Fixture, bin};
use stagecraft::engine::Event;

fn plan_check(f: &Fixture, extra: &[&str]) -> (bool, String) {
    let ctx = f.ctx.path().display().to_string();
    let mut args = vec!["plan", "--check"];
    args.extend_from_slice(extra);
    args.push(&ctx);
    let out = f.cmd(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn plan_check_prints_rule_location_line_and_fix() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox as Builder\nENTRYPOINT my-program start\nMAINTAINER moby@example.com\n",
    );
    let (ok, text) = plan_check(&f, &[]);
    assert!(ok, "warnings alone do not fail: {text}");
    for expected in [
        "WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/",
        "Dockerfile:1:1: Stage name 'Builder' should be lowercase",
        "WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
        "'as' and 'FROM' keywords' casing do not match",
        "Dockerfile:2:1: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals",
        "    2 | ENTRYPOINT my-program start",
        "  fix: ENTRYPOINT [\"my-program\", \"start\"]",
        "MaintainerDeprecated",
        "  fix: LABEL org.opencontainers.image.authors=\"moby@example.com\"",
        "Check complete, 4 warnings have been found!",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let (ok, json) = plan_check(&f, &["--format", "json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let w = &v["warnings"][1];
    assert_eq!(w["rule"], "FromAsCasing");
    assert_eq!(
        (w["line"].as_u64(), w["column"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn check_directive_skips_rules_and_makes_them_errors() {
    let f = Fixture::new();
    f.dockerfile("# check=skip=JSONArgsRecommended\nFROM busybox\nCMD echo hi\n");
    let (ok, text) = plan_check(&f, &[]);
    assert!(ok && text.contains("no warnings found"), "{text}");
    // error=true: plan --check exits 1, and a build stops before any step runs.
    f.dockerfile("# check=error=true\nFROM busybox\nRUN echo should-not-run\nCMD echo hi\n");
    let (ok, text) = plan_check(&f, &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("lint violation found for rules: JSONArgsRecommended"),
        "{text}"
    );
    let b = f.build(&[]);
    assert!(!b.ok());
    assert!(
        b.stderr()
            .contains("lint violation found for rules: JSONArgsRecommended"),
        "{}",
        b.stderr()
    );
    assert!(
        !b.events
            .iter()
            .any(|r| matches!(r.event, Event::StepStarted { .. })),
        "no step may run"
    );
    f.dockerfile("# check=skip=all;error=true\nFROM busybox\nCMD echo hi\n");
    assert!(f.build(&[]).ok());
}

#[test]
fn builds_report_warnings_in_json_and_plain_progress() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nEXPOSE 80/TCP\nCMD echo hi\n");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    let warnings: Vec<_> = b
        .events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Warning {
                rule,
                line,
                column,
                fix,
                step,
                ..
            } => Some((rule.clone(), *line, *column, fix.clone(), step.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0].0, "ExposeProtoCasing");
    assert_eq!((warnings[0].1, warnings[0].2), (2, 1));
    assert_eq!(warnings[0].3, "EXPOSE 80/tcp");
    assert_eq!(
        warnings[0].4.as_ref().map(|s| s.to_string()).as_deref(),
        Some("0/1")
    );
    assert_eq!(warnings[1].0, "JSONArgsRecommended");
    let out = std::process::Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=plain"])
        .arg(f.ctx.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 warnings found:"), "{err}");
    assert!(
        err.contains(" - ExposeProtoCasing: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase ("),
        "{err}"
    );
    assert!(
        err.contains("Dockerfile:2:1)\n   fix: EXPOSE 80/tcp"),
        "{err}"
    );
}

#[test]
fn undefined_var_knows_the_env_of_base_images_in_the_store() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nENV PYTHON_VERSION=3.12\n");
    let b = f.build(&["-t", "python:latest"]);
    assert!(b.ok(), "{}", b.stderr());
    // BuildKit's documented pair: defined by the base image, then undefined.
    f.dockerfile("FROM python AS base\nARG VERSION=$PYTHON_VERSION\n");
    let (_, text) = plan_check(&f, &[]);
    assert!(text.contains("no warnings found"), "{text}");
    f.dockerfile("FROM busybox AS base\nARG VERSION=$PYTHON_VERSION\nCOPY $foo .\n");
    let (_, text) = plan_check(&f, &[]);
    assert!(
        text.contains("Dockerfile:2:1: Usage of undefined variable '$PYTHON_VERSION'"),
        "{text}"
    );
    assert!(
        text.contains("Dockerfile:3:1: Usage of undefined variable '$foo'"),
        "{text}"
    );
}

#[test]
fn copy_ignored_file_reads_the_real_dockerignore() {
    let f = Fixture::new();
    f.write("tmp/helloworld.txt", "x");
    f.write("app/tmp/helloworld.txt", "x");
    f.write("forever/helloworld.txt", "x");
    // BuildKit's documented .dockerignore. Docker's matcher needs a directory before tmp, so the
    // documented ./tmp/… is not excluded (BuildKit does not warn about it either); app/tmp/… is.
    f.write(".dockerignore", "*/tmp/*\n");
    f.dockerfile(
        "FROM scratch\nCOPY ./tmp/helloworld.txt /helloworld.txt\nCOPY ./app/tmp/helloworld.txt /a.txt\nCOPY ./forever/helloworld.txt /helloworld.txt\n",
    );
    let (_, text) = plan_check(&f, &[]);
    assert!(
        text.contains(
            "Dockerfile:3:1: Attempting to Copy file \"app/tmp/helloworld.txt\" that is excluded by .dockerignore"
        ),
        "{text}"
    );
    assert!(
        text.contains("Check complete, 1 warning has been found!"),
        "{text}"
    );
    // An exception pattern makes the answer unknowable statically: BuildKit skips the rule.
    f.write(".dockerignore", "*/tmp/*\n!app/tmp/keep\n");
    let (_, text) = plan_check(&f, &[]);
    assert!(text.contains("no warnings found"), "{text}");
}

#[test]
fn the_tui_shows_warnings_in_the_status_bar_and_the_step_log() {
    common::require(&["tmux"]);
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nCMD echo hi\n");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    let log = f.ctx.path().join("events.jsonl");
    std::fs::write(&log, &b.output.stdout).unwrap();
    let socket = format!("stagecraft-checks-{}", std::process::id());
    let script = format!(
        "{} tui --replay {} --speed 0; exec sleep 600",
        bin().display(),
        log.display()
    );
    let t = common::tmux::Tmux::start(&socket, 140, 40, &script);
    let screen = t.wait_text("✓ built");
    assert!(screen.contains("⚠ 1 warning"), "{screen}");
    // The log pane holds it under the CMD step it is about (the pane cuts long lines).
    assert!(
        screen.contains("0/1 │ WARNING JSONArgsRecommended: JSON arguments recommended"),
        "{screen}"
    );
}

/// Every real-world Dockerfile of the conformance corpus that parses also checks without error.
#[test]
fn checks_run_on_every_real_world_dockerfile() {
    use std::collections::BTreeMap;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance/real-world");
    let mut checked = 0;
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "Dockerfile") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let Ok(df) = stagecraft::frontend::parse_dockerfile(&source, &path) else {
            continue;
        };
        let report = stagecraft::engine::checks::check(&df, &dir, &BTreeMap::new(), None)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for w in &report.warnings {
            assert!(w.line >= 1 && w.col >= 1, "{}: {w:?}", path.display());
            *by_rule.entry(w.rule.name.to_string()).or_default() += 1;
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} Dockerfiles");
    eprintln!("{checked} Dockerfiles: {by_rule:?}");
}
