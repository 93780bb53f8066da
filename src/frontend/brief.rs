//! Untrusted text cut to a size a person can read in an error: a long line keeps its start and
//! says how much was left out, a long list keeps its first items and a count. (Lives at the
//! bottom layer so every error above can use it.)

/// `text` up to `max` characters, then `… (N more bytes)`.
pub fn line(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut),
    }
}

/// Every line of `text` cut to `max` characters (for multi-line error texts).
pub fn lines(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    text.split('\n')
        .map(|l| line(l, max))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first `max` items joined by `, `, then `(+N more)`.
pub fn list<S: AsRef<str>>(items: &[S], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut out = shown.join(", ");
    if items.len() > max {
        out.push_str(&format!(" (+{} more)", items.len() - max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_and_lists_are_cut_with_a_count() {
        assert_eq!(line("short", 10), "short");
        assert_eq!(line("abcdef", 3), "abc… (3 more bytes)");
        assert_eq!(line("ééé", 1), "é… (4 more bytes)");
        assert_eq!(lines("ab\ncdef\ng", 2), "ab\ncd… (2 more bytes)\ng");
        let tags: Vec<String> = (0..446_925).map(|i| format!("t{i}")).collect();
        assert_eq!(list(&tags, 3), "t0, t1, t2 (+446922 more)");
        assert_eq!(list(&["a", "b"], 3), "a, b");
    }
}
