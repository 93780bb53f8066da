//! The diff view: `m` marks a stage or step, `d` compares the marked one (before) with the
//! selected one (after). The comparison is `analyze::diff` on both filesystems, computed off the
//! UI thread; the view shows its changes as a tree (the layer tree's model and rows), the summary
//! line `diff` prints, and the unified text diff of the selected file.

use crossterm::event::{KeyCode, KeyEvent};

use super::build::StepState;
use super::layout::Pane;
use super::model::Model;
use super::msg::Effect;
use super::nav;
use super::shell;
use super::state::overlay::Overlay;
use super::tree::TreeView;
use crate::engine::event::StepRef;

pub use super::state::diff::{Detail, DiffData, DiffPane, DiffRequest, DiffView, Mark, present};

/// The state `m` or `d` acts on: the selected stage's last finished step in the graph, else the
/// selected step.
fn selection(m: &Model) -> Option<Mark> {
    if m.focus == Pane::Graph {
        let stage = m.selected_stage()?;
        let step = stage.steps.iter().rev().find(|s| s.state.is_finished())?;
        return Some(Mark {
            label: stage.label.clone(),
            step: step.step.clone(),
        });
    }
    let step = m.selected_step()?;
    Some(Mark {
        label: step.step.to_string(),
        step: step.step.clone(),
    })
}

/// `m`: marks the selection (again: clears the mark).
pub fn mark(m: &mut Model) -> Vec<Effect> {
    let Some(sel) = selection(m) else {
        m.notice = Some("nothing finished here yet: no filesystem to mark".into());
        return Vec::new();
    };
    if m.mark.as_ref() == Some(&sel) {
        m.mark = None;
        m.notice = Some("mark cleared".into());
    } else {
        m.notice = Some(format!(
            "marked {}: select another stage or step and press d to compare",
            sel.label
        ));
        m.mark = Some(sel);
    }
    Vec::new()
}

/// `d` on a failed step without a mark: what its RUN wrote before failing, against the state
/// before it (the kept leftovers, see `S`).
fn open_failed(m: &mut Model, step: StepRef) -> Vec<Effect> {
    let request = shell::request(&m.build, &step).and_then(|before| {
        shell::request_left(&m.build, &step).map(|left| DiffRequest {
            a_label: format!("before {step}"),
            b_label: format!("left by {step}"),
            a: before,
            b: left,
        })
    });
    match request {
        Ok(request) => {
            m.overlay = Overlay::Diff(Box::new(DiffPane::Loading {
                a_label: request.a_label.clone(),
                b_label: request.b_label.clone(),
            }));
            vec![Effect::LoadDiff(Box::new(request))]
        }
        Err(why) => {
            m.notice = Some(why);
            Vec::new()
        }
    }
}

/// `d`: compares the marked state with the selected one.
pub fn open(m: &mut Model) -> Vec<Effect> {
    let failed = m
        .selected_step()
        .filter(|s| s.state == StepState::Failed)
        .map(|s| s.step.clone());
    if let (None, Some(step)) = (&m.mark, failed) {
        return open_failed(m, step);
    }
    let Some(a) = m.mark.clone() else {
        m.notice =
            Some("m marks a stage or step first; d then compares it with the selection".into());
        return Vec::new();
    };
    let Some(b) = selection(m) else {
        m.notice = Some("nothing finished here yet: nothing to compare".into());
        return Vec::new();
    };
    let request = shell::request(&m.build, &a.step).and_then(|ra| {
        shell::request(&m.build, &b.step).map(|rb| DiffRequest {
            a_label: a.label.clone(),
            b_label: b.label.clone(),
            a: ra,
            b: rb,
        })
    });
    match request {
        Ok(request) => {
            m.overlay = Overlay::Diff(Box::new(DiffPane::Loading {
                a_label: a.label,
                b_label: b.label,
            }));
            vec![Effect::LoadDiff(Box::new(request))]
        }
        Err(why) => {
            m.notice = Some(why);
            Vec::new()
        }
    }
}

/// A diff computed off the UI thread arrives; one for another pair (the view was closed or
/// reopened since) is dropped.
pub fn loaded(m: &mut Model, a_label: &str, b_label: &str, result: Result<Box<DiffData>, String>) {
    let Some(DiffPane::Loading {
        a_label: a,
        b_label: b,
    }) = m.diff()
    else {
        return;
    };
    if (a.as_str(), b.as_str()) != (a_label, b_label) {
        return;
    }
    m.overlay = Overlay::Diff(Box::new(match result {
        Ok(data) => {
            let data = *data;
            let step = StepRef::new(b_label, 0);
            let mut tree = TreeView::new(step, data.tree);
            // Every row is a change: show the first level open.
            tree.expand();
            DiffPane::Ready(Box::new(DiffView {
                a_label: a_label.to_string(),
                b_label: b_label.to_string(),
                summary: data.summary,
                counts: data.counts,
                tree,
                details: data.details,
                text_scroll: 0,
            }))
        }
        Err(error) => DiffPane::Failed {
            a_label: a_label.to_string(),
            b_label: b_label.to_string(),
            error,
        },
    }));
}

/// Keys while the diff view is open: it has them all (Ctrl-C and `q` still quit).
pub fn on_key(m: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let rows = usize::from(tree_rows(m.height)).max(1);
    let Overlay::Diff(pane) = &mut m.overlay else {
        return Vec::new();
    };
    let DiffPane::Ready(view) = pane.as_mut() else {
        if matches!(key.code, KeyCode::Esc | KeyCode::Char('d')) {
            m.overlay = Overlay::None;
        } else if key.code == KeyCode::Char('q') {
            return nav::quit(m);
        }
        return Vec::new();
    };
    let before = view.tree.selected;
    match key.code {
        KeyCode::Esc | KeyCode::Char('d') => {
            m.overlay = Overlay::None;
            return Vec::new();
        }
        KeyCode::Char('q') => return nav::quit(m),
        KeyCode::Up | KeyCode::Char('k') => view.tree.select(-1),
        KeyCode::Down | KeyCode::Char('j') => view.tree.select(1),
        KeyCode::Left | KeyCode::Char('h') => view.tree.collapse(),
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Enter => view.tree.expand(),
        KeyCode::Home | KeyCode::Char('g') => view.tree.selected = 0,
        KeyCode::End | KeyCode::Char('G') => view.tree.select(isize::MAX / 2),
        KeyCode::Char('s') => view.tree.toggle_sort(),
        KeyCode::PageDown | KeyCode::Char('J') => view.text_scroll += rows / 2,
        KeyCode::PageUp | KeyCode::Char('K') => {
            view.text_scroll = view.text_scroll.saturating_sub(rows / 2)
        }
        _ => {}
    }
    if view.tree.selected != before {
        view.text_scroll = 0;
    }
    // Keep the selection on screen.
    let t = &mut view.tree;
    if t.selected < t.scroll {
        t.scroll = t.selected;
    } else if t.selected >= t.scroll + rows {
        t.scroll = t.selected + 1 - rows;
    }
    Vec::new()
}

/// Tree rows that fit: the screen minus the outer border, two summary lines, the inner borders
/// and the tree's header line.
pub fn tree_rows(height: u16) -> u16 {
    height.saturating_sub(2 + 2 + 2 + 1)
}
