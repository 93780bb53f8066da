//! A port of BuildKit's `shellWord` processor. Kept structurally close to the Go code so that
//! behaviour differences are easy to spot against `lex.go`.

use std::collections::BTreeSet;

use super::limits::MAX_GROWTH;
use super::pattern::Pattern;
use super::{Expansion, ShellError, Vars};

/// Expansion settings. `new('\\')` is what BuildKit uses for Dockerfile instructions
/// (the escape character follows the `# escape=` directive).
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    pub escape: char,
    /// Keep quote characters in the output (used to find heredoc delimiters).
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Leave unset variables as written (`$X`, `${X}`).
    pub skip_unset: bool,
    /// Treat quotes as ordinary characters (heredoc bodies).
    pub skip_quotes: bool,
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
            skip_quotes: false,
        }
    }

    pub fn process(&self, word: &str, vars: &dyn Vars) -> Result<Expansion, ShellError> {
        let mut sw = ShellWord {
            chars: word.chars().collect(),
            pos: 0,
            depth: 0,
            vars,
            lexer: *self,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
            budget: word.len().saturating_add(MAX_GROWTH),
            too_large: false,
        };
        match sw.process_stop_on(None, self.raw_escapes) {
            Ok((result, words)) => Ok(Expansion {
                word: result,
                words,
                matched: sw.matched,
                unmatched: sw.unmatched,
            }),
            Err(reason) => Err(ShellError {
                word: word.to_string(),
                reason,
                too_large: sw.too_large,
            }),
        }
    }
}

/// `${a:-${b:-...}}` nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

struct ShellWord<'a> {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    vars: &'a dyn Vars,
    lexer: Lexer,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
    /// Bytes any partial result may hold ([`MAX_GROWTH`] more than the word as written).
    budget: usize,
    too_large: bool,
}

