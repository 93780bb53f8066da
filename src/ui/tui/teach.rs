//! Teaching in the build UI: the lesson pane beside the build (`stagecraft learn N`), watch mode's
//! state (`w`), and the `e` explanation popup. The build driver outside the UI sends
//! [`TeachNote`]s in and receives [`TeachRequest`]s; everything here is plain state.

use ratatui::layout::Rect;
use tokio::sync::mpsc;

use super::layout::Pane;
use super::model::Model;
use super::msg::Effect;
use super::narrate::{self, Explanation};

/// What the UI asks of the driver that runs builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeachRequest {
    /// `w`: start or stop rebuilding on changes.
    ToggleWatch,
    /// `a`: apply the lesson's next "try this" step and rebuild.
    NextStep,
}

/// What the driver tells the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum TeachNote {
    /// Whether builds rerun on changes.
    Watching(bool),
    /// Files changed; a rebuild is starting (a running build was cancelled).
    Changed(Vec<String>),
    Lesson(LessonInfo),
    /// A try step was applied (how many are applied now).
    Applied(usize),
    /// A build ended: its numbers, for the lesson's run table.
    Run(RunSummary),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonInfo {
    pub number: u32,
    pub title: String,
    pub text: String,
    /// (title, what to look at) of each try step.
    pub steps: Vec<(String, String)>,
    /// The lesson's working copy, where edits (yours and the try steps') go.
    pub workdir: String,
}

/// One finished build, from its `build_finished` totals and an explain of its image.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// What was built: the Dockerfile and target.
    pub label: String,
    pub ok: bool,
    pub image_size: u64,
    pub steps: usize,
    pub cached: usize,
    pub seconds: f64,
    /// Findings of the image's analysis: wasted bytes, secrets, file count.
    pub findings: Vec<String>,
}

/// The two ends of the driver link, handed to `run` through `TuiOptions::teach`.
pub struct TeachLink {
    pub requests: mpsc::UnboundedSender<TeachRequest>,
    pub notes: mpsc::UnboundedReceiver<TeachNote>,
}

#[derive(Debug, Clone, Default)]
pub struct TeachState {
    /// `None`: no driver (a replay): `w` and `a` mean nothing.
    pub watching: Option<bool>,
    pub lesson: Option<LessonPane>,
    pub explain: Option<Explanation>,
}

#[derive(Debug, Clone)]
pub struct LessonPane {
    pub info: LessonInfo,
    pub applied: usize,
    pub runs: Vec<RunSummary>,
    pub scroll: u16,
}

impl TeachState {
    /// The part of the screen the build UI gets: all of it, or what the lesson pane leaves.
    pub fn build_area(&self, width: u16, height: u16) -> Rect {
        let lesson = self.lesson_width(width);
        Rect::new(lesson, 0, width.saturating_sub(lesson), height)
    }

    pub fn lesson_width(&self, width: u16) -> u16 {
        if self.lesson.is_none() || width < 60 {
            return 0;
        }
        (width * 2 / 5).clamp(30, 64)
    }
}

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
    if m.teach.explain.take().is_some() {
        return Vec::new();
    }
    let now = m.clock();
    m.teach.explain = if m.focus == Pane::Graph {
        narrate::stage(&m.build, m.stage)
    } else {
        narrate::step(&m.build, m.stage, m.step, now)
    };
    if m.teach.explain.is_none() {
        m.notice = Some("nothing selected to explain".into());
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
