//! Shell glob patterns of `${V#p}`, `${V%p}` and `${V/p/r}`, matched the way BuildKit's
//! generated regular expressions match them (leftmost-first; `*` lazy unless greedy; neither
//! `*` nor `?` crosses a newline, like Go's `.`).

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Star,
    Any,
    Lit(char),
}

#[derive(Debug, Clone)]
pub struct Pattern(Vec<Token>);

impl Pattern {
    pub fn compile(pattern: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '\\' => {
                    // `}` and `/` are escaped only to get them past the `${}` parser.
                    if matches!(chars.peek(), Some('}' | '/')) {
                        continue;
                    }
                    match chars.next() {
                        Some(c @ ('*' | '?' | '\\')) => tokens.push(Token::Lit(c)),
                        Some(c) => return Err(format!("invalid escape '\\{c}'")),
                        None => return Err("invalid escape '\\'".into()),
                    }
                }
                c => tokens.push(Token::Lit(c)),
            }
        }
        Ok(Self(tokens))
    }

    /// End (byte offset) of the preferred match starting exactly at `start`.
    pub fn match_at(&self, value: &str, start: usize, greedy: bool) -> Option<usize> {
        let mut memo = HashMap::new();
        match_tokens(&self.0, 0, value, start, greedy, &mut memo)
    }

    /// Replaces the first (or every) match, like Go's `Regexp.ReplaceAllString` on a greedy pattern.
    pub fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let mut out = String::new();
        let mut last_end = 0;
        let mut search = 0;
        while search <= value.len() {
            let Some((s, e)) = self.find(value, search) else {
                break;
            };
            out.push_str(&value[last_end..s]);
            if e > last_end || s == 0 {
                out.push_str(replacement);
            }
            last_end = e;
            if !all {
                break;
            }
            let width = value[search..].chars().next().map_or(0, char::len_utf8);
            if search + width > e {
                search += width.max(1);
            } else if search + 1 > e {
                search += 1;
            } else {
                search = e;
            }
        }
        out.push_str(&value[last_end..]);
        out
    }

    fn find(&self, value: &str, from: usize) -> Option<(usize, usize)> {
        let starts = value[from..]
            .char_indices()
            .map(|(i, _)| from + i)
            .chain(std::iter::once(value.len()));
        for s in starts {
            if let Some(e) = self.match_at(value, s, true) {
                return Some((s, e));
            }
        }
        None
    }
}

/// Backtracking in the regex engine's preference order. The first match found from a given
/// (token, position) state is always the same, so states are memoized: patterns with many `*`
/// stay polynomial.
fn match_tokens(
    tokens: &[Token],
    ti: usize,
    value: &str,
    pos: usize,
    greedy: bool,
    memo: &mut HashMap<(usize, usize), Option<usize>>,
) -> Option<usize> {
    let Some(token) = tokens.get(ti) else {
        return Some(pos);
    };
    if let Some(done) = memo.get(&(ti, pos)) {
        return *done;
    }
    let tail = &value[pos..];
    let result = match token {
        Token::Lit(c) => match tail.chars().next() {
            Some(next) if next == *c => {
                match_tokens(tokens, ti + 1, value, pos + next.len_utf8(), greedy, memo)
            }
            _ => None,
        },
        Token::Any => match tail.chars().next().filter(|c| *c != '\n') {
            Some(next) => match_tokens(tokens, ti + 1, value, pos + next.len_utf8(), greedy, memo),
            None => None,
        },
        Token::Star => {
            // Candidate ends: every char boundary up to the first newline.
            let limit = tail.find('\n').unwrap_or(tail.len());
            let mut ends: Vec<usize> = tail[..limit]
                .char_indices()
                .map(|(i, _)| pos + i)
                .chain(std::iter::once(pos + limit))
                .collect();
            if greedy {
                ends.reverse();
            }
            ends.into_iter()
                .find_map(|e| match_tokens(tokens, ti + 1, value, e, greedy, memo))
        }
    };
    memo.insert((ti, pos), result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_and_greedy_prefixes() {
        let p = Pattern::compile("*x").expect("valid");
        assert_eq!(p.match_at("axbx", 0, false), Some(2));
        assert_eq!(p.match_at("axbx", 0, true), Some(4));
    }

    #[test]
    fn many_stars_stay_fast() {
        let p = Pattern::compile(&"*a".repeat(30)).expect("valid");
        let value = "a".repeat(29) + &"b".repeat(200);
        assert_eq!(p.match_at(&value, 0, false), None);
    }

    #[test]
    fn replace_all_with_empty_pattern_keeps_value() {
        let p = Pattern::compile("").expect("valid");
        assert_eq!(p.replace("xxyy", "", true), "xxyy");
        assert_eq!(p.replace("xxyy", "ww", false), "wwxxyy");
    }
}
