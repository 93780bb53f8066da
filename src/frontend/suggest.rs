//! "Did you mean …?" suggestions for misspelled keywords and flags.

/// The candidate closest to `word` (case-insensitive edit distance), if it is close enough to be
/// a plausible typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let n = w.chars().count();
    let limit = if n <= 3 { 1 } else { (n / 3).clamp(2, 3) };
    candidates
        .iter()
        .map(|c| (distance(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn typos() {
        assert_eq!(super::closest("FRUM", &["FROM", "RUN"]), Some("FROM"));
        assert_eq!(super::closest("xyzzy", &["FROM", "RUN"]), None);
    }
}
