//! Shell glob patterns of `${V#p}`, `${V%p}` and `${V/p/r}`, matched the way BuildKit's
//! generated regular expressions match them (leftmost-first; `*` lazy unless greedy; neither
//! `*` nor `?` crosses a newline, like Go's `.`).

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

    /// End (byte offset) of the preferred match starting exactly at `start`: the shortest for a
    /// lazy pattern, the longest for a greedy one. (With only `*`, `?` and literals, the regex
    /// engine's backtracking preference yields exactly these ends.) Runs as an NFA: O(tokens × len).
    pub fn match_at(&self, value: &str, start: usize, greedy: bool) -> Option<usize> {
        let t = &self.0;
        let mut states = vec![false; t.len() + 1];
        states[0] = true;
        close(t, &mut states);
        let mut best = states[t.len()].then_some(start);
        if best.is_some() && !greedy {
            return best;
        }
        for (i, c) in value[start..].char_indices() {
            let mut next = vec![false; t.len() + 1];
            let mut alive = false;
            for (k, on) in states.iter().enumerate() {
                if !*on || k == t.len() {
                    continue;
                }
                let step = match t[k] {
                    Token::Lit(l) => (l == c).then_some(k + 1),
                    Token::Any => (c != '\n').then_some(k + 1),
                    Token::Star => (c != '\n').then_some(k),
                };
                if let Some(n) = step {
                    next[n] = true;
                    alive = true;
                }
            }
            if !alive {
                break;
            }
            close(t, &mut next);
            states = next;
            if states[t.len()] {
                best = Some(start + i + c.len_utf8());
                if !greedy {
                    return best;
                }
            }
        }
        best
    }

    /// Replaces the first (or every) match, like Go's `Regexp.ReplaceAllString` on a greedy pattern.
    /// `None` when the result would pass `limit` bytes (`${V//?/$V}` squares V's length).
    pub fn replace(
        &self,
        value: &str,
        replacement: &str,
        all: bool,
        limit: usize,
    ) -> Option<String> {
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
            if out.len() > limit {
                return None;
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
        (out.len() <= limit).then_some(out)
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

/// A `*` may match nothing: whoever reaches it also reaches what follows it.
fn close(tokens: &[Token], states: &mut [bool]) {
    for k in 0..tokens.len() {
        if states[k] && tokens[k] == Token::Star {
            states[k + 1] = true;
        }
    }
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
        assert_eq!(p.replace("xxyy", "", true, 99).as_deref(), Some("xxyy"));
        assert_eq!(
            p.replace("xxyy", "ww", false, 99).as_deref(),
            Some("wwxxyy")
        );
    }

    #[test]
    fn replace_stops_at_the_limit() {
        let p = Pattern::compile("?").expect("valid");
        assert_eq!(
            p.replace("xxyy", "ww", true, 8).as_deref(),
            Some("wwwwwwww")
        );
        assert_eq!(p.replace("xxyy", "ww", true, 7), None);
    }
}
