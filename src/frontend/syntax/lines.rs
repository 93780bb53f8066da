//! Splits a Dockerfile into logical instructions the way BuildKit's parser reads lines: parser
//! directives at the top, comments, `\`-continuations (an odd number of trailing escape
//! characters; comment and blank lines inside a continuation are dropped), and heredoc bodies.

use std::ops::Range;

use super::heredoc::{HeredocHeader, heredocs_from_line};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Self {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// One instruction's lines, joined.
#[derive(Debug, Clone)]
pub struct RawInstruction {
    /// The instruction with continuations joined (BuildKit's "line").
    pub text: String,
    /// Where each joined piece came from: (offset in `text`, offset in the source).
    pub pieces: Vec<(usize, usize)>,
    /// 1-based first and last line, heredoc bodies included.
    pub start_line: usize,
    pub end_line: usize,
    /// Source range from the keyword to the end of the last line (heredocs included).
    pub range: Range<usize>,
    pub heredocs: Vec<Heredoc>,
    /// Source range of the lines after the instruction line that hold the heredoc bodies.
    pub heredoc_lines: Option<Range<usize>>,
    /// A blank line inside a continuation (BuildKit warns about these).
    pub empty_continuation: bool,
}

impl RawInstruction {
    /// Maps an offset in `text` back to the source.
    pub fn source_offset(&self, text_offset: usize) -> usize {
        let i = self
            .pieces
            .partition_point(|(t, _)| *t <= text_offset)
            .saturating_sub(1);
        let (t, s) = self.pieces.get(i).copied().unwrap_or((0, self.range.start));
        s + (text_offset - t)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub header: HeredocHeader,
    /// The body as written (tabs not yet stripped for `<<-`), each line with its newline.
    pub content: String,
    /// Source range of the body.
    pub range: Range<usize>,
}

/// A problem with its byte range in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub message: String,
    pub range: Range<usize>,
}

struct Line {
    start: usize,
    /// End of the content, line terminators excluded.
    end: usize,
    /// Start of the next line.
    next: usize,
}

fn split_lines(src: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < src.len() {
        let next = src[start..].find('\n').map_or(src.len(), |i| start + i + 1);
        let end = start + src[start..next].trim_end_matches(['\r', '\n']).len();
        lines.push(Line { start, end, next });
        start = next;
    }
    lines
}

fn trim_left(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

fn is_comment(s: &str) -> bool {
    trim_left(s).starts_with('#')
}

/// Strips a continuation escape: an odd number of trailing escape characters (then blanks) ends
/// the line in a continuation; an even number is escaped escapes and ends the instruction.
fn trim_continuation(s: &str, escape: char) -> (&str, bool) {
    let t = s.trim_end_matches([' ', '\t']);
    let n = t.chars().rev().take_while(|c| *c == escape).count();
    if n % 2 == 1 {
        (&t[..t.len() - escape.len_utf8()], false)
    } else {
        (s, true)
    }
}

struct DirectiveParser {
    done: bool,
    line: usize,
    seen: Vec<String>,
}

impl DirectiveParser {
    fn feed(&mut self, token: &str, offset: usize, d: &mut Directives) -> Result<(), LineError> {
        self.line += 1;
        if self.done {
            return Ok(());
        }
        if self.line == 1 && token.starts_with("#!") {
            return Ok(());
        }
        let Some((name, value)) = parse_directive(token) else {
            self.done = true;
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        let range = offset..offset + token.len();
        if self.seen.contains(&name) {
            return Err(LineError {
                message: format!("only one {name} parser directive can be used"),
                range,
            });
        }
        self.seen.push(name.clone());
        match name.as_str() {
            "escape" => match value {
                "\\" => d.escape = '\\',
                "`" => d.escape = '`',
                _ => {
                    return Err(LineError {
                        message: format!("invalid escape token '{value}' does not match ` or \\"),
                        range,
                    });
                }
            },
            "syntax" => d.syntax = Some(value.to_string()),
            _ => d.check = Some(value.to_string()),
        }
        Ok(())
    }
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` with Go's ASCII `\s`.
fn parse_directive(token: &str) -> Option<(&str, &str)> {
    let is_s = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let rest = token.strip_prefix('#')?.trim_start_matches(is_s);
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let rest = rest[name_len..]
        .trim_start_matches(is_s)
        .strip_prefix('=')?;
    let value = rest.trim_matches(is_s);
    if value.is_empty() {
        None
    } else {
        Some((name, value))
    }
}

/// The keyword a heredoc can belong to: RUN/COPY/ADD, also behind ONBUILD.
fn heredoc_keyword(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let mut kw = words.next().unwrap_or_default().to_ascii_lowercase();
    if kw == "onbuild" {
        kw = words.next().unwrap_or_default().to_ascii_lowercase();
    }
    matches!(kw.as_str(), "run" | "copy" | "add")
}

/// Splits `src` (BOM already removed) into directives and raw instructions.
pub fn split(src: &str) -> Result<(Directives, Vec<RawInstruction>), LineError> {
    let lines = split_lines(src);
    let mut d = Directives::default();
    let mut dp = DirectiveParser {
        done: false,
        line: 0,
        seen: Vec::new(),
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let raw = &src[line.start..line.end];
        let token = trim_left(raw);
        let token_start = line.end - token.len();
        dp.feed(token, token_start, &mut d)?;
        let token = if is_comment(token) { "" } else { token };
        let start_line = i + 1;
        let (piece, mut eol) = trim_continuation(token, d.escape);
        if eol && piece.is_empty() {
            i += 1;
            continue;
        }
        let mut text = piece.to_string();
        let mut pieces = vec![(0, token_start)];
        let mut end = line.end;
        let mut empty_continuation = false;
        while !eol && i + 1 < lines.len() {
            i += 1;
            let line = &lines[i];
            let raw = &src[line.start..line.end];
            dp.feed(trim_left(raw), line.start, &mut d)?;
            end = line.end;
            if is_comment(raw) {
                continue;
            }
            if trim_left(raw).is_empty() {
                empty_continuation = true;
                continue;
            }
            let (piece, e) = trim_continuation(raw, d.escape);
            eol = e;
            pieces.push((text.len(), line.start));
            text.push_str(piece);
        }
        let mut inst = RawInstruction {
            text,
            pieces,
            start_line,
            end_line: i + 1,
            range: token_start..end,
            heredocs: Vec::new(),
            heredoc_lines: None,
            empty_continuation,
        };
        if heredoc_keyword(&inst.text) && inst.text.contains("<<") && !is_json_form(&inst.text) {
            let headers = heredocs_from_line(&inst.text).map_err(|message| LineError {
                message,
                range: inst.range.clone(),
            })?;
            let body_start = lines[i].next;
            for header in headers {
                let start = lines.get(i + 1).map_or(src.len(), |l| l.start);
                let mut terminated = false;
                while i + 1 < lines.len() {
                    i += 1;
                    let l = &lines[i];
                    let mut candidate = &src[l.start..l.end];
                    if header.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == header.name {
                        terminated = true;
                        break;
                    }
                }
                if !terminated {
                    return Err(LineError {
                        message: format!("unterminated heredoc {}", header.name),
                        range: inst.range.clone(),
                    });
                }
                let body_end = lines[i].start;
                inst.heredocs.push(Heredoc {
                    header,
                    content: src[start..body_end].to_string(),
                    range: start..body_end,
                });
            }
            if !inst.heredocs.is_empty() {
                inst.end_line = i + 1;
                inst.range.end = lines[i].end;
                inst.heredoc_lines = Some(body_start..lines[i].end);
            }
        }
        out.push(inst);
        i += 1;
    }
    Ok((d, out))
}

/// Exec form (`RUN ["a", "b"]`) never carries heredocs.
fn is_json_form(text: &str) -> bool {
    let args = text
        .trim_start()
        .split_once(char::is_whitespace)
        .map_or("", |p| p.1);
    let (_, rest) = super::words::extract_flags(args);
    let rest = args[rest..].trim();
    rest.starts_with('[') && serde_json::from_str::<Vec<String>>(rest).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_backslashes_end_the_instruction() {
        let (_, insts) = split("FROM a\nENV C x\\\\\nENV D y\n").expect("splits");
        assert_eq!(insts.len(), 3);
        assert_eq!(insts[1].text, "ENV C x\\\\");
    }

    #[test]
    fn comments_and_blank_lines_inside_continuations_are_dropped() {
        let (_, insts) = split("RUN a \\\n# c\n\n  b\n").expect("splits");
        assert_eq!(insts.len(), 1);
        assert_eq!(insts[0].text, "RUN a   b");
        assert!(insts[0].empty_continuation);
        assert_eq!(insts[0].source_offset(6), 13);
    }

    #[test]
    fn heredoc_bodies_are_collected() {
        let (_, insts) = split("RUN <<A cat <<B\na1\nA\nb1\nB\nRUN x\n").expect("splits");
        assert_eq!(insts.len(), 2);
        assert_eq!(insts[0].heredocs[0].content, "a1\n");
        assert_eq!(insts[0].heredocs[1].content, "b1\n");
        assert_eq!((insts[0].start_line, insts[0].end_line), (1, 5));
    }

    #[test]
    fn escape_directive() {
        let (d, insts) = split("# escape=`\nFROM a `\n  b\n").expect("splits");
        assert_eq!(d.escape, '`');
        assert_eq!(insts[0].text, "FROM a   b");
    }
}