#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() && self.in_word {
            if !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else if !ch.is_whitespace() {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

type Step<T> = Result<T, String>;

impl ShellWord<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let ch = self.chars.get(self.pos).copied();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Step<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '\'' | '"' if self.lexer.skip_quotes => {
                    self.next();
                    words.add_char(ch);
                    result.push(ch);
                }
                '\'' => {
                    let tmp = self.single_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '"' => {
                    // Each quoted part fits on its own; their sum must too (`"$A""$A"…`).
                    let tmp = self.double_quote()?;
                    result.push_str(&tmp);
                    self.fits(result.len())?;
                    words.add_raw_string(&tmp);
                }
                '$' => {
                    let tmp = self.dollar()?;
                    result.push_str(&tmp);
                    self.fits(result.len())?;
                    words.add_string(&tmp);
                }
                _ => {
                    let mut ch = ch;
                    self.next();
                    if ch == self.lexer.escape {
                        if raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        match self.next() {
                            None => break,
                            Some(c) => ch = c,
                        }
                        words.add_raw_char(ch);
                    } else {
                        words.add_char(ch);
                    }
                    result.push(ch);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Step<String> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn double_quote(&mut self) -> Step<String> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
                Some('"') => {
                    self.next();
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    self.fits(result.len())?;
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.lexer.escape {
                        if self.lexer.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.lexer.escape => {
                                ch = self.next().unwrap_or(c);
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn dollar(&mut self) -> Step<String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("substitutions nested more than {MAX_DEPTH} deep"));
        }
        self.depth += 1;
        let result = self.dollar_inner();
        self.depth -= 1;
        result
    }

    fn dollar_inner(&mut self) -> Step<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            let value = self.lookup(&name);
            if value.is_none() && self.lexer.skip_unset {
                return Ok(format!("${name}"));
            }
            return Ok(value.unwrap_or_default());
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let Some(mut ch) = self.next() else {
            return Err("syntax error: missing '}'".into());
        };
        let mut modifier = ch.to_string();
        let mut null_is_unset = false;
        match ch {
            '}' => {
                let value = self.lookup(&name);
                if value.is_none() && self.lexer.skip_unset {
                    return Ok(format!("${{{name}}}"));
                }
                Ok(value.unwrap_or_default())
            }
            ':' | '+' | '-' | '?' | '#' | '%' => {
                if ch == ':' {
                    null_is_unset = true;
                    ch = self.next().unwrap_or('\0');
                    modifier.push(ch);
                    if !matches!(ch, '+' | '-' | '?' | '#' | '%') {
                        return Err(format!("unsupported modifier ({modifier}) in substitution"));
                    }
                }
                let raw = ch == '#' || ch == '%';
                if null_is_unset && raw {
                    return Err(format!("unsupported modifier ({modifier}) in substitution"));
                }
                let word = match self.process_stop_on(Some('}'), raw) {
                    Ok((w, _)) => w,
                    Err(e) if self.peek().is_none() => {
                        let _ = e;
                        return Err("syntax error: missing '}'".into());
                    }
                    Err(e) => return Err(e),
                };
                let value = self.lookup(&name);
                if self.lexer.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{modifier}{word}}}"));
                }
                let empty = value
                    .as_deref()
                    .is_none_or(|v| null_is_unset && v.is_empty());
                match ch {
                    '-' => Ok(if empty {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    '+' => Ok(if empty { String::new() } else { word }),
                    '?' => match value {
                        None => Err(format!(
                            "{name}: {}",
                            or(word, "is not allowed to be unset")
                        )),
                        Some(v) if null_is_unset && v.is_empty() => Err(format!(
                            "{name}: {}",
                            or(word, "is not allowed to be empty")
                        )),
                        Some(v) => Ok(v),
                    },
                    _ => {
                        let value = value.unwrap_or_default();
                        let (greedy, pat) = match word.strip_prefix(ch) {
                            Some(rest) => (true, rest.to_string()),
                            None => (false, word),
                        };
                        let invalid =
                            |e: String| format!("invalid pattern ({pat}) in substitution: {e}");
                        if ch == '%' {
                            let p = Pattern::compile(&reverse_pattern(&pat)).map_err(invalid)?;
                            let rev: String = value.chars().rev().collect();
                            let end = p.match_at(&rev, 0, greedy).unwrap_or(0);
                            Ok(rev[end..].chars().rev().collect())
                        } else {
                            let p = Pattern::compile(&pat).map_err(invalid)?;
                            let end = p.match_at(&value, 0, greedy).unwrap_or(0);
                            Ok(value[end..].to_string())
                        }
                    }
                }
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.next();
                }
                let pat = match self.process_stop_on(Some('/'), true) {
                    Ok((w, _)) => w,
                    Err(_) if self.peek().is_none() => {
                        return Err("syntax error: missing '/' in ${}".into());
                    }
                    Err(e) => return Err(e),
                };
                let replacement = match self.process_stop_on(Some('}'), true) {
                    Ok((w, _)) => w,
                    Err(_) if self.peek().is_none() => {
                        return Err("syntax error: missing '}'".into());
                    }
                    Err(e) => return Err(e),
                };
                let value = self.lookup(&name);
                if self.lexer.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}/{pat}/{replacement}}}"));
                }
                let p = Pattern::compile(&pat)
                    .map_err(|e| format!("invalid pattern ({pat}) in substitution: {e}"))?;
                match p.replace(&value.unwrap_or_default(), &replacement, all, self.budget) {
                    Some(out) => Ok(out),
                    None => self.fits(usize::MAX).map(|()| String::new()),
                }
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !ch.is_numeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    /// Fails once a partial result holds `len` bytes, more than the budget allows.
    fn fits(&mut self, len: usize) -> Step<()> {
        if len <= self.budget {
            return Ok(());
        }
        self.too_large = true;
        Err(format!(
            "expands to more than {} bytes (an expansion may add at most {MAX_GROWTH} bytes)",
            self.budget
        ))
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let value = self.vars.var(name);
        if value.is_some() {
            self.matched.insert(name.to_string());
        } else {
            self.unmatched.insert(name.to_string());
        }
        value
    }
}

fn or(word: String, default: &str) -> String {
    if word.is_empty() {
        default.to_string()
    } else {
        word
    }
}

/// Reverses a `${V%pattern}` pattern for a suffix search, keeping `\x` escapes in order.
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = vec!['\0'; chars.len()];
    let last = chars.len().saturating_sub(1);
    let mut i = 0;
    while i < chars.len() {
        let out_idx = last - i;
        if chars[i] == '\\' && i != last {
            out[out_idx - 1] = '\\';
            out[out_idx] = chars[i + 1];
            i += 2;
        } else {
            out[out_idx] = chars[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}
