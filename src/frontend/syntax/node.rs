//! One instruction at BuildKit's parse level: keyword, flag words and arguments, as
//! `parser.Node` holds them. parse-dockerfile reads the instruction body (keyword, JSON arrays,
//! FROM/AS, COPY sources, heredoc delimiters and bodies, HEALTHCHECK, ONBUILD); this layer feeds it
//! the joined line with the flags blanked out (BuildKit extracts flags itself, for every
//! instruction, with quoting) and splits ENV/LABEL/ARG with BuildKit's word rules.

use parse_dockerfile as pd;

use super::lines::RawInstruction;
use super::words::{FlagWord, extract_flags, parse_words, split_whitespace};

pub const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    /// Raw value: quotes and escapes still in (expansion removes them).
    pub value: String,
    /// `ENV k v` (legacy) rather than `ENV k=v`.
    pub legacy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Upper-case keyword (`RUN`).
    pub keyword: String,
    /// Offset of the keyword in the instruction text.
    pub keyword_at: usize,
    pub flags: Vec<FlagWord>,
    /// Offset where the arguments start in the instruction text.
    pub rest_at: usize,
    /// Arguments as BuildKit's parser splits them (ENV/LABEL: see `pairs`).
    pub args: Vec<String>,
    pub pairs: Vec<KeyValue>,
    /// Exec (JSON) form.
    pub json: bool,
    /// The instruction an ONBUILD carries.
    pub inner: Option<Box<Node>>,
}

/// A parse-level error with its offset in the instruction text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    pub message: String,
    pub at: usize,
    pub len: usize,
    pub unknown_instruction: Option<String>,
}

impl NodeError {
    fn new(message: impl Into<String>, at: usize, len: usize) -> Self {
        Self {
            message: message.into(),
            at,
            len,
            unknown_instruction: None,
        }
    }
}

/// Keyword and flags of the instruction starting at `at` in `text`.
struct Head {
    keyword: String,
    keyword_at: usize,
    flags: Vec<FlagWord>,
    rest_at: usize,
}

fn head(text: &str, at: usize) -> Result<Head, NodeError> {
    let t = &text[at..];
    let lead = t.len() - t.trim_start().len();
    let keyword_at = at + lead;
    let word_len = text[keyword_at..]
        .find(char::is_whitespace)
        .unwrap_or(text.len() - keyword_at);
    let keyword = text[keyword_at..keyword_at + word_len].to_string();
    if !KEYWORDS.contains(&keyword.to_ascii_uppercase().as_str()) {
        return Err(NodeError {
            unknown_instruction: Some(keyword.clone()),
            ..NodeError::new(
                format!("unknown instruction \"{keyword}\""),
                keyword_at,
                word_len,
            )
        });
    }
    let args_at = keyword_at + word_len;
    let (mut flags, rest) = extract_flags(&text[args_at..]);
    for f in &mut flags {
        f.start += args_at;
        f.end += args_at;
    }
    let rest_at = args_at + rest;
    let rest_at = rest_at + (text[rest_at..].len() - text[rest_at..].trim_start().len());
    Ok(Head {
        keyword: keyword.to_ascii_uppercase(),
        keyword_at,
        flags,
        rest_at,
    })
}

