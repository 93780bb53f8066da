//! `.dockerignore` with Docker's semantics (moby/patternmatcher): patterns are cleaned paths relative
//! to the context root, `*` and `?` stay inside one path component, `**` spans any number of them,
//! `!` re-includes, the last matching pattern wins, and a pattern that matches a directory excludes
//! everything under it.

use regex::{Regex, RegexSet, RegexSetBuilder};

#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error(".dockerignore line {line}: invalid pattern {pattern:?}: {source}")]
    Pattern {
        line: usize,
        pattern: String,
        source: Box<regex::Error>,
    },
    #[error(".dockerignore line {line}: illegal exclusion pattern \"!\"")]
    BareExclusion { line: usize },
}

#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    exclusion: bool,
}

/// A compiled `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    /// All patterns in one automaton: a path (and each parent) is matched once, not once per
    /// pattern. `None` when empty or too large to compile; then each pattern is tried in turn.
    set: Option<RegexSet>,
}

/// Compiled-size bound for the set; past it matching falls back to one regex at a time.
const SET_SIZE_LIMIT: usize = 64 << 20;

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file. Comments (`#` at the start of a line) and blank lines
    /// are skipped; surrounding whitespace is trimmed, as Docker does.
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let exclusion = pattern.starts_with('!');
            if exclusion {
                pattern = pattern[1..].trim();
                if pattern.is_empty() {
                    return Err(IgnoreError::BareExclusion { line });
                }
            }
            let cleaned = clean_path(pattern);
            let cleaned = cleaned.trim_start_matches('/');
            if cleaned.is_empty() || cleaned == "." {
                continue;
            }
            let regex =
                Regex::new(&to_regex(cleaned, true)).map_err(|source| IgnoreError::Pattern {
                    line,
                    pattern: raw.to_string(),
                    source: Box::new(source),
                })?;
            patterns.push(Pattern { regex, exclusion });
        }
        let set = (!patterns.is_empty())
            .then(|| {
                RegexSetBuilder::new(patterns.iter().map(|p| p.regex.as_str()))
                    .size_limit(SET_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .flatten();
        Ok(Self { patterns, set })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True when `rel` (a `/`-separated path relative to the context root) is excluded from the context.
    /// The last pattern that matches the path or one of its parents decides, as in moby's
    /// patternmatcher: a `!` pattern re-includes, any other excludes.
    pub fn is_ignored(&self, rel: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let rel = rel.trim_start_matches("./").trim_start_matches('/');
        let last = |text: &str| match &self.set {
            Some(set) => set.matches(text).iter().next_back(),
            None => self.patterns.iter().rposition(|p| p.regex.is_match(text)),
        };
        let mut decisive = last(rel);
        for parent in parent_prefixes(rel) {
            decisive = decisive.max(last(parent));
        }
        decisive.is_some_and(|i| !self.patterns[i].exclusion)
    }

    /// The same rules matched one pattern at a time, as before the set existed: the reference
    /// the set is tested and benchmarked against (`benches/context_patterns.rs`).
    #[doc(hidden)]
    pub fn one_pattern_at_a_time(&self) -> Self {
        Self {
            patterns: self.patterns.clone(),
            set: None,
        }
    }

    /// True when some `!` pattern may re-include a path under an ignored directory, so a walker must
    /// descend into ignored directories instead of pruning them.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }
}

/// `a`, `a/b`, … for `a/b/c`: every proper ancestor of a relative path.
fn parent_prefixes(rel: &str) -> impl Iterator<Item = &str> {
    rel.match_indices('/').map(move |(i, _)| &rel[..i])
}

/// Go's `filepath.Clean` for `/`-separated paths.
pub fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|last| *last != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Translates a cleaned pattern to an anchored regex exactly as moby/patternmatcher does; with
/// `double_star` false, `**` is two plain stars as in Go's `filepath.Match` (COPY source globs).
pub(crate) fn to_regex(pattern: &str, double_star: bool) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if double_star && chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => {
                if let Some(next) = chars.get(i) {
                    i += 1;
                    re.push_str(&regex::escape(&next.to_string()));
                } else {
                    re.push_str(r"\\");
                }
            }
            '[' => {
                // Character classes pass through, with Go's `[^` / `[!` negation.
                re.push('[');
                if chars.get(i) == Some(&'!') {
                    re.push('^');
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '\\' || chars[i] == '[' {
                        re.push('\\');
                    }
                    re.push(chars[i]);
                    i += 1;
                }
                re.push(']');
                i += 1;
            }
            '.' | '$' | '+' | '(' | ')' | '{' | '}' | '|' | '^' | ']' => {
                re.push('\\');
                re.push(ch);
            }
            other => re.push(other),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).expect("parse")
    }

    #[test]
    fn star_stays_in_one_component() {
        let d = ignore("*.log\n");
        assert!(d.is_ignored("a.log"));
        assert!(!d.is_ignored("dir/a.log"));
    }

    #[test]
    fn double_star_spans_directories() {
        let d = ignore("**/*.log\n");
        assert!(d.is_ignored("a.log"));
        assert!(d.is_ignored("x/y/a.log"));
        let d = ignore("docs/**\n");
        assert!(d.is_ignored("docs/a/b"));
        assert!(!d.is_ignored("src/docs"));
    }

    #[test]
    fn directory_match_excludes_children() {
        let d = ignore("node_modules\n.git\n");
        assert!(d.is_ignored("node_modules/left-pad/index.js"));
        assert!(d.is_ignored(".git/HEAD"));
        assert!(!d.is_ignored("src/node_modules_x"));
    }

    #[test]
    fn exclusions_reinclude_and_last_wins() {
        let d = ignore("*.md\n!README.md\n");
        assert!(d.is_ignored("CHANGES.md"));
        assert!(!d.is_ignored("README.md"));
        let d = ignore("!README.md\n*.md\n");
        assert!(d.is_ignored("README.md"));
    }

    #[test]
    fn patterns_are_cleaned_and_rooted_at_the_context() {
        let d = ignore("/secret/../secret/./key\n./build\n");
        assert!(d.is_ignored("secret/key"));
        assert!(d.is_ignored("build/out"));
    }

    #[test]
    fn comments_blank_lines_and_classes() {
        let d = ignore("# a comment\n\n  tmp?  \nfile[0-9].txt\n");
        assert!(d.is_ignored("tmp1"));
        assert!(d.is_ignored("file7.txt"));
        assert!(!d.is_ignored("fileA.txt"));
        assert!(!d.is_ignored("# a comment"));
    }

    #[test]
    fn the_pattern_set_decides_as_each_pattern_in_turn() {
        let d = ignore(
            "docs\n!docs/keep\n**/*.log\n!**/keep.log\nbuild/*\n!build/out\nbuild/out/tmp\n",
        );
        let one_by_one = d.one_pattern_at_a_time();
        assert!(d.set.is_some());
        for path in [
            "docs",
            "docs/a",
            "docs/keep",
            "docs/keep/x",
            "a.log",
            "x/keep.log",
            "x/y.log",
            "build/a",
            "build/out",
            "build/out/tmp",
            "build/out/tmp/z",
            "src/main.rs",
        ] {
            assert_eq!(d.is_ignored(path), one_by_one.is_ignored(path), "{path}");
        }
        assert!(!d.is_ignored("docs/keep/x") && d.is_ignored("docs/a"));
        assert!(d.is_ignored("build/out/tmp/z") && !d.is_ignored("build/out"));
    }

    #[test]
    fn bare_bang_is_an_error() {
        assert!(DockerIgnore::parse("!\n").is_err());
    }

    #[test]
    fn clean_path_matches_go() {
        assert_eq!(clean_path("a/./b/../c/"), "a/c");
        assert_eq!(clean_path("../x"), "../x");
        assert_eq!(clean_path("/../x"), "/x");
        assert_eq!(clean_path(""), ".");
    }
}
