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

/// Tests that prune or count on the daemon's build cache take turns.
static CACHE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// `stagecraft build --builder docker ARGS` with `DOCKER_HOST` = `host`, on a fresh store.
fn cli(host: &str, args: &[&str]) -> std::process::Output {
    let store = tempfile::tempdir().unwrap();
    cli_in(store.path(), host, args)
}

fn cli_in(store: &Path, host: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::bin())
        .arg("--root")
        .arg(store)
        .args(["build", "--builder", "docker"])
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .unwrap()
}

fn json_events(out: &std::process::Output) -> Vec<Record> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

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
    let _turn = serial();
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

/// The CLI on the daemon: named stages, COPY --from, a stage the target does not need, then a
/// rebuild that is all cache hits, with the daemon's image id on stdout.
#[test]
fn cli_builds_multistage_then_hits_the_cache() {
    let _turn = serial();
    let d = dockerd();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().display().to_string();
    std::fs::copy(data("multistage.Dockerfile"), ctx.path().join("Dockerfile")).unwrap();
    // A value no other test builds, so the first build cannot hit.
    let unique = format!("cli-{}\n", std::process::id());
    std::fs::write(ctx.path().join("input.txt"), unique).unwrap();
    let args = [
        "--progress=json",
        "-t",
        "sc-cli:1",
        "--label",
        "who=stagecraft",
        &c,
    ];
    let store = tempfile::tempdir().unwrap();
    let out = cli_in(store.path(), &d.host, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cold = json_events(&out);
    assert_eq!(kinds(&cold, "builder/1"), ["started", "miss", "finished"]);
    assert!(cold.iter().any(|r| matches!(&r.event,
        Event::StageSkipped { stage, .. } if stage == "unused")));
    let label = d.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Config.Labels.who}}",
        "sc-cli:1",
    ]);
    assert_eq!(label.trim(), "stagecraft");

    let out = cli_in(
        store.path(),
        &d.host,
        &["--progress=plain", "-t", "sc-cli:1", &c],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let want = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "sc-cli:1"]);
    assert_eq!(id, want.trim(), "stdout is the daemon's image id");
    let plain = String::from_utf8_lossy(&out.stderr);
    assert!(
        plain.contains("[builder 2/3] COPY input.txt /app/"),
        "{plain}"
    );
    assert!(plain.contains("exporting to image"), "{plain}");
    assert!(!plain.contains("cache miss"), "{plain}");

    // An edited file: the miss reason names it, from the inputs stagecraft recorded.
    std::fs::write(ctx.path().join("input.txt"), "edited\n").unwrap();
    let out = cli_in(store.path(), &d.host, &["--progress=json", &c]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reason = json_events(&out).into_iter().find_map(|r| match r.event {
        Event::CacheMiss { step, reason } if step.to_string() == "builder/1" => Some(reason),
        _ => None,
    });
    assert_eq!(reason.as_deref(), Some("files changed: input.txt"));
}

#[test]
fn cli_failing_run_exits_non_zero_with_the_exit_code() {
    let d = dockerd();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(data("failing.Dockerfile"), ctx.path().join("Dockerfile")).unwrap();
    let out = cli(
        &d.host,
        &["--progress=json", &ctx.path().display().to_string()],
    );
    assert!(!out.status.success());
    let ev = json_events(&out);
    assert!(
        ev.iter().any(|r| matches!(
            &r.event,
            Event::StepFailed {
                exit_code: Some(3),
                ..
            }
        )),
        "{ev:?}"
    );
    let err: String = String::from_utf8_lossy(&out.stderr)
        .replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(err.contains("exit code: 3"), "{err}");
}

/// Nothing is sent when the daemon is not there, and what our front end rejects is reported
/// before any daemon is asked.
#[test]
fn cli_errors_name_docker_host_and_the_dockerfile_line() {
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().display().to_string();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM busybox\nRUN true\n").unwrap();
    let out = cli("unix:///nonexistent/docker.sock", &[&c]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("DOCKER_HOST") && err.contains("/nonexistent/docker.sock"),
        "{err}"
    );

    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nCOPY --frm=x a b\n",
    )
    .unwrap();
    let out = cli("unix:///nonexistent/docker.sock", &[&c]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains("DOCKER_HOST"), "front end first: {err}");
    assert!(err.contains("Dockerfile:2"), "{err}");
}

