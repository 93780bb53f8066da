//! End to end: the real binary in a real terminal (tmux), driven by keys, read back with capture-pane.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::tmux::Tmux;
use std::process::Command;

/// Runs `stagecraft ARGS` in a 120×40 terminal; when it exits, the shell reports the exit code
/// and whether the terminal is back in cooked mode, then idles so the pane stays readable.
fn start(name: &str, args: &str) -> Tmux {
    start_env(name, "", args)
}

/// Like `start`, with `env` (`NAME=value ...`) set for stagecraft.
fn start_env(name: &str, env: &str, args: &str) -> Tmux {
    let socket = format!("stagecraft-test-{}-{name}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_stagecraft");
    let script = format!(
        "{env} {bin} {args}; echo \"exit=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e '-*icanon' -e '-*echo'; echo END; exec sleep 600"
    );
    Tmux::start(&socket, 120, 40, &script)
}

fn events(name: &str) -> String {
    let p = PathBuf::from("tests/data/events").join(name);
    p.display().to_string()
}

/// After exit: the alternate screen is gone and the terminal is cooked (icanon, echo) again.
fn assert_clean_exit(t: &Tmux) {
    let screen = t.wait_text("END");
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        !screen.contains("Stages"),
        "the TUI's screen was left behind:\n{screen}"
    );
    let modes: Vec<&str> = screen
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with("icanon") || l.ends_with("echo"))
        .collect();
    assert_eq!(
        modes,
        ["icanon", "echo"],
        "terminal left in raw mode:\n{screen}"
    );
}

