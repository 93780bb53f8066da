//! `e` in the build UI: the selected step or stage explained from the recorded build's own data.
#![allow(clippy::unwrap_used, clippy::panic)]

mod tui_support;

use crossterm::event::KeyCode;
use stagecraft::ui::tui::layout::Pane;
use tui_support::{key, model_after, render, select};

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
    assert!(m.teach.explain.is_none());
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