/// BuildKit's own rawjson, recorded from the daemon, opens in the TUI as the same graph.
#[test]
fn tui_replays_buildkit_rawjson() {
    common::require(&["tmux"]);
    let socket = format!("sc-bk-replay-{}", std::process::id());
    let script = format!(
        "{} tui --replay tests/data/buildkit/multistage-cold.rawjson -f tests/data/buildkit/multistage.Dockerfile --speed 0; sleep 60",
        common::bin().display()
    );
    let t = common::tmux::Tmux::start(&socket, 140, 40, &script);
    // Wait for the last state (every step done) rather than an early line: a capture taken
    // while the replay is still drawing could miss the status bar's final count.
    let screen = t.wait_text("steps 16/16");
    assert!(
        screen.contains("COPY --from=builder /app/out /out"),
        "{screen}"
    );
    assert!(screen.contains("hello from base"), "{screen}");
    assert!(screen.contains("not needed"), "{screen}");
}

/// A process whose command line holds `marker`, read from /proc (no procps needed).
fn sleeping(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(marker)
            })
            .unwrap_or(false)
    })
}

/// Ctrl-C during a RUN: stagecraft exits non-zero and the daemon stops the step (no process of
/// it left on the host, where runc runs BuildKit's containers).
#[test]
fn ctrl_c_cancels_the_build_on_the_daemon() {
    let d = dockerd();
    let ctx = tempfile::tempdir().unwrap();
    let marker = format!("sleep 9{}", std::process::id());
    let dockerfile = format!("FROM busybox\nRUN echo started && {marker}\n");
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    let store = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(common::bin())
        .arg("--root")
        .arg(store.path())
        .args([
            "build",
            "--builder",
            "docker",
            "--no-cache",
            "--progress=json",
        ])
        .arg(ctx.path())
        .env("DOCKER_HOST", &d.host)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut polls = 0;
    while !sleeping(&marker) {
        polls += 1;
        assert!(polls < 3000, "the RUN never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    assert!(!child.wait().unwrap().success());
    let mut polls = 0;
    while sleeping(&marker) {
        polls += 1;
        assert!(
            polls < 3000,
            "{marker} still runs on the daemon after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `stagecraft ARGS` on `store`, with the daemon at `host` (where a build left for later is
/// imported from).
fn sc_ok(store: &Path, host: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(common::bin())
        .arg("--root")
        .arg(store)
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stagecraft {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The built image comes back from the daemon: its layers get real sizes in the event stream,
/// the target's stage_finished carries its config, and explain, diff and the stage records read
/// real files from the store; a `--target` build brings the stages it is built FROM too.
#[test]
fn built_image_comes_back_for_explain_and_diff() {
    let d = dockerd();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().display().to_string();
    std::fs::copy(data("multistage.Dockerfile"), ctx.path().join("Dockerfile")).unwrap();
    let unique = format!("import-{}\n", std::process::id());
    std::fs::write(ctx.path().join("input.txt"), &unique).unwrap();
    let store = tempfile::tempdir().unwrap();
    // -o and --metadata-file read the imported copy; --load is what the daemon did anyway.
    let oci = store.path().join("out.oci");
    let meta = store.path().join("meta.json");
    let dest = format!("type=oci,dest={}", oci.display());
    let m = meta.display().to_string();
    let args = [
        "--progress=json",
        "-t",
        "sc-back:1",
        "--load",
        "-o",
        &dest,
        "--metadata-file",
        &m,
        &c,
    ];
    let out = cli_in(store.path(), &d.host, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = json_events(&out);
    let daemon_id = ev.iter().find_map(|r| match &r.event {
        Event::BuildFinished { image, .. } => image.clone(),
        _ => None,
    });
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(
        meta["containerimage.config.digest"].as_str(),
        daemon_id.as_deref()
    );
    common::require(&["skopeo"]);
    let inspect = std::process::Command::new("skopeo")
        .args(["inspect", &format!("oci:{}", oci.display())])
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        inspect["Layers"].as_array().map(Vec::len),
        Some(2),
        "{inspect}"
    );
    let copied = ev.iter().find_map(|r| match &r.event {
        Event::LayerDigested { step, layer } if step.to_string() == "3/1" => Some(layer.clone()),
        _ => None,
    });
    let copied = copied.unwrap_or_else(|| panic!("no layer_digested for 3/1: {ev:?}"));
    assert!(copied.size >= 1024 && copied.added >= 1, "{copied:?}");
    assert!(copied.diff_id.starts_with("sha256:"), "{copied:?}");
    let config = ev.iter().find_map(|r| match &r.event {
        Event::StageFinished {
            stage,
            image_config,
        } if stage == "3" => Some(image_config.clone()),
        _ => None,
    });
    assert_eq!(
        config.and_then(|c| c.cmd),
        Some(vec!["cat".to_string(), "/out".to_string()])
    );

    let report: serde_json::Value = serde_json::from_str(&sc_ok(
        store.path(),
        &d.host,
        &["explain", "--format", "json"],
    ))
    .unwrap();
    let files = report["largest_files"].as_array().unwrap();
    let size_of = |want: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().unwrap().trim_start_matches('/') == want)
            .and_then(|f| f["size"].as_u64())
    };
    assert_eq!(size_of("out"), Some(unique.len() as u64), "{files:?}");
    assert!(size_of("bin/busybox").unwrap_or(0) > 100_000, "{files:?}");
    let last = report["layers"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"]["stage"], "3", "{last}");
    assert_eq!(last["step"]["instruction"], "COPY", "{last}");
    // A shell in the target stage runs on the imported layers.
    let shown = sc_ok(store.path(), &d.host, &["shell", "3", "--", "cat", "/out"]);
    assert_eq!(shown, unique);
    // Tagged in the store as in the daemon.
    sc_ok(store.path(), &d.host, &["explain", "sc-back:1"]);

    // A --target build: the image holds `builder` and the `base` it is built FROM. Printed
    // progress without -o leaves the import to the first command that needs it (diff here).
    let args = ["--progress=plain", "--target", "builder", &c];
    let out = cli_in(store.path(), &d.host, &args);
    let plain = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{plain}");
    assert!(!plain.contains("importing the image"), "{plain}");
    let diff = sc_ok(
        store.path(),
        &d.host,
        &["diff", "base", "builder", "--format", "json"],
    );
    assert!(
        diff.contains("app/input.txt") && diff.contains("app/out"),
        "{diff}"
    );
    let report: serde_json::Value = serde_json::from_str(&sc_ok(
        store.path(),
        &d.host,
        &["explain", "--format", "json"],
    ))
    .unwrap();
    let steps: Vec<String> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}/{}",
                l["step"]["stage"].as_str().unwrap_or("?"),
                l["step"]["step"]
            )
        })
        .collect();
    for want in ["base/3", "base/4", "builder/1", "builder/2"] {
        assert!(steps.iter().any(|s| s == want), "{want} in {steps:?}");
    }
}

/// A FROM image that changed in the daemon under the same tag is a miss reason of its own.
#[test]
fn changed_base_image_is_the_miss_reason() {
    let d = dockerd();
    let base = format!("sc-base-{}:latest", std::process::id());
    d.docker_ok(&["tag", "busybox:latest", &base]);
    let ctx = tempfile::tempdir().unwrap();
    let dockerfile = format!("FROM {base}\nRUN echo one > /one\nRUN echo two > /two\n");
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    let c = ctx.path().display().to_string();
    let store = tempfile::tempdir().unwrap();
    let out = cli_in(store.path(), &d.host, &["--progress=json", &c]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another image under the base's tag, built FROM busybox with one file more.
    let other = tempfile::tempdir().unwrap();
    let marker = format!("RUN echo {} > /changed\n", std::process::id());
    std::fs::write(
        other.path().join("Dockerfile"),
        format!("FROM busybox\n{marker}"),
    )
    .unwrap();
    let o = other.path().display().to_string();
    let out = cli(&d.host, &["-t", &base, &o]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cli_in(store.path(), &d.host, &["--progress=json", &c]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reasons: Vec<(String, String)> = json_events(&out)
        .into_iter()
        .filter_map(|r| match r.event {
            Event::CacheMiss { step, reason } => Some((step.to_string(), reason)),
            _ => None,
        })
        .collect();
    let of = |step: &str| {
        reasons
            .iter()
            .find(|(s, _)| s == step)
            .map(|(_, r)| r.as_str())
    };
    assert_eq!(of("0/1"), Some("base image changed"), "{reasons:?}");
    assert_eq!(of("0/2"), Some("parent step rebuilt"), "{reasons:?}");
}
