//! Expansion never grows a word past the cap: for arbitrary input and variables up to 512 KiB
//! (the input's tail, repeated), the result is at most `MAX_GROWTH` bytes longer than the word
//! or the expansion fails as too large. A panic or a longer result is a bug.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use stagecraft::frontend::shell::{self, limits::MAX_GROWTH};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (word, seed) = text.split_once('\0').unwrap_or((text, "xy"));
    let seed = if seed.is_empty() { "x" } else { seed };
    let big = seed.repeat((512 * 1024 / seed.len()).max(1));
    let vars: BTreeMap<String, String> = [
        ("S".to_string(), seed.to_string()),
        ("L".to_string(), big),
        ("W".to_string(), "a b*c ? d".to_string()),
    ]
    .into();
    let limit = word.len() + MAX_GROWTH;
    if let Ok(e) = shell::Lexer::new('\\').process(word, &vars) {
        assert!(e.word.len() <= limit, "word grew to {} bytes", e.word.len());
        assert!(e.words.iter().map(String::len).sum::<usize>() <= limit);
    }
});
