//! Syntax colouring of one Dockerfile instruction: keyword, flags, strings, variables, shell operators.

use ratatui::style::Style;
use ratatui::text::Span;

use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Keyword,
    Flag,
    Str,
    Var,
    Op,
    Comment,
    Plain,
}

/// Splits `text` into coloured spans. Newlines (joined continuations) become spaces.
pub fn instruction(text: &str, theme: &Theme) -> Vec<Span<'static>> {
    tokens(text)
        .into_iter()
        .map(|(kind, s)| {
            let style: Style = match kind {
                Kind::Keyword => theme.keyword,
                Kind::Flag => theme.flag,
                Kind::Str => theme.string,
                Kind::Var => theme.variable,
                Kind::Op => theme.operator,
                Kind::Comment => theme.comment,
                Kind::Plain => theme.text,
            };
            Span::styled(s, style)
        })
        .collect()
}

fn tokens(text: &str) -> Vec<(Kind, String)> {
    let text = text.replace(['\n', '\r'], " ");
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<(Kind, String)> = Vec::new();
    let mut push = |kind: Kind, s: String| match out.last_mut() {
        Some((k, prev)) if *k == kind => prev.push_str(&s),
        _ => out.push((kind, s)),
    };
    let mut i = 0;
    // The keyword: the first word, whatever its case.
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    let start = i;
    while i < chars.len() && !chars[i].is_whitespace() {
        i += 1;
    }
    push(Kind::Plain, chars[..start].iter().collect());
    push(Kind::Keyword, chars[start..i].iter().collect());
    let mut word_start = true;
    while i < chars.len() {
        let c = chars[i];
        let take =
            |from: usize, to: usize| chars[from..to.min(chars.len())].iter().collect::<String>();
        let (kind, end) = match c {
            '"' | '\'' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .map_or(chars.len(), |p| i + 2 + p);
                (Kind::Str, close)
            }
            '$' => (Kind::Var, variable_end(&chars, i)),
            '#' if word_start => (Kind::Comment, chars.len()),
            '-' if word_start && chars.get(i + 1) == Some(&'-') => {
                let end = chars[i..]
                    .iter()
                    .position(|x| x.is_whitespace())
                    .map_or(chars.len(), |p| i + p);
                (Kind::Flag, end)
            }
            '&' | '|' | ';' | '>' | '<' | '\\' => {
                let end = chars[i..]
                    .iter()
                    .position(|x| !matches!(x, '&' | '|' | ';' | '>' | '<' | '\\'));
                (Kind::Op, end.map_or(chars.len(), |p| i + p))
            }
            _ => (Kind::Plain, i + 1),
        };
        push(kind, take(i, end));
        word_start = c.is_whitespace() || matches!(kind, Kind::Op);
        i = end.max(i + 1);
    }
    out.retain(|(_, s)| !s.is_empty());
    out
}

fn variable_end(chars: &[char], at: usize) -> usize {
    match chars.get(at + 1) {
        Some('{') => chars[at..]
            .iter()
            .position(|&c| c == '}')
            .map_or(chars.len(), |p| at + p + 1),
        Some(c) if c.is_alphanumeric() || *c == '_' => {
            at + 1
                + chars[at + 1..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .count()
        }
        _ => at + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &'static str)> {
        tokens(text)
            .into_iter()
            .map(|(k, s)| (k, &*s.leak()))
            .collect()
    }

    #[test]
    fn run_with_operators_variables_and_strings() {
        assert_eq!(
            kinds("RUN make ${TARGET} && echo \"done $X\""),
            vec![
                (Kind::Keyword, "RUN"),
                (Kind::Plain, " make "),
                (Kind::Var, "${TARGET}"),
                (Kind::Plain, " "),
                (Kind::Op, "&&"),
                (Kind::Plain, " echo "),
                (Kind::Str, "\"done $X\""),
            ]
        );
    }

    #[test]
    fn flags_only_at_word_start() {
        assert_eq!(
            kinds("COPY --from=builder /a-b /c"),
            vec![
                (Kind::Keyword, "COPY"),
                (Kind::Plain, " "),
                (Kind::Flag, "--from=builder"),
                (Kind::Plain, " /a-b /c")
            ]
        );
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        assert_eq!(
            kinds("RUN echo 'x"),
            vec![
                (Kind::Keyword, "RUN"),
                (Kind::Plain, " echo "),
                (Kind::Str, "'x")
            ]
        );
    }
}
