//! BuildKit's word splitters for instruction arguments (`parser/line_parsers.go`, `parser.go`).

/// A flag word before the arguments (`--mount=type=cache,target=/x`), with its byte offset
/// in the instruction text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagWord {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Splits leading `--flag[=value]` words off `line` (BuildKit `extractBuilderFlags`): quotes are
/// removed and `\` escapes the next byte; a bare `--` ends the flags and is dropped.
/// Returns the flags and the byte offset in `line` where the arguments start.
pub fn extract_flags(line: &str) -> (Vec<FlagWord>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let bytes = line.as_bytes();
    let mut flags = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut word_start = 0;
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    let push = |flags: &mut Vec<FlagWord>, word: &mut Vec<u8>, start: usize, end: usize| {
        flags.push(FlagWord {
            text: String::from_utf8_lossy(word).into_owned(),
            start,
            end,
        });
        word.clear();
    };
    while pos <= bytes.len() {
        let ch = bytes.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == bytes.len() {
                break;
            }
            if is_space(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || bytes.get(pos + 1) != Some(&b'-') {
                return (flags, pos);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if pos == bytes.len() {
            if word != b"--" && (blank_ok || !word.is_empty()) {
                push(&mut flags, &mut word, word_start, pos);
            }
            return (flags, pos);
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if word == b"--" {
                    return (flags, pos);
                }
                if blank_ok || !word.is_empty() {
                    push(&mut flags, &mut word, word_start, pos);
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == bytes.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = bytes[pos];
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if c == b'\\' {
            if pos + 1 == bytes.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = bytes[pos];
        }
        word.push(c);
        pos += 1;
    }
    (flags, bytes.len())
}

/// ASCII whitespace. (Go scans flags byte by byte with `unicode.IsSpace`, which also matches the
/// bytes 0x85 and 0xA0; in UTF-8 text those are continuation bytes, never characters.)
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Splits on runs of `[\t\v\f\r ]` (BuildKit `parseStringsWhitespaceDelimited`), with byte offsets.
pub fn split_whitespace(rest: &str) -> Vec<(usize, &str)> {
    let is_ws = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in rest.char_indices() {
        match (is_ws(c), start) {
            (true, Some(s)) => {
                out.push((s, &rest[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &rest[s..]));
    }
    out
}

/// Splits into words respecting quotes and the escape character, keeping both in the words
/// (BuildKit `parseWords`, used by ENV, LABEL and ARG). Returns (byte offset, word).
pub fn parse_words(rest: &str, escape: char) -> Vec<(usize, String)> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = rest.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_start = 0;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut i = 0;
    while i <= chars.len() {
        let at_end = i == chars.len();
        let ch = chars.get(i).map_or('\0', |c| c.1);
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            phase = Phase::Word;
            word_start = chars[i].0;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push((word_start, std::mem::take(&mut word)));
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push((word_start, std::mem::take(&mut word)));
                }
                word.clear();
                blank_ok = false;
                i += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            let mut c = ch;
            if ch == escape {
                if i + 1 == chars.len() {
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
                c = chars[i].1;
            }
            word.push(c);
            i += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        let mut c = ch;
        if ch == escape && quote != '\'' {
            if i + 1 == chars.len() {
                phase = Phase::Word;
                i += 1;
                continue;
            }
            i += 1;
            word.push(ch);
            c = chars[i].1;
        }
        word.push(c);
        i += 1;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_stop_at_double_dash_and_unquote() {
        let (flags, rest) = extract_flags(r#"--a="x y" --b -- foo /tmp/"#);
        let texts: Vec<_> = flags.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["--a=x y", "--b"]);
        assert_eq!(&r#"--a="x y" --b -- foo /tmp/"#[rest..], " foo /tmp/");
    }

    #[test]
    fn multibyte_flag_values_keep_char_boundaries() {
        let line = "--x=\\\u{2140}\u{2160} y";
        let (flags, rest) = extract_flags(line);
        assert_eq!(flags.len(), 1);
        assert_eq!(&line[rest..], "y");
    }

    #[test]
    fn words_keep_quotes() {
        let w: Vec<_> = parse_words(r#"abc="123 456" def"#, '\\')
            .into_iter()
            .map(|w| w.1)
            .collect();
        assert_eq!(w, [r#"abc="123 456""#, "def"]);
    }
}
