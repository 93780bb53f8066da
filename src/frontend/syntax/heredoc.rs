//! Heredoc delimiters in RUN/COPY/ADD lines (BuildKit `heredocsFromLine` / `ParseHeredoc`).

use std::collections::BTreeMap;

use crate::frontend::shell::Lexer;

/// A heredoc announced on an instruction line; `content` is filled from the lines that follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeredocHeader {
    /// Delimiter with quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// False when any part of the delimiter was quoted: the body is then taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
    /// `3<<EOF` redirects file descriptor 3.
    pub fd: Option<u32>,
}

/// Finds the heredocs announced in `line`, in order.
pub fn heredocs_from_line(line: &str) -> Result<Vec<HeredocHeader>, String> {
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    let empty = BTreeMap::new();
    // BuildKit ignores lexing errors here: such a line simply announces no heredoc.
    let words = lex
        .process(line, &empty)
        .map(|e| e.words)
        .unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

fn parse_heredoc(word: &str) -> Result<Option<HeredocHeader>, String> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd = if digits > 0 {
        word[..digits].parse().ok()
    } else {
        None
    };
    let empty = BTreeMap::new();
    let mut lex = Lexer::new('\\');
    lex.skip_unset = true;
    let words = lex.process(rest, &empty).map_err(|e| e.reason)?.words;
    if words.len() != 1 {
        return Ok(None);
    }
    lex.raw_quotes = true;
    let raw = lex.process(rest, &empty).map_err(|e| e.reason)?.words;
    if raw.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.matches(['\'', '"']).count();
    let expand = quotes(&words[0]) == quotes(&raw[0]);
    Ok(Some(HeredocHeader {
        name: words[0].clone(),
        expand,
        chomp,
        fd,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_heredocs_and_quoting() {
        let docs = heredocs_from_line(r#"RUN python3 <<EOF 3<<-'END' cat"#).expect("lexes");
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].name.as_str(), docs[0].expand), ("EOF", true));
        assert_eq!(
            (docs[1].name.as_str(), docs[1].expand, docs[1].chomp),
            ("END", false, true)
        );
        assert_eq!(docs[1].fd, Some(3));
    }
}
