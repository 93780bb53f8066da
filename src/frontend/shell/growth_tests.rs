//! Size growth under generated words: whatever nesting of substitutions, pattern replacements and
//! defaults a word holds, its expansion either stays within [`MAX_GROWTH`] of the word as written
//! or fails as too large. Deterministic (a fixed xorshift seed), so a failure reproduces; the
//! libFuzzer target `expand_growth` (fuzz/) checks the same invariant on arbitrary input.

use std::collections::BTreeMap;

use super::limits::MAX_GROWTH;
use super::{Lexer, Vars};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A word of `depth` nested substitutions over the variables `S`, `M`, `L`, `W`.
fn word(rng: &mut Rng, depth: u32) -> String {
    let mut out = String::new();
    for _ in 0..1 + rng.next() % 4 {
        let var = rng.pick(&["S", "M", "L", "W", "NONE"]);
        let inner = if depth == 0 {
            rng.pick(&["x", "$S", "${M}", "\"$L\"", "'$L'", "\\$L"])
                .to_string()
        } else {
            word(rng, depth - 1)
        };
        let piece = match rng.next() % 10 {
            0 => format!("${var}"),
            1 => format!("${{{var}:-{inner}}}"),
            2 => format!("${{{var}:+{inner}{inner}}}"),
            3 => format!("${{{var}//?/{inner}}}"),
            4 => format!("${{{var}/x/{inner}}}"),
            5 => format!("${{{var}#*}}{inner}"),
            6 => format!("${{{var}%%?}}"),
            7 => format!("\"{inner}${{#{var}}}\""),
            8 => format!("{inner}{inner}{inner}{inner}"),
            _ => format!("${{{var}-{inner}}}"),
        };
        out.push_str(&piece);
    }
    out
}

fn vars() -> BTreeMap<String, String> {
    [
        ("S", "x".to_string()),
        ("M", "xy".repeat(500)),
        ("L", "x".repeat(300_000)),
        ("W", "a b*c ? d".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn generated_words_stay_within_the_growth_cap_or_fail_as_too_large() {
    let vars = vars();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut capped) = (0, 0);
    for n in 0..240 {
        let w = word(&mut rng, (n % 4) as u32);
        match Lexer::new('\\').process(&w, &vars as &dyn Vars) {
            Ok(e) => {
                let limit = w.len() + MAX_GROWTH;
                assert!(e.word.len() <= limit, "{w:?}: {} bytes", e.word.len());
                let split: usize = e.words.iter().map(String::len).sum();
                assert!(split <= limit, "{w:?}: words hold {split} bytes");
                ok += 1;
            }
            Err(e) if e.too_large => capped += 1,
            Err(_) => {}
        }
    }
    // Both sides of the cap were reached, so the test says something about it.
    assert!(ok > 20 && capped > 20, "{ok} expanded, {capped} capped");
}

#[test]
fn quoted_parts_count_together() {
    let vars = vars();
    let quoted = "\"$L\"".repeat(4);
    let err = Lexer::new('\\').process(&quoted, &vars as &dyn Vars);
    assert!(
        err.is_err_and(|e| e.too_large),
        "4 × 300 KB in quotes passed the cap"
    );
}
