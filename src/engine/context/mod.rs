//! The build context: the directory `COPY`/`ADD` read from, filtered by `.dockerignore`, and the
//! selection of sources a step names (globs, directories, files), which both copies and cache keys use.

pub mod digest;
pub mod dockerignore;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use regex::Regex;

pub use dockerignore::DockerIgnore;
use dockerignore::{clean_path, to_regex};

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("build context {}: {source}", cut(&.path.display().to_string()))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ignore(#[from] dockerignore::IgnoreError),
    #[error(
        "{:?} is outside the build context: COPY and ADD can only read files inside it",
        cut(.path)
    )]
    OutsideContext { path: String },
    #[error("{path:?} is a symlink to {target:?}, which points outside the build context")]
    SymlinkOutside { path: String, target: String },
    #[error("{path:?}: too many levels of symbolic links (a loop through {link:?})")]
    SymlinkLoop { path: String, link: String },
    #[error("{:?}: no such file or directory in {place}", cut(.path))]
    NotFound { path: String, place: &'static str },
    #[error("{:?}: no source files match this pattern", cut(.path))]
    NoMatch { path: String },
    #[error("invalid source pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
}

/// A name in an error, cut so a 1 MB path does not fill the screen.
fn cut(name: &str) -> String {
    crate::frontend::brief::line(name, 300)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ContextError + '_ {
    move |source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory files are copied from: the build context (with its `.dockerignore`) or a stage's or
/// image's root filesystem (no ignore rules, symlinks resolved inside it).
#[derive(Debug, Clone)]
pub struct SourceTree {
    pub root: PathBuf,
    pub ignore: DockerIgnore,
    /// For a build context: symlinks that lead outside it are an error. For a rootfs they are
    /// resolved inside it, as the container would.
    pub is_context: bool,
}

/// One source a step named, after globbing: a path relative to the tree's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Path relative to the tree root, `.` for the root itself. A path, not a `String`: file names
    /// are bytes, and one that is not UTF-8 must still name the same file.
    pub rel: PathBuf,
    /// The path as it was written in the instruction (for messages and `--parents`).
    pub pattern: String,
    pub is_dir: bool,
}