#[test]
fn replay_shows_stages_skips_sizes_and_q_restores_the_terminal() {
    common::require(&["tmux"]);
    let t = start(
        "replay",
        &format!("tui --replay {} --speed 0", events("multistage.jsonl")),
    );
    let screen = t.wait_text("✓ built");
    for stage in [
        "base",
        "deps",
        "builder",
        "docs",
        "test",
        "final",
        "busybox:1.36",
    ] {
        assert!(screen.contains(stage), "stage {stage} missing:\n{screen}");
    }
    assert!(
        screen.contains("⊘ not needed"),
        "skipped stage not marked:\n{screen}"
    );
    assert!(screen.contains("target"), "{screen}");
    assert!(screen.contains("cache 46% (6/13)"), "{screen}");
    assert!(screen.contains("image 11.7 MB"), "{screen}");
    assert!(
        screen.contains("11.5 MB"),
        "layer size of final/1:\n{screen}"
    );
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn a_paced_replay_runs_live_then_ctrl_c_restores_the_terminal() {
    let t = start(
        "paced",
        &format!("tui --replay {} --speed 2", events("multistage.jsonl")),
    );
    // While the replay runs the status says building; it then finishes on its own.
    t.wait_text("building");
    t.wait_text("✓ built");
    t.send(&["C-c"]);
    assert_clean_exit(&t);
}

#[test]
fn keys_search_the_logs_of_the_failed_step_and_the_layout_follows_a_resize() {
    let t = start(
        "keys",
        &format!(
            "tui --replay {} --speed 0 --theme high-contrast",
            events("failed.jsonl")
        ),
    );
    t.wait_text("✗ failed");
    // Enter on the failing step's row: only its logs; then search them.
    t.send(&["Tab", "Enter", "/", "e", "r", "r", "o", "r", "Enter"]);
    let screen = t.wait_text("2 matches");
    assert!(screen.contains("Logs · builder/4"), "{screen}");
    t.send(&["?"]);
    t.wait_text("any key closes");
    t.send(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("any key closes"));
    t.tmux(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    // tmux cuts the old frame to 80 columns at once; only the UI's own redraw closes the
    // frame with a corner at column 80 and fits the failed stage's box.
    let screen = t.wait_for("a redraw at 80 columns", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.chars().count() == 80 && l.ends_with('╮'))
            && s.contains("failed at #4")
    });
    assert!(screen.contains("Stages"), "{screen}");
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn a_broken_event_log_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bad.jsonl");
    let good = std::fs::read_to_string(events("multistage.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(&log, format!("{first}\n{{\"time\": \"x\"}}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(["tui", "--replay"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl:2"), "{err}");
}

#[test]
fn the_layer_tree_reads_the_steps_layers_from_the_store() {
    use stagecraft::engine::event::{Event, StepRef};
    use stagecraft::image::layer::{LayerOptions, LayerStore};
    use stagecraft::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let write = |base: &std::path::Path, files: &[(&str, &str)]| {
        for (path, text) in files {
            let p = base.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    };
    let lower = dir.path().join("lower");
    write(&lower, &[("app", "binary v1"), ("etc/motd", "hi")]);
    let upper = dir.path().join("upper");
    write(
        &upper,
        &[
            ("usr/share/doc/app/index.html", "<h1>docs</h1>"),
            ("etc/motd", "hello there"),
        ],
    );
    let store = Store::open(&root).unwrap();
    let first = store
        .commit_layer(&lower, &LayerOptions::default())
        .unwrap()
        .info();
    let second = store
        .commit_layer(&upper, &LayerOptions::default())
        .unwrap()
        .info();
    drop(store);

    // The recorded build, with final/1 and final/2 carrying these real layers.
    let log = std::fs::read_to_string(events("multistage.jsonl")).unwrap();
    let mut lines = Vec::new();
    for line in log.lines() {
        let mut record: stagecraft::engine::event::Record = serde_json::from_str(line).unwrap();
        match &mut record.event {
            Event::StepFinished { step, layer, .. } if *step == StepRef::new("final", 1) => {
                *layer = Some(first.clone())
            }
            Event::StepCached { step, layer, .. } if *step == StepRef::new("final", 2) => {
                *layer = Some(second.clone())
            }
            _ => {}
        }
        lines.push(serde_json::to_string(&record).unwrap());
    }
    let replay = dir.path().join("events.jsonl");
    std::fs::write(&replay, lines.join("\n")).unwrap();

    let args = format!(
        "--root {} tui --replay {} --speed 0",
        root.display(),
        replay.display()
    );
    let t = start("layers", &args);
    t.wait_text("✓ built");
    // Steps pane, up from final/3 to final/2, open its layer; then open /usr.
    t.send(&["Tab", "k", "t"]);
    let screen = t.wait_text("Layer · final/2");
    let screen = if screen.contains("paths") {
        screen
    } else {
        t.wait_text("paths")
    };
    let row = |s: &str, name: &str| {
        s.lines()
            .find(|l| l.contains(name))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(
        row(&screen, "usr/").contains("+"),
        "usr/ is new in final/2:\n{screen}"
    );
    assert!(
        row(&screen, "etc/").contains("·"),
        "etc/ has a change below it:\n{screen}"
    );
    t.send(&["g", "j", "l"]);
    let screen = t.wait_text("motd");
    assert!(
        row(&screen, "motd").contains("~"),
        "etc/motd was modified:\n{screen}"
    );
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn a_real_busybox_build_in_the_tui_shows_stages_skips_sizes_and_cache_hits() {
    let f = common::Fixture::new();
    f.dockerfile(
        "FROM busybox AS base\n\
         RUN echo base > /base.txt\n\
         FROM base AS builder\n\
         COPY app.sh /src/\n\
         RUN for i in 1 2 3; do echo compiling part $i; done; cp /src/app.sh /app\n\
         FROM busybox AS unused\n\
         RUN echo never\n\
         FROM busybox AS final\n\
         COPY --from=builder /app /app\n",
    );
    f.write("app.sh", "#!/bin/sh\necho hello from the app\n");
    let args = format!(
        "--root {} build --progress=tty {}",
        f.root().display(),
        f.ctx.path().display()
    );
    for (run, cache) in [("cold", "cache 0% (0/4)"), ("warm", "cache 100% (4/4)")] {
        let t = start(run, &args);
        let screen = t.wait_for("the build to finish", |s| {
            s.contains("✓ built") || s.contains("✗ failed")
        });
        assert!(screen.contains("✓ built"), "{run} build failed:\n{screen}");
        for stage in ["base", "builder", "unused", "final", "busybox"] {
            assert!(
                screen.contains(stage),
                "{run}: stage {stage} missing:\n{screen}"
            );
        }
        assert!(
            screen.contains("⊘ not needed"),
            "{run}: unused stage not skipped:\n{screen}"
        );
        assert!(screen.contains(cache), "{run}: expected {cache}:\n{screen}");
        assert!(screen.contains("image "), "{run}: no image size:\n{screen}");
        // From the target's steps two stages left to the builder, its last step (the RUN): its logs.
        t.send(&["Tab", "h", "h", "G", "Enter"]);
        let screen = t.wait_text("Logs · builder/2");
        if run == "cold" {
            assert!(screen.contains("compiling part 3"), "{screen}");
        }
        // Its layer, read from the build's store: busybox plus what the RUN added.
        t.send(&["t"]);
        let screen = t.wait_text("paths ·");
        assert!(screen.contains("Layer · builder/2"), "{screen}");
        // The layer pane is the right half of the screen: look only there.
        let right: Vec<String> = screen
            .lines()
            .map(|l| l.chars().skip(60).collect())
            .collect();
        let app = right
            .iter()
            .find(|l| l.split_whitespace().any(|w| w == "app"))
            .cloned()
            .unwrap_or_default();
        assert!(
            app.contains('+'),
            "/app added by the RUN is not marked:\n{screen}"
        );
        t.send(&["q"]);
        assert_clean_exit(&t);
    }
}

#[test]
fn user_themes_come_from_xdg_config_and_no_color_turns_colour_off() {
    let config = tempfile::tempdir().unwrap();
    let themes = config.path().join("stagecraft/themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(
        themes.join("mine.toml"),
        "name = \"mine\"\n[palette]\nfailed = \"#123456\"\n",
    )
    .unwrap();
    let args = format!(
        "tui --replay {} --speed 0 --theme mine",
        events("failed.jsonl")
    );
    let env = format!("XDG_CONFIG_HOME={}", config.path().display());
    let t = start_env("theme", &env, &args);
    t.wait_text("✗ failed");
    let coloured =
        String::from_utf8_lossy(&t.tmux(&["capture-pane", "-e", "-p", "-t", "t"]).stdout)
            .into_owned();
    assert!(
        coloured.contains("38;2;18;52;86"),
        "the user theme's colour for failures is not on screen"
    );
    t.send(&["q"]);
    assert_clean_exit(&t);

    let t = start_env("nocolor", &format!("{env} NO_COLOR=1"), &args);
    t.wait_text("✗ failed");
    let plain = String::from_utf8_lossy(&t.tmux(&["capture-pane", "-e", "-p", "-t", "t"]).stdout)
        .into_owned();
    assert!(!plain.contains("38;"), "NO_COLOR still shows colours");
    assert!(
        plain.contains("\u{1b}[1m") || plain.contains(";1m"),
        "no bold either: state must still show"
    );
    t.send(&["q"]);
    assert_clean_exit(&t);
}

/// The interactive shell waits for input: its prompt (`/ # `) is the last line on the screen.
/// Keys typed before it could reach the suspended UI's input reader instead of the shell.
fn shell_prompt(screen: &str) -> bool {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_end().ends_with(" #"))
}

#[test]
fn s_opens_a_shell_after_a_step_and_the_tui_comes_back() {
    let f = common::Fixture::new();
    f.dockerfile(
        "FROM busybox\n\
         ENV GREETING=hi\n\
         RUN echo made-by-run > /made.txt\n",
    );
    let args = format!(
        "--root {} build --progress=tty {}",
        f.root().display(),
        f.ctx.path().display()
    );
    let t = start("shell", &args);
    let screen = t.wait_for("the build to finish", |s| {
        s.contains("✓ built") || s.contains("✗ failed")
    });
    assert!(screen.contains("✓ built"), "build failed:\n{screen}");
    // The last step is selected; `s` opens a shell in the filesystem after it.
    t.send(&["Tab", "G", "s"]);
    t.wait_text("changes are thrown away");
    t.wait_for("the shell's prompt", shell_prompt);
    t.send(&["cat /made.txt; echo \"g=$GREETING\"", "Enter"]);
    let screen = t.wait_text("g=hi");
    assert!(screen.contains("made-by-run"), "{screen}");
    t.send(&["exit 3", "Enter"]);
    let screen = t.wait_text("exited with 3");
    assert!(screen.contains("✓ built"), "the TUI is not back:\n{screen}");
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn a_failing_run_offers_a_shell_before_it_with_the_command_to_rerun() {
    let f = common::Fixture::new();
    f.dockerfile(
        "FROM busybox\n\
         RUN echo before > /before.txt\n\
         RUN touch /left-behind && test -e /nope && echo never\n",
    );
    let args = format!(
        "--root {} build --progress=tty {}",
        f.root().display(),
        f.ctx.path().display()
    );
    let t = start("failshell", &args);
    let screen = t.wait_text("✗ failed");
    assert!(screen.contains("s shell before failure"), "{screen}");
    // `S`: what the failed RUN wrote before failing is there.
    t.send(&["S"]);
    t.wait_text("changes are thrown away");
    // Type only once the shell reads the terminal (its prompt), and wait for output lines, not
    // for the echo of what was typed.
    t.wait_for("the shell's prompt", shell_prompt);
    t.send(&["ls /left-behind && echo found-it", "Enter"]);
    t.wait_for("the command's output", |s| {
        s.lines().any(|l| l.trim() == "found-it")
    });
    t.send(&["exit", "Enter"]);
    t.wait_text("exited with 0");
    // `d` without a mark: what the failed RUN changed, against the state before it.
    t.send(&["d"]);
    let screen = t.wait_text("1 added · 0 removed");
    assert!(screen.contains("left-behind"), "{screen}");
    assert!(screen.contains("left by "), "{screen}");
    t.send(&["d"]);
    t.wait_for("the diff view to close", |s| {
        !s.contains("1 added · 0 removed")
    });
    t.send(&["s"]);
    let screen = t.wait_text("changes are thrown away");
    assert!(
        screen.contains("test -e /nope && echo never"),
        "the failing command is not printed:\n{screen}"
    );
    t.wait_for("the shell's prompt", shell_prompt);
    t.send(&[
        "cat /before.txt; ls /left-behind || echo not-before",
        "Enter",
    ]);
    t.wait_for("the command's output", |s| {
        s.lines().any(|l| l.trim() == "not-before")
    });
    t.wait_for("the earlier step's file", |s| {
        s.lines().any(|l| l.trim() == "before")
    });
    t.send(&["exit", "Enter"]);
    t.wait_text("exited with 0");
    t.send(&["q"]);
    let screen = t.wait_text("END");
    assert!(screen.contains("exit="), "{screen}");
}

#[test]
fn m_and_d_diff_two_stages_with_the_summary_and_a_text_diff() {
    let f = common::Fixture::new();
    f.dockerfile(
        "FROM busybox AS builder\n\
         RUN echo one > /motd && head -c 300000 /dev/zero > /big.o\n\
         FROM busybox AS final\n\
         COPY --from=builder /motd /motd.builder\n\
         RUN echo two > /motd\n",
    );
    let args = format!(
        "--root {} build --progress=tty {}",
        f.root().display(),
        f.ctx.path().display()
    );
    let t = start("diff", &args);
    let screen = t.wait_for("the build to finish", |s| {
        s.contains("✓ built") || s.contains("✗ failed")
    });
    assert!(screen.contains("✓ built"), "build failed:\n{screen}");
    // The target (final) is selected in the graph; steps pane ← goes to builder; mark it there.
    t.send(&["Tab", "Left", "BTab", "m"]);
    t.wait_text("marked builder");
    t.send(&["Tab", "Right", "BTab", "d"]);
    let screen = t.wait_text("of builder never shipped");
    assert!(screen.contains("builder → final"), "{screen}");
    assert!(screen.contains("big.o"), "{screen}");
    // Largest change first (the removed object file); the next is /motd, modified: its text diff.
    t.send(&["j"]);
    let screen = t.wait_text("+two");
    assert!(screen.contains("-one"), "{screen}");
    // An added text file is shown whole.
    t.send(&["j"]);
    let screen = t.wait_text("+one");
    assert!(screen.contains("added: file 4 B"), "{screen}");
    t.send(&["Escape"]);
    t.wait_for("the diff view to close", |s| !s.contains("never shipped"));
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn the_layer_tree_shows_provenance_through_chained_copy_from() {
    let f = common::Fixture::new();
    f.dockerfile(
        "FROM busybox AS builder\n\
         RUN echo made-in-builder > /out.txt\n\
         FROM busybox AS mid\n\
         COPY --from=builder /out.txt /mid.txt\n\
         FROM scratch AS final\n\
         COPY --from=mid /mid.txt /app.txt\n",
    );
    let args = format!(
        "--root {} build --progress=tty {}",
        f.root().display(),
        f.ctx.path().display()
    );
    let t = start("provenance", &args);
    let screen = t.wait_for("the build to finish", |s| {
        s.contains("✓ built") || s.contains("✗ failed")
    });
    assert!(screen.contains("✓ built"), "build failed:\n{screen}");
    // The target's last step, its layer tree: /app.txt with its origin in the column.
    t.send(&["Tab", "G", "t"]);
    let screen = t.wait_text("⇐ builder/1 L2");
    assert!(screen.contains("app.txt"), "{screen}");
    t.send(&["p"]);
    let screen = t.wait_text("created by");
    assert!(
        screen.contains("RUN echo made-in-builder > /out.txt"),
        "{screen}"
    );
    assert!(
        screen.contains("COPY --from=mid /mid.txt /app.txt"),
        "{screen}"
    );
    assert!(
        screen.contains("COPY --from=builder /out.txt /mid.txt"),
        "{screen}"
    );
    assert!(screen.contains("line 2"), "{screen}");
    t.send(&["Escape"]);
    t.wait_for("the popup to close", |s| !s.contains("created by"));
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn a_lesson_opens_beside_its_build_and_a_applies_the_next_try_step() {
    let store = tempfile::tempdir().unwrap();
    let t = start(
        "lesson",
        &format!("--root {} learn 6", store.path().display()),
    );
    // The lesson text on the left, the first run's numbers from the build and explain.
    let screen = t.wait_text("#1 Dockerfile: image");
    assert!(screen.contains("lesson 6"), "{screen}");
    assert!(screen.contains("▶ 1. Chain the three commands"), "{screen}");
    let screen = t.wait_text("wasted (explain)");
    assert!(screen.contains("2.0 MB wasted"), "{screen}");
    t.send(&["a"]);
    let screen = t.wait_text("#2 Dockerfile.chained: image");
    assert!(screen.contains("✓ 1. Chain the three commands"), "{screen}");
    t.wait_for("the second run's explain", |s| {
        s.lines().filter(|l| l.contains("wasted (explain)")).count() == 2
    });
    assert!(t.screen().contains("0 B wasted"));
    // `e` on the selected step: the plain-words explanation of the chained RUN.
    t.send(&["2", "e"]);
    // The popup's last line: a capture can land mid-frame, so wait for the end of it.
    let screen = t.wait_text("e or any key closes");
    assert!(screen.contains("RUN executes"), "{screen}");
    t.send(&["q"]);
    assert_clean_exit(&t);
}

#[test]
fn w_watches_a_live_build_and_an_edit_rebuilds_in_the_same_tui() {
    let f = common::Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo one\nCOPY a.txt /a.txt\n");
    f.write("a.txt", "v1\n");
    let args = format!(
        "--root {} build --progress=tty {}",
        f.root().display(),
        f.ctx.path().display()
    );
    let t = start("watch", &args);
    let screen = t.wait_text("✓ built");
    assert!(!screen.contains("◉ watching"), "{screen}");
    t.send(&["w"]);
    t.wait_text("◉ watching");
    f.write("a.txt", "v2\n");
    // The new run: RUN echo one from the cache, the COPY rebuilt because a.txt changed.
    let screen = t.wait_for("the rebuild", |s| {
        s.contains("✓ built")
            && s.lines()
                .any(|l| l.contains("RUN echo one") && l.contains("hit"))
    });
    assert!(screen.contains("◉ watching"), "{screen}");
    t.send(&["2", "G", "e"]);
    let screen = t.wait_text("e or any key closes");
    assert!(screen.contains("files changed: a.txt"), "{screen}");
    t.send(&["Escape", "q"]);
    assert_clean_exit(&t);
}
