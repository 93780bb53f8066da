//! BuildKit's parse level: logical lines → nodes (keyword, flag words, arguments, heredocs).
//! Lenient like BuildKit's parser; `frontend::instruction` applies the instruction rules.

mod dump;
pub mod heredoc;
pub mod lines;
pub mod node;
pub mod words;

pub use dump::go_quote;
pub use lines::{Directives, Heredoc, RawInstruction};
pub use node::{KeyValue, Node};

/// A parsed Dockerfile at the parse level.
#[derive(Debug, Clone)]
pub struct Ast {
    pub directives: Directives,
    pub instructions: Vec<Parsed>,
    /// Length of a UTF-8 byte-order mark at the start of the source (0 or 3); every offset in
    /// `instructions` is relative to the source after it.
    pub bom: usize,
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub raw: RawInstruction,
    pub node: Node,
}

/// A parse-level error, with the byte range (in the full source, BOM included) it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub offset: usize,
    pub len: usize,
    /// The misspelled keyword, when the problem is an unknown instruction.
    pub unknown_instruction: Option<String>,
}

pub fn parse(source: &str) -> Result<Ast, SyntaxError> {
    let bom = if source.starts_with('\u{feff}') { 3 } else { 0 };
    let src = &source[bom..];
    // A NUL cannot reach a command line, an environment variable or a file name: execve would
    // cut the string there. Most often it means a binary or UTF-16 file.
    if let Some(at) = src.find('\0') {
        return Err(SyntaxError {
            message: "NUL byte (\\0) in the Dockerfile: no instruction can carry it \
                      (a binary or UTF-16 file?)"
                .into(),
            offset: bom + at,
            len: 1,
            unknown_instruction: None,
        });
    }
    let (directives, raws) = lines::split(src).map_err(|e| SyntaxError {
        message: e.message,
        offset: bom + e.range.start,
        len: e.range.len(),
        unknown_instruction: None,
    })?;
    if raws.is_empty() {
        return Err(SyntaxError {
            message: "file with no instructions".into(),
            offset: source.len(),
            len: 0,
            unknown_instruction: None,
        });
    }
    let mut instructions = Vec::with_capacity(raws.len());
    for raw in raws {
        let node = node::build(&raw, src, directives.escape).map_err(|e| SyntaxError {
            message: e.message,
            offset: bom + raw.source_offset(e.at),
            len: e.len,
            unknown_instruction: e.unknown_instruction,
        })?;
        instructions.push(Parsed { raw, node });
    }
    Ok(Ast {
        directives,
        instructions,
        bom,
    })
}
