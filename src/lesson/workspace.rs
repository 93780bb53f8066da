//! A lesson's working copy: the lesson directory copied to a temporary directory, where the "try
//! this" edits land. The repository's files are never changed.

use std::path::{Component, Path, PathBuf};

use super::{BuildSpec, Edit, Lesson, LessonError, TryStep};
use crate::engine::{BuildOptions, SecretSpec};

pub struct Workspace {
    pub lesson: Lesson,
    dir: tempfile::TempDir,
    /// Settings of the next build: the lesson's, as changed by the steps applied so far.
    pub spec: BuildSpec,
    /// How many try steps have been applied.
    pub applied: usize,
}

impl Workspace {
    pub fn new(lesson: Lesson) -> Result<Self, LessonError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LessonError::Io { path, source }
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("stagecraft-lesson-{}-", lesson.number))
            .tempdir()
            .map_err(io(&std::env::temp_dir()))?;
        copy_tree(&lesson.dir, dir.path()).map_err(io(&lesson.dir))?;
        Ok(Self {
            spec: lesson.manifest.build.clone(),
            lesson,
            dir,
            applied: 0,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn next_step(&self) -> Option<&TryStep> {
        self.lesson.manifest.steps.get(self.applied)
    }

    /// Applies the next try step; returns it, or `None` when every step is done.
    pub fn apply_next(&mut self) -> Result<Option<TryStep>, LessonError> {
        let Some(step) = self.next_step().cloned() else {
            return Ok(None);
        };
        self.apply(self.applied, &step)?;
        self.applied += 1;
        Ok(Some(step))
    }

    fn apply(&mut self, index: usize, step: &TryStep) -> Result<(), LessonError> {
        for edit in &step.edits {
            self.edit(index, edit)?;
        }
        if step.build.dockerfile.is_some() {
            self.spec.dockerfile = step.build.dockerfile.clone();
        }
        if step.build.target.is_some() {
            // `target = ""` goes back to the default target.
            self.spec.target = step.build.target.clone().filter(|t| !t.is_empty());
        }
        if !step.build.secrets.is_empty() {
            self.spec.secrets = step.build.secrets.clone();
        }
        Ok(())
    }

    fn edit(&self, step: usize, edit: &Edit) -> Result<(), LessonError> {
        let path = self.inside(step, &edit.file)?;
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(find) = &edit.find {
            if !text.contains(find.as_str()) {
                return Err(LessonError::EditMissing {
                    lesson: self.lesson.number,
                    step,
                    file: edit.file.clone(),
                    find: find.clone(),
                });
            }
            text = text.replacen(find.as_str(), &edit.replace, 1);
        }
        if let Some(more) = &edit.append {
            text.push_str(more);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| LessonError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| LessonError::Io { path, source })
    }

    /// A path of the working copy, refusing anything that would leave it.
    fn inside(&self, step: usize, rel: &str) -> Result<PathBuf, LessonError> {
        let ok = Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !ok || rel.is_empty() {
            return Err(LessonError::OutsideLesson {
                lesson: self.lesson.number,
                step,
                path: rel.to_string(),
            });
        }
        Ok(self.path().join(rel))
    }

    pub fn dockerfile(&self) -> PathBuf {
        self.path()
            .join(self.spec.dockerfile.as_deref().unwrap_or("Dockerfile"))
    }

    /// `stagecraft build` flags for the next build, relative to the working copy.
    pub fn build_args(&self) -> Vec<String> {
        let mut args = vec!["-f".to_string(), self.dockerfile().display().to_string()];
        if let Some(t) = &self.spec.target {
            args.extend(["--target".to_string(), t.clone()]);
        }
        for s in self.secrets() {
            args.extend(["--secret".to_string(), s]);
        }
        args.push(self.path().display().to_string());
        args
    }

    /// The secrets with their `src=` made absolute in the working copy.
    fn secrets(&self) -> Vec<String> {
        self.spec
            .secrets
            .iter()
            .map(|s| {
                s.split(',')
                    .map(|part| match part.split_once('=') {
                        Some(("src" | "source", p)) => {
                            format!("src={}", self.path().join(p).display())
                        }
                        _ => part.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    /// The library's options for the next build.
    pub fn options(&self) -> Result<BuildOptions, String> {
        let mut opts = BuildOptions::new(self.path().to_path_buf());
        opts.dockerfile = self.dockerfile();
        opts.target = self.spec.target.clone();
        opts.secrets = self
            .secrets()
            .iter()
            .map(|s| s.parse::<SecretSpec>())
            .collect::<Result<_, _>>()?;
        Ok(opts)
    }
}

/// Copies files, directories and symlinks; permissions come along, owners do not matter here.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        let dest = to.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::lesson::Lesson;

    fn lesson(dir: &Path, toml: &str) -> Lesson {
        std::fs::write(dir.join("lesson.toml"), toml).unwrap();
        std::fs::write(dir.join("lesson.md"), "# text").unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY a /a\n").unwrap();
        Lesson::load(dir).unwrap()
    }

    #[test]
    fn steps_edit_the_copy_and_change_the_build() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("3-demo");
        std::fs::create_dir(&dir).unwrap();
        let l = lesson(
            &dir,
            r#"title = "t"
summary = "s"
[[try]]
title = "one"
look = "l"
target = "x"
edit = [{ file = "Dockerfile", find = "/a", replace = "/b" }, { file = "src/new", append = "hi" }]
[[try]]
title = "two"
look = "l"
dockerfile = "Other"
target = ""
secrets = ["id=t,src=tok"]
"#,
        );
        assert_eq!(l.number, 3);
        assert_eq!(l.name, "demo");
        let mut w = Workspace::new(l).unwrap();
        assert_eq!(w.apply_next().unwrap().unwrap().title, "one");
        let df = std::fs::read_to_string(w.path().join("Dockerfile")).unwrap();
        assert_eq!(df, "FROM busybox\nCOPY a /b\n");
        assert_eq!(
            std::fs::read_to_string(w.path().join("src/new")).unwrap(),
            "hi"
        );
        // The lesson itself is untouched.
        assert!(
            std::fs::read_to_string(dir.join("Dockerfile"))
                .unwrap()
                .contains("/a")
        );
        assert_eq!(w.spec.target.as_deref(), Some("x"));
        w.apply_next().unwrap();
        assert_eq!(w.spec.target, None);
        assert!(w.dockerfile().ends_with("Other"));
        let args = w.build_args().join(" ");
        assert!(
            args.contains(&format!("src={}/tok", w.path().display())),
            "{args}"
        );
        assert!(w.apply_next().unwrap().is_none());
    }

    #[test]
    fn an_edit_that_does_not_match_or_leaves_the_copy_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("1-x");
        std::fs::create_dir(&dir).unwrap();
        let l = lesson(
            &dir,
            "title = \"t\"\nsummary = \"s\"\n[[try]]\ntitle = \"a\"\nlook = \"l\"\nedit = [{ file = \"Dockerfile\", find = \"nope\" }]\n[[try]]\ntitle = \"b\"\nlook = \"l\"\nedit = [{ file = \"../x\", append = \"\" }]\n",
        );
        let mut w = Workspace::new(l).unwrap();
        assert!(matches!(
            w.apply_next(),
            Err(LessonError::EditMissing { .. })
        ));
        w.applied = 1;
        assert!(matches!(
            w.apply_next(),
            Err(LessonError::OutsideLesson { .. })
        ));
    }
}