/// Builds the node for one raw instruction. `src` is the whole (BOM-less) source.
pub fn build(raw: &RawInstruction, src: &str, escape: char) -> Result<Node, NodeError> {
    let text = raw.text.as_str();
    let outer = head(text, 0)?;
    let inner = if outer.keyword == "ONBUILD" {
        Some(head(text, outer.rest_at)?)
    } else {
        None
    };

    // parse-dockerfile sees the instruction with flag words blanked (offsets stay put) after a
    // dummy FROM (it rejects instructions before FROM), followed by the heredoc lines.
    let mut blanked = text.as_bytes().to_vec();
    for h in std::iter::once(&outer)
        .chain(inner.as_ref())
        .filter(|h| !h.flags.is_empty())
    {
        for b in &mut blanked[h.keyword_at + h.keyword.len()..h.rest_at] {
            *b = b' ';
        }
    }
    let blanked =
        String::from_utf8(blanked).map_err(|_| NodeError::new("invalid UTF-8", 0, text.len()))?;
    const PREFIX: &str = "FROM scratch\n";
    let mut mini = format!("{PREFIX}{blanked}");
    if let Some(r) = &raw.heredoc_lines {
        mini.push('\n');
        mini.push_str(&src[r.clone()]);
    }
    let lenient_healthcheck = inner.as_ref().unwrap_or(&outer).keyword == "HEALTHCHECK" && {
        let h = inner.as_ref().unwrap_or(&outer);
        let typ = text[h.rest_at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        typ != "CMD" && typ != "NONE"
    };
    let parsed = if lenient_healthcheck {
        None
    } else {
        let mut it = pd::parse_iter(&mini).map_err(|e| pd_error(&e, text))?;
        let _from = it.next();
        match it.next() {
            Some(Ok(i)) => Some(i),
            Some(Err(e)) => return Err(pd_error(&e, text)),
            None => return Err(NodeError::new("expected an instruction", 0, text.len())),
        }
    };
    let (pd_outer, pd_inner) = match &parsed {
        Some(pd::Instruction::Onbuild(o)) => (parsed.as_ref(), Some(&*o.instruction)),
        other => (other.as_ref(), None),
    };
    let mut node = node_from(text, outer, pd_outer, escape)?;
    if let Some(h) = inner {
        node.args.clear();
        node.inner = Some(Box::new(node_from(text, h, pd_inner, escape)?));
    }
    Ok(node)
}

fn pd_error(e: &pd::Error, text: &str) -> NodeError {
    // Line 1 is the dummy FROM; line 2 is the instruction; later lines are heredoc bodies.
    let at = if e.line() == 2 {
        e.column().saturating_sub(1).min(text.len())
    } else {
        0
    };
    NodeError::new(format!("{e:#}"), at, 1)
}

fn node_from(
    text: &str,
    h: Head,
    parsed: Option<&pd::Instruction<'_>>,
    escape: char,
) -> Result<Node, NodeError> {
    let rest = text[h.rest_at..].trim_end();
    let mut node = Node {
        keyword: h.keyword,
        keyword_at: h.keyword_at,
        flags: h.flags,
        rest_at: h.rest_at,
        args: Vec::new(),
        pairs: Vec::new(),
        json: false,
        inner: None,
    };
    let words = || {
        split_whitespace(rest)
            .into_iter()
            .map(|(_, w)| w.to_string())
            .collect::<Vec<_>>()
    };
    match node.keyword.as_str() {
        "ENV" | "LABEL" => {
            node.pairs = name_values(rest, &node.keyword, escape).map_err(|m| err(m, &node))?
        }
        "ARG" => {
            node.args = parse_words(rest, escape)
                .into_iter()
                .map(|(_, w)| w)
                .collect()
        }
        "FROM" | "EXPOSE" => node.args = words(),
        "COPY" | "ADD" | "VOLUME" => match maybe_json(rest).map_err(|m| err(m, &node))? {
            Some(list) => (node.args, node.json) = (list, true),
            None => node.args = words(),
        },
        "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" => {
            match parsed {
                Some(
                    pd::Instruction::Run(pd::RunInstruction {
                        arguments: pd::Command::Exec(list),
                        ..
                    })
                    | pd::Instruction::Cmd(pd::CmdInstruction {
                        arguments: pd::Command::Exec(list),
                        ..
                    })
                    | pd::Instruction::Entrypoint(pd::EntrypointInstruction {
                        arguments: pd::Command::Exec(list),
                        ..
                    }),
                ) => {
                    (node.args, node.json) = (
                        list.value.iter().map(|s| s.value.to_string()).collect(),
                        true,
                    )
                }
                Some(pd::Instruction::Shell(s)) => {
                    (node.args, node.json) = (
                        s.arguments.iter().map(|s| s.value.to_string()).collect(),
                        true,
                    )
                }
                _ => {
                    // Shell form; an array with non-string items is an error, not a command.
                    maybe_json(rest).map_err(|m| err(m, &node))?;
                    if !rest.is_empty() {
                        node.args = vec![rest.to_string()];
                    }
                }
            }
        }
        "HEALTHCHECK" => {
            let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
            if sep > 0 {
                node.args.push(rest[..sep].to_string());
                let cmd = rest[sep..].trim_start();
                match maybe_json(cmd).map_err(|m| err(m, &node))? {
                    Some(list) => {
                        node.json = true;
                        node.args.extend(list);
                    }
                    None if !cmd.is_empty() => node.args.push(cmd.to_string()),
                    None => {}
                }
            }
        }
        "ONBUILD" => {}
        _ => {
            if !rest.is_empty() {
                node.args = vec![rest.to_string()];
            }
        }
    }
    Ok(node)
}

fn err(message: String, node: &Node) -> NodeError {
    NodeError::new(message, node.rest_at, 1)
}

/// BuildKit `parseMaybeJSON`: `Some(list)` for a JSON array of strings, `None` for shell form,
/// an error for a JSON array holding anything but strings.
pub fn maybe_json(rest: &str) -> Result<Option<Vec<String>>, String> {
    let t = rest.trim_start();
    if !t.starts_with('[') {
        return Ok(None);
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(t) {
        Ok(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err("JSON arrays in Dockerfiles may only contain strings".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Err(_) => Ok(None),
    }
}

/// BuildKit `parseNameVal`: `KEY name value` (legacy) or `KEY a=1 b=2`.
fn name_values(rest: &str, keyword: &str, escape: char) -> Result<Vec<KeyValue>, String> {
    let words = parse_words(rest, escape);
    let Some((_, first)) = words.first() else {
        return Err(format!("{keyword} requires at least one argument"));
    };
    if !first.contains('=') {
        let parts: Vec<_> = rest
            .splitn(2, |c: char| {
                matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
            })
            .collect();
        let value = parts
            .get(1)
            .map(|v| v.trim_start_matches(['\t', '\x0b', '\x0c', '\r', ' ']));
        return match value {
            Some(v) if !v.is_empty() => Ok(vec![KeyValue {
                key: parts[0].to_string(),
                value: v.to_string(),
                legacy: true,
            }]),
            _ => Err(format!(
                "{keyword} {first} needs a value: write {keyword} {first}=value"
            )),
        };
    }
    words
        .into_iter()
        .map(|(_, w)| match w.split_once('=') {
            Some((k, v)) => Ok(KeyValue {
                key: k.to_string(),
                value: v.to_string(),
                legacy: false,
            }),
            None => Err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            )),
        })
        .collect()
}
