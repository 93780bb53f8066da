//! Teaching in the build UI: the lesson pane beside the build (`stagecraft learn N`), watch mode's
//! state (`w`), and the `e` explanation popup. The build driver outside the UI sends
//! [`TeachNote`]s in and receives [`TeachRequest`]s; the state lives in `state::teach`.

use super::layout::Pane;
use super::model::Model;
use super::msg::Effect;
use super::narrate;
use super::state::overlay::Overlay;

pub use super::state::teach::{
    LessonInfo, LessonPane, RunSummary, TeachLink, TeachNote, TeachRequest, TeachState,
};

pub fn on_note(m: &mut Model, note: TeachNote) {
    let t = &mut m.teach;
    match note {
        TeachNote::Watching(on) => {
            let first = t.watching.is_none();
            t.watching = Some(on);
            if first && !on {
                return;
            }
            m.notice = Some(if on {
                "watching the Dockerfile and context: an edit rebuilds (w stops)".into()
            } else {
                "not watching (w watches again)".into()
            });
        }
        TeachNote::Changed(files) => {
            let more = files.len().saturating_sub(3);
            let mut list = files.into_iter().take(3).collect::<Vec<_>>().join(", ");
            if more > 0 {
                list.push_str(&format!(" (+{more} more)"));
            }
            m.notice = Some(format!("changed: {list}: rebuilding"));
        }
        TeachNote::Lesson(info) => {
            t.lesson = Some(LessonPane {
                info,
                applied: 0,
                runs: Vec::new(),
                scroll: 0,
            })
        }
        TeachNote::Applied(n) => {
            if let Some(l) = &mut t.lesson {
                l.applied = n;
                // Show the step just applied: its "look" text is at the bottom.
                l.scroll = u16::MAX;
            }
        }
        TeachNote::Run(run) => {
            if let Some(l) = &mut t.lesson {
                l.runs.push(run);
            }
        }
        TeachNote::Error(e) => m.notice = Some(e),
    }
}

/// `e`: the selected step (or, in the graph, the stage) in plain words; `e` again closes it.
pub fn explain(m: &mut Model) -> Vec<Effect> {
    if matches!(m.overlay, Overlay::Explain(_)) {
        m.overlay = Overlay::None;
        return Vec::new();
    }
    let now = m.clock();
    let explanation = if m.focus == Pane::Graph {
        narrate::stage(&m.build, m.stage)
    } else {
        narrate::step(&m.build, m.stage, m.step, now)
    };
    match explanation {
        Some(e) => m.overlay = Overlay::Explain(e),
        None => m.notice = Some("nothing selected to explain".into()),
    }
    Vec::new()
}

pub fn toggle_watch(m: &mut Model) -> Vec<Effect> {
    if m.teach.watching.is_none() {
        m.notice = Some("watch mode needs a live build (stagecraft build or learn)".into());
        return Vec::new();
    }
    vec![Effect::Teach(TeachRequest::ToggleWatch)]
}

pub fn next_step(m: &mut Model) -> Vec<Effect> {
    let Some(l) = &m.teach.lesson else {
        m.notice =
            Some("a opens the next \"try this\" step of a lesson (stagecraft learn N)".into());
        return Vec::new();
    };
    if l.applied >= l.info.steps.len() {
        m.notice = Some("every try step of this lesson is done".into());
        return Vec::new();
    }
    vec![Effect::Teach(TeachRequest::NextStep)]
}

pub fn scroll_lesson(m: &mut Model, by: i16) {
    let max = super::view::teach::max_scroll(m);
    if let Some(l) = &mut m.teach.lesson {
        l.scroll = l.scroll.min(max).saturating_add_signed(by).min(max);
    }
}
