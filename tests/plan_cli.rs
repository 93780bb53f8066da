//! `stagecraft plan` end to end: the real binary on real Dockerfiles.
#![allow(clippy::unwrap_used, clippy::panic)]

use assert_cmd::Command;

const MULTI: &str = "\
# syntax=docker/dockerfile:1
ARG BASE=busybox:1
FROM ${BASE} AS base
RUN <<EOF
echo base > /base
EOF

FROM base AS builder
RUN --mount=type=cache,target=/cache echo build > /out

FROM builder AS tests
RUN echo test

FROM scratch AS final
COPY --from=builder /out /app
COPY --from=0 /base /base
COPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf
";

fn dir_with(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn plan(dir: &tempfile::TempDir, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("stagecraft")
        .unwrap()
        .arg("plan")
        .arg(dir.path())
        .args(args)
        .assert()
}

fn json(dir: &tempfile::TempDir, args: &[&str]) -> serde_json::Value {
    let out = plan(dir, &[&["--format", "json"], args].concat())
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn json_graph_has_bases_edges_and_skip_reasons() {
    let dir = dir_with(MULTI);
    let v = json(&dir, &[]);
    assert_eq!(v["target"], "final");
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 4);
    assert_eq!(stages[0]["base"], serde_json::json!({"image": "busybox:1"}));
    assert_eq!(stages[1]["base"], serde_json::json!({"stage": "base"}));
    assert_eq!(stages[3]["base"], serde_json::json!({"scratch": true}));
    assert_eq!(
        stages[3]["depends_on"],
        serde_json::json!(["builder", "base", "image:nginx:latest"])
    );
    assert_eq!(stages[2]["needed"], false);
    assert_eq!(stages[2]["skip_reason"], "not needed by target final");
    let step = &stages[1]["steps"][1];
    assert_eq!(step["instruction"], "RUN");
    assert_eq!(step["line"], 9);
    assert_eq!(
        step["text"],
        "RUN --mount=type=cache,target=/cache echo build > /out"
    );
}

#[test]
fn target_selects_its_closure_and_build_args_reach_from() {
    let dir = dir_with(MULTI);
    let v = json(&dir, &["--target", "tests", "--build-arg", "BASE=alpine:3"]);
    assert_eq!(v["target"], "tests");
    let needed: Vec<bool> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["needed"].as_bool().unwrap())
        .collect();
    assert_eq!(needed, [true, true, true, false]);
    assert_eq!(v["stages"][3]["skip_reason"], "not needed by target tests");
    assert_eq!(v["stages"][0]["base"]["image"], "alpine:3");
}

#[test]
fn text_tree_explains_feeds_and_skips() {
    let dir = dir_with(MULTI);
    let out = String::from_utf8(plan(&dir, &[]).success().get_output().stdout.clone()).unwrap();
    assert!(
        out.contains(
            "global ARGs (seen by FROM lines; re-declare inside a stage to use): BASE=busybox:1"
        ),
        "{out}"
    );
    assert!(
        out.contains("target: final  (builds 3 of 4 stages)"),
        "{out}"
    );
    assert!(
        out.contains(
            "stage 2 \"tests\": FROM builder (stage)  -- skipped: not needed by target final"
        ),
        "{out}"
    );
    assert!(
        out.contains("builder -> final  (COPY --from, step 1, line 15)"),
        "{out}"
    );
    assert!(out.contains("image:nginx:latest -> final"), "{out}");
    assert!(out.contains("      + heredoc EOF: 1 line(s)"), "{out}");
    let out = String::from_utf8(
        plan(&dir, &["--build-arg", "NOPE=1"])
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(
        out.contains("build arg NOPE is not declared by any ARG"),
        "{out}"
    );
}

#[test]
fn dot_is_a_graphviz_digraph() {
    let dir = dir_with(MULTI);
    let out = String::from_utf8(
        plan(&dir, &["--format", "dot"])
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(out.starts_with("digraph plan {"), "{out}");
    assert!(
        out.contains("\"stage:builder\" -> \"stage:final\" [label=\"COPY --from\"];"),
        "{out}"
    );
    assert!(out.trim_end().ends_with('}'));
}

#[test]
fn errors_point_at_line_and_column_with_a_hint() {
    let dir = dir_with("FROM busybox\n  FRUM x\n");
    let err = String::from_utf8(plan(&dir, &[]).failure().get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("Dockerfile:2:3: unknown instruction \"FRUM\""),
        "{err}"
    );
    assert!(err.contains("did you mean FROM?"), "{err}");
    assert!(err.contains("FRUM x"), "{err}");
}

#[test]
fn later_stage_references_and_unknown_targets_are_errors() {
    let dir = dir_with("FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n");
    let err = String::from_utf8(plan(&dir, &[]).failure().get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("Dockerfile:2:1: stage a uses stage \"b\", defined later"),
        "{err}"
    );
    let dir = dir_with(MULTI);
    let err = String::from_utf8(
        plan(&dir, &["--target", "test"])
            .failure()
            .get_output()
            .stderr
            .clone(),
    )
    .unwrap();
    assert!(err.contains("target stage \"test\" not found"), "{err}");
    assert!(err.contains("did you mean tests?"), "{err}");
}

#[test]
fn dockerfile_from_stdin() {
    let out = Command::cargo_bin("stagecraft")
        .unwrap()
        .args(["plan", "-f", "-", "--format", "json"])
        .write_stdin("FROM busybox AS only\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["target"], "only");
}
