//! Untrusted text on a terminal. Whatever comes from a build (RUN output, instruction text), a
//! context (file names), an image or a registry (tags, paths, error bodies) may hold escape
//! sequences that set the title, clear the screen, write the clipboard (OSC 52) or make the
//! terminal type a reply into the user's shell (`ESC [ 6 n`). Before such text reaches a
//! terminal, every control character is made visible the way `cat -v` and BuildKit's plain
//! progress do (`ESC` → `^[`); colour stays only where we add it ourselves, after this.

use std::borrow::Cow;

/// `s` with control characters shown in caret notation: C0 as `^@`…`^_`, DEL as `^?`, C1
/// (U+0080–U+009F, which some terminals obey like `ESC x`) as `M-^@`…`M-^_`. Newlines and tabs
/// stay; so does every printable character, whatever its script.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_caret) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// `visible` for one line: newlines shown too (`^J`), so one untrusted value cannot fake
/// lines of ours (a file name or a tag printed inside a sentence).
pub fn visible_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\n' || needs_caret(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("^J"),
            c => push_visible(&mut out, c),
        }
    }
    Cow::Owned(out)
}

fn needs_caret(c: char) -> bool {
    c != '\n' && c != '\t' && c.is_control()
}

fn push_visible(out: &mut String, c: char) {
    let code = c as u32;
    match code {
        _ if !needs_caret(c) => out.push(c),
        0x7f => out.push_str("^?"),
        0x80..=0x9f => {
            out.push_str("M-^");
            out.push(char::from((code - 0x80 + 0x40) as u8));
        }
        _ => {
            out.push('^');
            out.push(char::from((code + 0x40) as u8));
        }
    }
}

/// A writer that passes text through [`visible`]: everything a printer writes is shown, none of
/// it obeyed. Printers write whole `str` pieces (`write!`), so no character is split; bytes that
/// are not UTF-8 are replaced.
pub struct VisibleWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for VisibleWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(visible(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_caret_notation() {
        assert_eq!(visible("\u{1b}]0;pwned\u{7}"), "^[]0;pwned^G");
        assert_eq!(visible("\u{1b}[2J\u{1b}[6n"), "^[[2J^[[6n");
        assert_eq!(visible("a\u{9b}6n\u{7f}\r"), "aM-^[6n^?^M");
        assert_eq!(visible("\u{0}\u{1f}"), "^@^_");
    }

    #[test]
    fn plain_text_and_layout_stay() {
        assert!(matches!(
            visible("tab\there\nnext ünïcödé 名前"),
            Cow::Borrowed(_)
        ));
        assert_eq!(visible_line("two\nlines"), "two^Jlines");
    }

    #[test]
    fn the_writer_shows_what_passes_through() {
        use std::io::Write;
        let mut w = VisibleWriter(Vec::new());
        let osc52 = "\u{1b}]52;c;aGk=\u{7}";
        writeln!(w, "#1 {osc52}").expect("write");
        assert_eq!(String::from_utf8_lossy(&w.0), "#1 ^[]52;c;aGk=^G\n");
    }
}
