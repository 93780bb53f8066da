//! Teaching state: the driver link's messages, the lesson pane and watch mode.

use ratatui::layout::Rect;
use tokio::sync::mpsc;

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
