//! Dockerfile front end: parse (BuildKit-faithful, on top of parse-dockerfile), type and
//! validate instructions, expand shell words, and plan the stage graph.
//!
//! Engine entry points: [`parse_dockerfile`], [`plan`], [`expand_op`] (execution-time expansion of
//! an instruction), [`StageVars`] (a stage's ARG/ENV state), [`shell::expand`] /
//! [`shell::expand_words`], [`args::ArgScope::resolve`].

pub mod args;
pub mod brief;
pub mod checks;
mod convert;
mod duration;
pub mod error;
pub mod expand;
mod flags;
pub mod instruction;
mod mount;
pub mod plan;
mod planner;
pub mod render;
pub mod scope;
pub mod shell;
pub mod suggest;
pub mod syntax;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{ErrorKind, FrontendError};
pub use expand::expand_op;
pub use instruction::{Instruction, Op};
pub use plan::BuildPlan;
pub use planner::{PlanOptions, plan};
pub use scope::StageVars;
pub use syntax::Directives;

/// A parsed and validated Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub path: PathBuf,
    /// The source as read (a BOM, if any, included; spans index into it).
    pub source: Arc<String>,
    pub directives: Directives,
    /// Every instruction in order, global ARGs included.
    pub instructions: Vec<Instruction>,
    /// BuildKit-style warnings (e.g. blank lines inside a continuation), with their line.
    pub warnings: Vec<(usize, String)>,
}

impl Dockerfile {
    pub fn path_str(&self) -> String {
        self.path.display().to_string()
    }
}

/// Parses `source` (read from `path`, used in messages) into typed, located instructions.
pub fn parse_dockerfile(source: &str, path: &Path) -> Result<Dockerfile, FrontendError> {
    let shared = Arc::new(source.to_string());
    let path_str = path.display().to_string();
    let ast = syntax::parse(source).map_err(|e| {
        let kind = match &e.unknown_instruction {
            Some(word) => ErrorKind::UnknownInstruction(word.clone()),
            None => ErrorKind::Syntax(e.message.clone()),
        };
        let err = FrontendError::new(kind).at(&shared, &path_str, e.offset, e.len);
        match e
            .unknown_instruction
            .as_deref()
            .and_then(|w| suggest::closest(w, &syntax::node::KEYWORDS))
        {
            Some(s) => err.with_help(format!("did you mean {s}?")),
            None => err,
        }
    })?;
    let conv = convert::Converter {
        source: &shared,
        path: &path_str,
        bom: ast.bom,
    };
    let mut instructions = Vec::with_capacity(ast.instructions.len());
    let mut warnings = Vec::new();
    for p in &ast.instructions {
        if p.raw.empty_continuation {
            warnings.push((
                p.raw.start_line,
                "empty continuation line (a blank line inside a \\-continued instruction)".into(),
            ));
        }
        instructions.push(conv.convert(p)?);
    }
    Ok(Dockerfile {
        path: path.to_path_buf(),
        source: shared,
        directives: ast.directives,
        instructions,
        warnings,
    })
}
