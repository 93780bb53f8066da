//! BuildKit's `Node.Dump()` format, used to compare our parse with BuildKit's golden results.

use super::node::Node;

impl Node {
    /// One line, e.g. `(copy ["--from=build"] "/app" "/")`.
    pub fn dump(&self) -> String {
        format!("({})", self.dump_inner())
    }

    fn dump_inner(&self) -> String {
        let mut s = self.keyword.to_ascii_lowercase();
        if !self.flags.is_empty() {
            let flags: Vec<String> = self.flags.iter().map(|f| go_quote(&f.text)).collect();
            s.push_str(&format!(" [{}]", flags.join(" ")));
        }
        if let Some(inner) = &self.inner {
            s.push_str(&format!(" ({})", inner.dump_inner()));
        }
        for a in &self.args {
            s.push(' ');
            s.push_str(&go_quote(a));
        }
        for kv in &self.pairs {
            let sep = if kv.legacy { "" } else { "=" };
            s.push_str(&format!(
                " {} {} {}",
                go_quote(&kv.key),
                go_quote(&kv.value),
                go_quote(sep)
            ));
        }
        s.trim().to_string()
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || is_go_unprintable(c) => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_go_unprintable(c: char) -> bool {
    matches!(c, '\u{a0}' | '\u{ad}' | '\u{2000}'..='\u{200f}' | '\u{2028}'..='\u{202f}' | '\u{205f}'..='\u{206f}' | '\u{3000}' | '\u{feff}')
}
