//! Every lesson under examples/lessons builds, and what its text says holds: sizes, skipped
//! stages, overlapping stages, miss reasons, secrets, files of a scratch image. The lessons run
//! from a working copy (the library's `Workspace`, as `stagecraft learn` uses), one store per test
//! copied from a template that imported busybox once.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{Built, bin};
use serde_json::Value;
use stagecraft::engine::{Event, Record, StepRef};
use stagecraft::lesson::{self, Workspace};
use stagecraft::store::Store;

fn lessons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/lessons")
}

/// A store holding busybox:latest, imported once by the same code `learn` uses.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            assert!(
                lesson::base::ensure(&store).unwrap(),
                "imports into a new store"
            );
            assert!(!lesson::base::ensure(&store).unwrap(), "only once");
            dir
        })
        .path()
}

struct Lab {
    store: tempfile::TempDir,
    ws: Workspace,
}

impl Lab {
    fn new(number: u32) -> Self {
        let store = tempfile::tempdir().unwrap();
        let out = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", template().display()))
            .arg(store.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let l = lesson::find(&lessons_dir(), number).unwrap();
        Self {
            store,
            ws: Workspace::new(l).unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("--root")
            .arg(self.store.path())
            .args(args)
            .output()
            .unwrap()
    }

    /// Builds the working copy as it is now, with the lesson's settings.
    fn build(&self, extra: &[&str]) -> Built {
        let mut args: Vec<String> = vec!["build".into(), "--progress=json".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(self.ws.build_args());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = self.cmd(&args);
        let events = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str::<Record>(l).unwrap())
            .collect();
        Built { output, events }
    }

    fn build_ok(&self) -> Built {
        let b = self.build(&[]);
        assert!(
            b.ok(),
            "lesson {} build: {}",
            self.ws.lesson.number,
            b.stderr()
        );
        b
    }

    fn next(&mut self) {
        self.ws
            .apply_next()
            .unwrap()
            .expect("the lesson has another try step");
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn explain_last(&self) -> Value {
        self.json(&["explain", "--last", "--format", "json", "--top", "0"])
    }
}

fn image_size(b: &Built) -> u64 {
    match b.finished() {
        Some(Event::BuildFinished { totals, .. }) => totals.image_size,
        other => panic!("no build_finished: {other:?}"),
    }
}

fn skipped(b: &Built) -> Vec<(String, String)> {
    b.events
        .iter()
        .filter_map(|r| match &r.event {
            Event::StageSkipped { stage, reason } => Some((stage.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// (started, finished) of a step, from the event times.
fn span(b: &Built, step: &str) -> (std::time::SystemTime, std::time::SystemTime) {
    let want: StepRef = step.parse().unwrap();
    let mut start = None;
    let mut end = None;
    for r in &b.events {
        match &r.event {
            Event::StepStarted { step, .. } if *step == want => start = Some(r.time.0),
            Event::StepFinished { step, .. } if *step == want => end = Some(r.time.0),
            _ => {}
        }
    }
    (start.unwrap(), end.unwrap())
}

#[test]
fn every_lesson_loads_and_its_try_steps_apply() {
    let lessons = lesson::list(&lessons_dir()).unwrap();
    let numbers: Vec<u32> = lessons.iter().map(|l| l.number).collect();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    for l in lessons {
        assert!(l.text.contains("## Try this"), "lesson {}", l.number);
        let steps = l.manifest.steps.len();
        assert!(steps > 0, "lesson {} has try steps", l.number);
        let mut ws = Workspace::new(l).unwrap();
        for _ in 0..steps {
            ws.apply_next().unwrap().unwrap();
            assert!(ws.dockerfile().is_file(), "{}", ws.dockerfile().display());
        }
    }
}

#[test]
fn lesson_1_the_multi_stage_image_is_3_mb_smaller() {
    let mut lab = Lab::new(1);
    let multi = lab.build_ok();
    let stages = lab.explain_last()["stages"].clone();
    let build = stages
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "build")
        .unwrap_or_else(|| panic!("{stages}"));
    // The toolchain is in `build`, and it did not reach the image (busybox, below it, did).
    let never_shipped = build["size"].as_u64().unwrap() - build["shipped_bytes"].as_u64().unwrap();
    assert!(never_shipped >= 3_000_000, "{build}");
    lab.next();
    let single = lab.build_ok();
    let (m, s) = (image_size(&multi), image_size(&single));
    assert!(
        s > m + 2_900_000 && s < m + 3_300_000,
        "single {s} vs multi {m}: about 3 MB apart"
    );
    lab.next();
    let changed = lab.build_ok();
    let reason = changed.miss_reason("build/2").unwrap();
    assert!(reason.contains("app.sh"), "{reason}");
    assert_eq!(
        changed.miss_reason("build/3").as_deref(),
        Some("parent step rebuilt")
    );
}

#[test]
fn lesson_2_copy_from_by_name_index_and_image_and_indexes_shift() {
    let mut lab = Lab::new(2);
    let dockerfile = lab.ws.dockerfile().display().to_string();
    let plan = lab.json(&["plan", "-f", &dockerfile, "--format", "json"]);
    assert_eq!(
        plan["stages"][2]["depends_on"],
        serde_json::json!(["compile", "1", "image:busybox:latest"])
    );
    lab.build_ok();
    let out = lab.cmd(&[
        "shell",
        "final",
        "--",
        "cat",
        "/app/app.txt",
        "/app/notes.txt",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("made by the stage named compile"), "{text}");
    assert!(
        text.contains("made by stage 1, which has no name"),
        "{text}"
    );
    let out = lab.cmd(&["shell", "final", "--", "ls", "/app/tools/busybox"]);
    assert!(out.status.success());

    lab.next();
    let broken = lab.build(&[]);
    assert!(!broken.ok());
    assert!(
        broken
            .step("final/2")
            .iter()
            .any(|e| matches!(e, Event::StepFailed { .. })),
        "--from=1 now names `compile`"
    );
    let stderr = broken.stderr();
    assert!(
        stderr.contains("notes.txt") && stderr.contains("--from stage's or image's filesystem"),
        "the error names the missing file and where it was looked for: {stderr}"
    );

    lab.next();
    lab.build_ok();
    let plan = lab.json(&["plan", "-f", &dockerfile, "--format", "json"]);
    assert_eq!(plan["stages"][3]["depends_on"][1], "notes");
}

#[test]
fn lesson_3_target_skips_what_it_does_not_need() {
    let mut lab = Lab::new(3);
    let reason = |t: &str| format!("not needed by target {t}");
    let b = lab.build_ok();
    assert_eq!(
        skipped(&b),
        [
            ("test".into(), reason("final")),
            ("debug-tools".into(), reason("final"))
        ]
    );
    lab.next();
    let b = lab.build_ok();
    assert_eq!(
        skipped(&b),
        [
            ("debug-tools".into(), reason("test")),
            ("final".into(), reason("test"))
        ]
    );
    assert!(b.cached("base/1") && b.cached("build/1"));
    lab.next();
    let b = lab.build_ok();
    let names: Vec<String> = skipped(&b).into_iter().map(|(s, _)| s).collect();
    assert_eq!(names, ["base", "build", "test", "final"]);
}

#[test]
fn lesson_4_independent_stages_overlap_and_a_from_edge_serialises_them() {
    let mut lab = Lab::new(4);
    let b = lab.build(&["--jobs", "2"]);
    assert!(b.ok(), "{}", b.stderr());
    let (ls, le) = span(&b, "left/1");
    let (rs, re) = span(&b, "right/1");
    assert!(
        ls < re && rs < le,
        "left {ls:?}..{le:?} and right {rs:?}..{re:?} overlap"
    );
    lab.next();
    let b = lab.build(&["--jobs", "2"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_, le) = span(&b, "left/1");
    let (rs, _) = span(&b, "right/1");
    assert!(le <= rs, "right/1 starts after left/1 ends");
}

#[test]
fn lesson_5_miss_reasons_name_the_changed_file_and_good_order_keeps_the_install() {
    let mut lab = Lab::new(5);
    lab.build_ok();
    lab.next();
    let b = lab.build_ok();
    assert_eq!(
        b.miss_reason("0/2").as_deref(),
        Some("files changed: src/main.sh")
    );
    assert_eq!(b.miss_reason("0/3").as_deref(), Some("parent step rebuilt"));
    assert!(b.logs("0/3").contains("installing greeting 1.0"));
    lab.next();
    lab.build_ok();
    lab.next();
    let b = lab.build_ok();
    assert!(b.cached("0/3"), "the install stays cached");
    assert_eq!(
        b.miss_reason("0/4").as_deref(),
        Some("files changed: src/main.sh")
    );
}

#[test]
fn lesson_6_a_file_deleted_later_still_costs_its_bytes() {
    let mut lab = Lab::new(6);
    let separate = lab.build_ok();
    let report = lab.explain_last();
    assert!(
        report["wasted_bytes"].as_u64().unwrap() >= 2_000_000,
        "{}",
        report["wasted_bytes"]
    );
    let hints: Vec<&str> = report["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert!(hints.contains(&"deleted_later"), "{hints:?}");
    lab.next();
    let chained = lab.build_ok();
    let report = lab.explain_last();
    assert_eq!(report["wasted_bytes"], 0);
    assert!(image_size(&separate) > image_size(&chained) + 1_900_000);
}

#[test]
fn lesson_7_a_copied_secret_is_found_and_a_secret_mount_is_not() {
    let mut lab = Lab::new(7);
    lab.build_ok();
    let secrets = lab.explain_last()["secrets"].clone();
    assert_eq!(secrets.as_array().unwrap().len(), 1, "{secrets}");
    assert_eq!(secrets[0]["kind"], "npm token");
    assert_eq!(secrets[0]["path"], "/root/.npmrc");
    assert_eq!(
        secrets[0]["in_final_image"], false,
        "deleted, still shipped"
    );
    lab.next();
    let b = lab.build_ok();
    assert!(
        b.logs("0/2").lines().any(|l| l == "1"),
        "the RUN read the token"
    );
    assert_eq!(lab.explain_last()["secrets"], serde_json::json!([]));
}

#[test]
fn lesson_8_scratch_holds_two_files_and_needs_shell_image() {
    let mut lab = Lab::new(8);
    lab.build_ok();
    let files: Vec<String> = lab.explain_last()["largest_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, ["/busybox", "/message"]);
    assert!(
        !lab.cmd(&["shell", "final", "--", "/bin/sh", "-c", "true"])
            .status
            .success()
    );
    let out = lab.cmd(&[
        "shell", "final", "--image", "busybox", "--", "ls", "/target",
    ]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        listing.split_whitespace().collect::<Vec<_>>(),
        ["busybox", "message"]
    );
    lab.next();
    lab.build_ok();
    let files = lab.explain_last()["largest_files"]
        .as_array()
        .unwrap()
        .len();
    assert!(files > 2, "a busybox base brings its own files");
    assert!(
        lab.cmd(&["shell", "final", "--", "/bin/sh", "-c", "true"])
            .status
            .success()
    );
}

#[test]
fn learn_without_a_terminal_walks_through_the_try_steps_with_explains_findings() {
    let lab = Lab::new(7);
    let out = lab.cmd(&["learn", "7", "--progress", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "JSON progress: every stdout line is JSON, not {line:?}"
        );
    }
    let builds = stdout
        .lines()
        .filter(|l| l.contains("\"build_finished\""))
        .count();
    assert_eq!(builds, 2, "the lesson, then its one try step");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let leak = stderr
        .find("secret: npm token in /root/.npmrc")
        .expect("found in run 1");
    let clean = stderr
        .find("no secrets in any layer")
        .expect("none in run 2");
    assert!(leak < stderr.find("── try 1").unwrap() && stderr.find("── try 1").unwrap() < clean);
}