impl SourceTree {
    /// The build context at `root`, reading `<dockerfile>.dockerignore` next to the Dockerfile if it
    /// exists, else `.dockerignore` at the context root (BuildKit's order).
    pub fn context(root: &Path, dockerfile: Option<&Path>) -> Result<Self, ContextError> {
        let root = fs::canonicalize(root).map_err(io_err(root))?;
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile
            && let Some(name) = df.file_name()
        {
            let mut n = name.to_os_string();
            n.push(".dockerignore");
            candidates.push(df.with_file_name(n));
        }
        candidates.push(root.join(".dockerignore"));
        let mut ignore = DockerIgnore::default();
        for c in candidates {
            match fs::read_to_string(&c) {
                Ok(text) => {
                    ignore = DockerIgnore::parse(&text)?;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&c)(e)),
            }
        }
        Ok(Self {
            root,
            ignore,
            is_context: true,
        })
    }

    /// A root filesystem (a stage's or an image's) as a copy source.
    pub fn rootfs(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            ignore: DockerIgnore::default(),
            is_context: false,
        }
    }

    /// Where a missing source was looked for, so the message does not send the user to the context
    /// when `COPY --from` named a stage or an image.
    fn place(&self) -> &'static str {
        if self.is_context {
            "the build context"
        } else {
            "the --from stage's or image's filesystem"
        }
    }

    /// Resolves the sources an instruction names to existing paths. Globs (`*`, `?`, `[..]`) match
    /// per path component as Go's `filepath.Match`; a glob that matches nothing is an error, as in
    /// BuildKit.
    pub fn select(&self, sources: &[String]) -> Result<Vec<Selected>, ContextError> {
        let mut out = Vec::new();
        for source in sources {
            let cleaned = clean_path(source.trim_start_matches('/'));
            if cleaned == ".." || cleaned.starts_with("../") {
                return Err(ContextError::OutsideContext {
                    path: source.clone(),
                });
            }
            if has_glob(&cleaned) {
                let before = out.len();
                self.glob(&cleaned, source, &mut out)?;
                if out.len() == before {
                    return Err(ContextError::NoMatch {
                        path: source.clone(),
                    });
                }
            } else {
                out.push(self.resolve_one(cleaned.as_bytes(), source)?);
            }
        }
        Ok(out)
    }

    fn resolve_one(&self, cleaned: &[u8], pattern: &str) -> Result<Selected, ContextError> {
        let rel = self.resolve_rel(cleaned, pattern)?;
        let path = self.abs(&rel);
        let meta = fs::metadata(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ContextError::NotFound {
                path: pattern.to_string(),
                place: self.place(),
            },
            _ => io_err(&path)(e),
        })?;
        if rel != Path::new(".") && self.ignore.is_ignored(&text(&rel)) {
            return Err(ContextError::NotFound {
                path: pattern.to_string(),
                place: self.place(),
            });
        }
        Ok(Selected {
            rel,
            pattern: pattern.to_string(),
            is_dir: meta.is_dir(),
        })
    }

    /// Follows symlinks along `cleaned` inside the tree; for a build context a link that leads out of
    /// it is an error rather than silently re-rooted. Link targets are split as bytes.
    fn resolve_rel(&self, cleaned: &[u8], pattern: &str) -> Result<PathBuf, ContextError> {
        if cleaned == b"." {
            return Ok(".".into());
        }
        let mut parts: Vec<OsString> = Vec::new();
        let mut pending: Vec<OsString> = split_bytes(cleaned);
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                if parts.pop().is_none() && self.is_context {
                    return Err(ContextError::OutsideContext {
                        path: pattern.to_string(),
                    });
                }
                continue;
            }
            if part == "." || part.is_empty() {
                continue;
            }
            let candidate = self.root.join(join_rel(&parts)).join(&part);
            match fs::symlink_metadata(&candidate) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    let target = fs::read_link(&candidate).map_err(io_err(&candidate))?;
                    let absolute = target.as_os_str().as_bytes().starts_with(b"/");
                    // A link to itself (or any loop) is inside the tree, only unresolvable.
                    if hops > 40 {
                        return Err(ContextError::SymlinkLoop {
                            path: pattern.to_string(),
                            link: join_rel(&parts).join(&part).display().to_string(),
                        });
                    }
                    if self.is_context && absolute {
                        return Err(ContextError::SymlinkOutside {
                            path: pattern.to_string(),
                            target: target.to_string_lossy().into_owned(),
                        });
                    }
                    if absolute {
                        parts.clear();
                    }
                    pending.extend(split_bytes(target.as_os_str().as_bytes()));
                }
                _ => parts.push(part),
            }
        }
        Ok(if parts.is_empty() {
            ".".into()
        } else {
            join_rel(&parts)
        })
    }

    /// Matches a glob one path component at a time, as Go's `filepath.Glob`: a literal
    /// component is looked up, a wildcard one lists only the directories reached so far. The
    /// cost follows what the pattern can reach, not the size of the tree (50 globs over a
    /// 100k-file context listed the whole tree 50 times before). Symlinked directories are not
    /// entered (a match through them would resolve outside the tree's rules).
    fn glob(
        &self,
        cleaned: &str,
        pattern: &str,
        out: &mut Vec<Selected>,
    ) -> Result<(), ContextError> {
        let mut reached: Vec<PathBuf> = vec![PathBuf::new()];
        for part in cleaned.split('/') {
            let mut next = Vec::new();
            if has_glob(part) || part.contains('\\') {
                let regex =
                    Regex::new(&to_regex(part, false)).map_err(|e| ContextError::Pattern {
                        pattern: pattern.to_string(),
                        message: e.to_string(),
                    })?;
                for dir in &reached {
                    for name in self.list_dir(dir)? {
                        if regex.is_match(&name.to_string_lossy()) {
                            next.push(dir.join(name));
                        }
                    }
                }
            } else {
                for dir in &reached {
                    let rel = dir.join(part);
                    if self.is_real_dir(dir) && fs::symlink_metadata(self.root.join(&rel)).is_ok() {
                        next.push(rel);
                    }
                }
            }
            reached = next;
        }
        for rel in reached {
            if !self.ignore.is_ignored(&text(&rel)) {
                out.push(self.resolve_one(rel.as_os_str().as_bytes(), pattern)?);
            }
        }
        Ok(())
    }

    /// Whether `dir` (relative) is a directory itself, not a symlink to one.
    fn is_real_dir(&self, dir: &Path) -> bool {
        fs::symlink_metadata(self.root.join(dir)).is_ok_and(|m| m.is_dir())
    }

    /// The sorted names in `dir` (relative) when it is a real directory; nothing otherwise.
    fn list_dir(&self, dir: &Path) -> Result<Vec<OsString>, ContextError> {
        if !self.is_real_dir(dir) {
            return Ok(Vec::new());
        }
        let path = self.root.join(dir);
        let mut names = Vec::new();
        for entry in fs::read_dir(&path).map_err(io_err(&path))? {
            names.push(entry.map_err(io_err(&path))?.file_name());
        }
        names.sort();
        Ok(names)
    }

    pub fn abs(&self, rel: &Path) -> PathBuf {
        if rel == Path::new(".") {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// `path` relative to the tree's root (`.` for the root), its bytes kept.
    pub fn rel_of(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        if rel.as_os_str().is_empty() {
            ".".into()
        } else {
            rel.to_path_buf()
        }
    }
}

/// The text patterns (`.dockerignore`, globs, `--exclude`) are matched against: a name that is not
/// UTF-8 reads with U+FFFD for each bad sequence, which `?` and `*` match as one character, as Go's
/// `filepath.Match` treats an invalid byte as one rune.
pub fn text(rel: &Path) -> std::borrow::Cow<'_, str> {
    rel.to_string_lossy()
}

/// `a/b/c` as its components, last first (a stack to pop), bytes kept.
fn split_bytes(path: &[u8]) -> Vec<OsString> {
    path.split(|b| *b == b'/')
        .rev()
        .map(|p| OsStr::from_bytes(p).to_os_string())
        .collect()
}

fn join_rel(parts: &[OsString]) -> PathBuf {
    parts.iter().collect()
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}
