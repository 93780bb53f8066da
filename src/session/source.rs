//! What each build of a session builds: fixed options, or a lesson's working copy as its steps
//! change it.

use crate::engine::BuildOptions;
use crate::lesson::Workspace;
use crate::ui::tui::teach::LessonInfo;

pub enum Source {
    Options(Box<BuildOptions>),
    Lesson(Box<Workspace>),
}

impl Source {
    pub fn options(&self) -> Result<BuildOptions, String> {
        match self {
            Source::Options(o) => Ok((**o).clone()),
            Source::Lesson(ws) => ws.options(),
        }
    }

    /// What a run table calls the build: the Dockerfile and target.
    pub fn label(opts: &BuildOptions) -> String {
        let file = opts
            .dockerfile
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match &opts.target {
            Some(t) => format!("{file} --target {t}"),
            None => file,
        }
    }

    /// The lesson pane's content, when this is a lesson.
    pub fn lesson(&self) -> Option<LessonInfo> {
        let Source::Lesson(ws) = self else {
            return None;
        };
        let l = &ws.lesson;
        Some(LessonInfo {
            number: l.number,
            title: l.title().to_string(),
            text: l.text.clone(),
            steps: l
                .manifest
                .steps
                .iter()
                .map(|s| (s.title.clone(), s.look.clone()))
                .collect(),
            workdir: ws.path().display().to_string(),
        })
    }
}
