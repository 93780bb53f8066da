//! `e` in the build UI: the selected step or stage explained from the recorded build's own data.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::tui::{key, model_after, render, select};
use crossterm::event::KeyCode;
use stagecraft::ui::tui::layout::Pane;

#[test]
fn e_on_a_missed_step_shows_the_real_miss_reason_and_any_key_closes_it() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    select(&mut m, &"deps/1".parse().unwrap());
    m.focus = Pane::Steps;
    key(&mut m, KeyCode::Char('e'));
    let screen = render(&m);
    assert!(screen.contains("deps/1"), "{screen}");
    assert!(screen.contains("files changed: deps.txt"), "{screen}");
    assert!(screen.contains("same as last time (deps.txt)"), "{screen}");
    assert!(
        screen.contains("reaches the image through builder/2 COPY --from=deps"),
        "{screen}"
    );
    key(&mut m, KeyCode::Char('j'));
    assert!(m.explanation().is_none());
    assert_eq!(m.step, 1, "the closing key does nothing else");
    assert!(!render(&m).contains("same as last time"));
}

#[test]
fn e_on_a_skipped_stage_in_the_graph_gives_the_plans_reason() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    m.stage = m.build.stage_index("test").unwrap();
    m.focus = Pane::Graph;
    key(&mut m, KeyCode::Char('e'));
    let screen = render(&m);
    assert!(screen.contains("stage test"), "{screen}");
    assert!(
        screen.contains("Skipped: not needed by target final"),
        "{screen}"
    );
}

#[test]
fn w_and_a_without_a_driver_say_why_they_do_nothing() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    assert!(key(&mut m, KeyCode::Char('w')).is_empty());
    assert!(m.notice.as_deref().unwrap().contains("live build"));
    assert!(key(&mut m, KeyCode::Char('a')).is_empty());
    assert!(m.notice.as_deref().unwrap().contains("lesson"));
}

#[test]
fn the_lesson_pane_sits_beside_the_build_with_steps_runs_and_findings() {
    use stagecraft::ui::tui::teach::{LessonInfo, RunSummary};
    use stagecraft::ui::tui::{Msg, TeachNote, update};
    let mut m = model_after("multistage.jsonl", 140, 40);
    let info = LessonInfo {
        number: 6,
        title: "&& versus separate RUN layers".into(),
        text: "# 6. title\n\nEach `RUN` becomes a layer:\nthe files it added.\n\n## Try this\n1. hidden\n"
            .into(),
        steps: vec![("Chain them".into(), "One layer now.".into())],
        workdir: "/tmp/stagecraft-lesson-6-x".into(),
    };
    update(&mut m, Msg::Teach(TeachNote::Lesson(info)));
    update(
        &mut m,
        Msg::Teach(TeachNote::Run(RunSummary {
            label: "Dockerfile".into(),
            ok: true,
            image_size: 3_100_000,
            steps: 4,
            cached: 1,
            seconds: 0.4,
            findings: vec!["4 files, 2.0 MB wasted (explain)".into()],
        })),
    );
    let screen = render(&m);
    assert!(
        screen.contains("lesson 6: && versus separate RUN layers"),
        "{screen}"
    );
    assert!(
        screen.contains("Each RUN becomes a layer: the files it added."),
        "paragraph joined:\n{screen}"
    );
    assert!(
        !screen.contains("hidden"),
        "the try steps are listed with their state instead"
    );
    assert!(screen.contains("▶ 1. Chain them  [a]"), "{screen}");
    assert!(
        screen.contains("#1 Dockerfile: image 3.1 MB, 4 steps, 1 cached, 0.4 s"),
        "{screen}"
    );
    assert!(screen.contains("2.0 MB wasted (explain)"), "{screen}");
    // The build UI moved right of the pane.
    assert!(m.areas().graph.x >= m.teach.lesson_width(140));
    assert_eq!(
        key(&mut m, KeyCode::Char('a')),
        [stagecraft::ui::tui::Effect::Teach(
            stagecraft::ui::tui::TeachRequest::NextStep
        )]
    );
    update(&mut m, Msg::Teach(TeachNote::Applied(1)));
    let screen = render(&m);
    assert!(screen.contains("✓ 1. Chain them"), "{screen}");
    assert!(screen.contains("One layer now."), "{screen}");
}
