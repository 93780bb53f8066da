//! Lessons: small Dockerfiles under `examples/lessons/<N>-<name>/` that teach multi-stage builds by
//! letting a person watch them. Each has `lesson.md` (the text) and `lesson.toml` (how to build it
//! and the "try this" edits, which [`Workspace`] applies to a private copy, never to the lesson).

pub mod base;
pub mod workspace;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("no lesson {number} (`stagecraft learn` lists them)")]
    NotFound { number: u32 },
    #[error("{dir}: a lesson directory is named <N>-<name>")]
    BadName { dir: PathBuf },
    #[error("try step {step} of lesson {lesson}: {file}: the text {find:?} is not there")]
    EditMissing {
        lesson: u32,
        step: usize,
        file: String,
        find: String,
    },
    #[error("try step {step} of lesson {lesson}: {path:?} is not inside the lesson")]
    OutsideLesson {
        lesson: u32,
        step: usize,
        path: String,
    },
    #[error("lesson {lesson} has {count} try steps; there is no step {step}")]
    NoSuchStep {
        lesson: u32,
        step: usize,
        count: usize,
    },
}

/// `lesson.toml`: how the lesson builds first, and its "try this" steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub title: String,
    /// One line for `stagecraft learn`.
    pub summary: String,
    #[serde(default)]
    pub build: BuildSpec,
    #[serde(default, rename = "try")]
    pub steps: Vec<TryStep>,
}

/// Build settings; a try step's settings replace these for the builds after it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// Dockerfile, relative to the lesson (default `Dockerfile`).
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    /// `id=ID,src=PATH` with PATH relative to the lesson.
    #[serde(default)]
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TryStep {
    pub title: String,
    /// What to look at after the rebuild.
    pub look: String,
    #[serde(flatten)]
    pub build: BuildSpec,
    #[serde(default, rename = "edit")]
    pub edits: Vec<Edit>,
}

/// A change to one file of the working copy: replace `find` by `replace`, or append `append`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub file: String,
    pub find: Option<String>,
    #[serde(default)]
    pub replace: String,
    pub append: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub number: u32,
    /// Directory name without the number: `one-vs-two-stages`.
    pub name: String,
    pub dir: PathBuf,
    pub text: String,
    pub manifest: Manifest,
}

impl Lesson {
    pub fn load(dir: &Path) -> Result<Self, LessonError> {
        let base = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let (number, name) = base
            .split_once('-')
            .and_then(|(n, name)| Some((n.parse::<u32>().ok()?, name.to_string())))
            .ok_or_else(|| LessonError::BadName {
                dir: dir.to_path_buf(),
            })?;
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|source| LessonError::Io { path, source })
        };
        let toml_path = dir.join("lesson.toml");
        let manifest =
            toml::from_str(&read("lesson.toml")?).map_err(|source| LessonError::Toml {
                path: toml_path,
                source,
            })?;
        Ok(Self {
            number,
            name,
            dir: dir.to_path_buf(),
            text: read("lesson.md")?,
            manifest,
        })
    }

    pub fn title(&self) -> &str {
        &self.manifest.title
    }
}

/// Where the lessons are: `STAGECRAFT_LESSONS`, `./examples/lessons`, or the source tree this
/// binary was built from.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STAGECRAFT_LESSONS") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from("examples/lessons");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/lessons")
}

/// Every lesson under `dir`, by number.
pub fn list(dir: &Path) -> Result<Vec<Lesson>, LessonError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LessonError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut lessons = Vec::new();
    for entry in entries.flatten() {
        if entry.path().join("lesson.toml").is_file() {
            lessons.push(Lesson::load(&entry.path())?);
        }
    }
    lessons.sort_by_key(|l| l.number);
    Ok(lessons)
}

pub fn find(dir: &Path, number: u32) -> Result<Lesson, LessonError> {
    list(dir)?
        .into_iter()
        .find(|l| l.number == number)
        .ok_or(LessonError::NotFound { number })
}
