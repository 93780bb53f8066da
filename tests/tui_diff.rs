//! The TUI's diff view through `update`: `m` marks, `d` asks for a diff (an effect, computed off
//! the UI thread), the answer becomes a tree of changes with the summary line and text diffs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;

use common::tui::{key, model_after, render};
use crossterm::event::KeyCode;
use stagecraft::analyze::{FileTree, diff};
use stagecraft::ui::tui::diffview::{DiffPane, present};
use stagecraft::ui::tui::layout::Pane;
use stagecraft::ui::tui::{Change, Effect, Model, Msg, update};

/// Two real directories with known differences, compared by `analyze::diff`.
fn loaded(m: &mut Model, a: &str, b: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&da, &db] {
        fs::create_dir_all(d.join("etc")).unwrap();
    }
    fs::write(da.join("etc/motd"), "one\ntwo\n").unwrap();
    fs::write(db.join("etc/motd"), "one\nTWO\n").unwrap();
    fs::write(da.join("big.o"), vec![7u8; 5000]).unwrap();
    fs::write(db.join("app"), "bin").unwrap();
    let d = diff(
        &FileTree::from_dirs(&[da]).unwrap(),
        &FileTree::from_dirs(&[db]).unwrap(),
    )
    .unwrap();
    let data = present(a, b, d);
    update(
        m,
        Msg::DiffLoaded {
            a_label: a.into(),
            b_label: b.into(),
            result: Ok(Box::new(data)),
        },
    );
}

fn ready(m: &Model) -> &stagecraft::ui::tui::diffview::DiffView {
    match m.diff() {
        Some(DiffPane::Ready(v)) => v,
        other => panic!("diff view not ready: {other:?}"),
    }
}

#[test]
fn mark_then_d_asks_for_a_diff_of_the_two_stages() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    assert_eq!(m.focus, Pane::Graph);
    assert!(key(&mut m, KeyCode::Char('d')).is_empty());
    assert!(m.notice.as_deref().unwrap().contains("m marks"));
    // Mark `deps`, go back to `final`, compare.
    let deps = m.build.stage_index("deps").unwrap();
    let fin = m.stage;
    m.stage = deps;
    key(&mut m, KeyCode::Char('m'));
    assert_eq!(m.mark.as_ref().unwrap().label, "deps");
    assert!(m.notice.as_deref().unwrap().contains("marked deps"));
    m.stage = fin;
    // The next key clears the notice; the status bar still offers the diff.
    key(&mut m, KeyCode::Char('j'));
    assert!(render(&m).contains("d diff with the mark"));
    m.stage = fin;
    let effects = key(&mut m, KeyCode::Char('d'));
    let [Effect::LoadDiff(req)] = effects.as_slice() else {
        panic!("expected one LoadDiff: {effects:?}")
    };
    assert_eq!(
        (req.a_label.as_str(), req.b_label.as_str()),
        ("deps", "final")
    );
    assert_eq!(req.b.after.as_ref().unwrap().stage, "final");
    assert!(matches!(m.diff(), Some(DiffPane::Loading { .. })));
    assert!(render(&m).contains("comparing deps with final"));
    // An answer for another pair is not this one.
    loaded(&mut m, "base", "final");
    assert!(matches!(m.diff(), Some(DiffPane::Loading { .. })));
    loaded(&mut m, "deps", "final");
    let v = ready(&m);
    assert!(
        v.summary
            .starts_with("deps 5.0 kB → final 11 B: 100.0% of deps never shipped"),
        "{}",
        v.summary
    );
    assert_eq!(v.counts, "1 added · 1 removed · 1 modified");
    // Marking the same state again clears the mark.
    m.overlay = stagecraft::ui::tui::state::overlay::Overlay::None;
    m.stage = deps;
    key(&mut m, KeyCode::Char('m'));
    assert!(m.mark.is_none());
}

#[test]
fn the_diff_view_walks_changes_and_shows_the_text_diff() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    let fin = m.stage;
    m.stage = m.build.stage_index("deps").unwrap();
    key(&mut m, KeyCode::Char('m'));
    m.stage = fin;
    key(&mut m, KeyCode::Char('d'));
    loaded(&mut m, "deps", "final");
    // Largest first: the removed object file, then the etc dir and the added app.
    let names: Vec<(String, Change)> = ready(&m)
        .tree
        .rows
        .iter()
        .filter_map(|r| match r {
            stagecraft::ui::tui::tree::Row::Node { id, .. } => {
                let n = ready(&m).tree.tree.node(*id);
                Some((n.name.to_string(), n.change))
            }
            _ => None,
        })
        .collect();
    assert_eq!(names[0], ("big.o".into(), Change::Removed));
    assert!(names.contains(&("app".into(), Change::Added)));
    let (path, detail) = ready(&m).selected_detail().unwrap();
    assert_eq!(path, "/big.o");
    assert!(detail.unwrap().what.starts_with("removed: file 5.0 kB"));
    // Down to etc, open it, down to motd: the unified diff.
    while ready(&m).selected_detail().unwrap().0 != "/etc" {
        key(&mut m, KeyCode::Char('j'));
    }
    key(&mut m, KeyCode::Char('l'));
    key(&mut m, KeyCode::Char('j'));
    let (path, detail) = ready(&m).selected_detail().unwrap();
    assert_eq!(path, "/etc/motd");
    let text = detail.unwrap().text.clone().unwrap();
    assert!(text.contains("-two\n+TWO\n"), "{text}");
    let screen = render(&m);
    assert!(screen.contains("deps 5.0 kB → final 11 B"), "{screen}");
    assert!(screen.contains("+TWO"), "{screen}");
    // Keys belong to the view: `t` does not open the layer tree; Esc closes, selection is kept.
    key(&mut m, KeyCode::Char('t'));
    assert!(!m.tree_open());
    key(&mut m, KeyCode::Esc);
    assert!(m.diff().is_none());
    assert_eq!(m.stage, fin);
}

#[test]
fn d_on_a_failed_step_without_a_mark_diffs_what_it_left_behind() {
    let mut m = model_after("failed.jsonl", 120, 40);
    assert_eq!(m.selected_step().unwrap().step.to_string(), "builder/4");
    let effects = key(&mut m, KeyCode::Char('d'));
    let [Effect::LoadDiff(req)] = effects.as_slice() else {
        panic!("expected one LoadDiff: {effects:?}")
    };
    assert_eq!(req.a_label, "before builder/4");
    assert_eq!(req.b_label, "left by builder/4");
    assert!(req.a.left.is_none());
    assert!(req.b.left.is_some(), "the leftovers go on top of B");
    assert_eq!(
        req.a.layers, req.b.layers,
        "both stand on the state before the step"
    );
}
