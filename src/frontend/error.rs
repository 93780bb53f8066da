//! Front-end errors: what went wrong and where (file:line:col plus the source for miette).

use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("unknown instruction \"{0}\"")]
    UnknownInstruction(String),
    #[error("{0}")]
    Syntax(String),
    #[error("unknown flag: --{flag} (for {instruction})")]
    UnknownFlag { instruction: String, flag: String },
    #[error("{0}")]
    Flag(String),
    #[error(transparent)]
    Shell(#[from] crate::frontend::shell::ShellError),
    #[error("the Dockerfile has no FROM instruction")]
    NoStage,
    #[error("{0} must come after a FROM instruction")]
    BeforeFrom(String),
    #[error("duplicate stage name \"{name}\" (first used by stage {first})")]
    DuplicateStage { name: String, first: usize },
    #[error("stage {stage} uses stage \"{target}\", defined later")]
    LaterStage { stage: String, target: String },
    #[error("stage {0} refers to itself")]
    SelfReference(String),
    #[error("target stage \"{0}\" not found")]
    UnknownTarget(String),
    #[error("FROM expands to an empty image name ({0})")]
    EmptyBase(String),
}

/// An error with its location in a Dockerfile (boxed: errors are rare, results stay small).
#[derive(Debug, Clone)]
pub struct FrontendError(Box<Details>);

/// What `FrontendError` dereferences to.
#[derive(Debug, Clone)]
pub struct Details {
    pub kind: ErrorKind,
    /// The Dockerfile path as given by the caller.
    pub path: String,
    /// 1-based line and column (in characters); 0 when the error concerns the whole file.
    pub line: usize,
    pub col: usize,
    /// Byte range in the source the caret points at.
    pub offset: usize,
    pub len: usize,
    pub help: Option<String>,
    source: Option<Arc<NamedSource<String>>>,
}

impl std::ops::Deref for FrontendError {
    type Target = Details;
    fn deref(&self) -> &Details {
        &self.0
    }
}

impl FrontendError {
    pub fn new(kind: ErrorKind) -> Self {
        Self(Box::new(Details {
            kind,
            path: String::new(),
            line: 0,
            col: 0,
            offset: 0,
            len: 0,
            help: None,
            source: None,
        }))
    }

    /// Points the error at `offset..offset+len` of `source`, computing line and column.
    pub fn at(mut self, source: &Arc<String>, path: &str, offset: usize, len: usize) -> Self {
        let d = &mut self.0;
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        d.line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        d.col = source[line_start..offset]
            .trim_start_matches('\u{feff}')
            .chars()
            .count()
            + 1;
        d.offset = offset;
        d.len = len.min(source.len() - offset);
        d.path = path.to_string();
        d.source = Some(Arc::new(NamedSource::new(
            path,
            source.as_str().to_string(),
        )));
        self
    }

    pub fn with_path(mut self, path: &str) -> Self {
        self.0.path = path.to_string();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for FrontendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.path.is_empty(), self.line) {
            (true, _) => write!(f, "{}", self.kind),
            (false, 0) => write!(f, "{}: {}", self.path, self.kind),
            (false, _) => write!(f, "{}:{}:{}: {}", self.path, self.line, self.col, self.kind),
        }
    }
}

impl std::error::Error for FrontendError {}

impl Diagnostic for FrontendError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| &**s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let label = LabeledSpan::new(Some(short_label(&self.kind)), self.offset, self.len.max(1));
        Some(Box::new(std::iter::once(label)))
    }
}

fn short_label(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::UnknownInstruction(_) => "not an instruction".into(),
        ErrorKind::UnknownFlag { .. } => "unknown flag".into(),
        _ => "here".into(),
    }
}
