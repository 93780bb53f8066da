//! Shell-word expansion with BuildKit's semantics (`frontend/dockerfile/shell/lex.go`).
//!
//! BuildKit expands variables itself (not via `/bin/sh`) in these instructions, against the stage's
//! current ARG and ENV values: ADD, COPY (sources, destination, `--chown`, `--chmod`, `--from`,
//! heredoc bodies whose delimiter is unquoted), ENV, LABEL, ARG (default values), EXPOSE, USER,
//! VOLUME, WORKDIR, STOPSIGNAL, `RUN --mount` options, `FROM` (image and `--platform`, against the
//! global ARGs only) and ONBUILD triggers when they run. RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK
//! are left to the container's shell.

#[cfg(test)]
mod growth_tests;
mod lex;
pub mod limits;
mod pattern;

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use lex::Lexer;

/// Where expansion looks variables up.
pub trait Vars {
    fn var(&self, name: &str) -> Option<String>;
}

impl Vars for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Vars for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Vars for [(String, String)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Adapts a closure: `FnVars(|name| ...)`.
pub struct FnVars<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Vars for FnVars<F> {
    fn var(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

/// The result of one expansion: the single word, the field-split words, and which variables
/// were looked up and found (`matched`) or not (`unmatched`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    pub word: String,
    pub words: Vec<String>,
    pub matched: BTreeSet<String>,
    pub unmatched: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ShellError {
    pub word: String,
    pub reason: String,
    /// A size limit of [`limits`] was reached (the planner reports these even where it otherwise
    /// leaves expansion errors to the engine).
    pub too_large: bool,
}

/// How much of the word an error quotes: a 1 MB line is not worth repeating.
const QUOTED: usize = 200;

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.word.char_indices().nth(QUOTED) {
            None => write!(f, "failed to process {:?}: {}", self.word, self.reason),
            Some((cut, _)) => write!(
                f,
                "failed to process {:?} (+{} more bytes): {}",
                &self.word[..cut],
                self.word.len() - cut,
                self.reason
            ),
        }
    }
}

/// Expands `word` as one word (BuildKit `ProcessWord`, escape `\`): quotes removed, no field splitting.
pub fn expand(word: &str, vars: &dyn Vars) -> Result<String, ShellError> {
    Lexer::new('\\').process(word, vars).map(|e| e.word)
}

/// Expands `word` into words (BuildKit `ProcessWords`): unquoted expansions are split on whitespace.
pub fn expand_words(word: &str, vars: &dyn Vars) -> Result<Vec<String>, ShellError> {
    Lexer::new('\\').process(word, vars).map(|e| e.words)
}
