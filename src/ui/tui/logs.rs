//! Build output kept in bounded memory: a ring of lines with a per-step index, so the
//! all-steps view and any one step's view are both O(visible lines) to draw.

use std::collections::{HashMap, VecDeque};

use crate::engine::event::{StepRef, Stream};

#[derive(Debug, Clone)]
pub struct LogLine {
    pub step: u32,
    pub stream: Stream,
    pub text: Box<str>,
}

/// Lines are numbered by a sequence that never repeats, so positions stay valid while old
/// lines are dropped from the front.
#[derive(Debug)]
pub struct LogStore {
    lines: VecDeque<LogLine>,
    /// Sequence number of `lines[0]`.
    base: u64,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    steps: Vec<StepRef>,
    step_ids: HashMap<StepRef, u32>,
    by_step: Vec<VecDeque<u64>>,
}

/// What the log pane lists: every line, or one step's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Step(u32),
}

impl Default for LogStore {
    fn default() -> Self {
        Self::with_limits(2_000_000, 256 << 20)
    }
}

impl LogStore {
    pub fn with_limits(max_lines: usize, max_bytes: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            base: 0,
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes,
            steps: Vec::new(),
            step_ids: HashMap::new(),
            by_step: Vec::new(),
        }
    }

    /// Lines dropped from the front to stay within the limits.
    pub fn dropped(&self) -> u64 {
        self.base
    }

    pub fn step_id(&self, step: &StepRef) -> Option<u32> {
        self.step_ids.get(step).copied()
    }

    pub fn step_ref(&self, id: u32) -> &StepRef {
        &self.steps[id as usize]
    }

    /// Appends one chunk of output: split into lines, terminal control sequences removed.
    pub fn push(&mut self, step: &StepRef, stream: Stream, text: &str) {
        let id = self.intern(step);
        let text = text.strip_suffix('\n').unwrap_or(text);
        for line in text.split('\n') {
            self.push_line(LogLine {
                step: id,
                stream,
                text: clean(line).into(),
            });
        }
    }

    fn intern(&mut self, step: &StepRef) -> u32 {
        if let Some(id) = self.step_ids.get(step) {
            return *id;
        }
        let id = self.steps.len() as u32;
        self.steps.push(step.clone());
        self.step_ids.insert(step.clone(), id);
        self.by_step.push(VecDeque::new());
        id
    }

    fn push_line(&mut self, line: LogLine) {
        let seq = self.base + self.lines.len() as u64;
        self.by_step[line.step as usize].push_back(seq);
        self.bytes += line.text.len();
        self.lines.push_back(line);
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= old.text.len();
            self.by_step[old.step as usize].pop_front();
            self.base += 1;
        }
    }

    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        self.lines
            .get(usize::try_from(seq.checked_sub(self.base)?).ok()?)
    }

    /// Number of lines the filter lists.
    pub fn len(&self, filter: Filter) -> usize {
        match filter {
            Filter::All => self.lines.len(),
            Filter::Step(id) => self.by_step.get(id as usize).map_or(0, VecDeque::len),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Sequence number of the `pos`-th line the filter lists.
    pub fn seq_at(&self, filter: Filter, pos: usize) -> Option<u64> {
        match filter {
            Filter::All => (pos < self.lines.len()).then(|| self.base + pos as u64),
            Filter::Step(id) => self.by_step.get(id as usize)?.get(pos).copied(),
        }
    }

    /// Position of the last listed line at or before `seq`.
    pub fn pos_of(&self, filter: Filter, seq: u64) -> Option<usize> {
        match filter {
            Filter::All => {
                let len = self.lines.len() as u64;
                if len == 0 || seq < self.base {
                    return None;
                }
                Some((seq - self.base).min(len - 1) as usize)
            }
            Filter::Step(id) => {
                let list = self.by_step.get(id as usize)?;
                list.partition_point(|s| *s <= seq).checked_sub(1)
            }
        }
    }

    /// The nearest line before (`older`) or after `from` that the filter lists and that contains `query`.
    pub fn search(&self, filter: Filter, query: &Query, from: usize, older: bool) -> Option<usize> {
        let hit = |pos: usize| {
            self.seq_at(filter, pos)
                .and_then(|seq| self.get(seq))
                .is_some_and(|l| query.matches(&l.text))
        };
        if older {
            (0..from).rev().find(|p| hit(*p))
        } else {
            (from + 1..self.len(filter)).find(|p| hit(*p))
        }
    }

    pub fn count_matches(&self, filter: Filter, query: &Query) -> usize {
        (0..self.len(filter))
            .filter_map(|p| self.seq_at(filter, p).and_then(|s| self.get(s)))
            .filter(|l| query.matches(&l.text))
            .count()
    }
}

/// A search string, case-insensitive unless it has an upper-case letter (smart case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    fold: bool,
}

impl Query {
    pub fn new(text: &str) -> Self {
        let fold = !text.chars().any(char::is_uppercase);
        Self {
            text: if fold {
                text.to_lowercase()
            } else {
                text.to_string()
            },
            fold,
        }
    }

    pub fn matches(&self, line: &str) -> bool {
        self.find(line).is_some()
    }

    /// Byte range of the first match in `line`, if any.
    pub fn find(&self, line: &str) -> Option<(usize, usize)> {
        self.find_from(line, 0)
    }

    pub fn find_from(&self, line: &str, from: usize) -> Option<(usize, usize)> {
        if self.text.is_empty() {
            return None;
        }
        let rest = line.get(from..)?;
        let at = if self.fold && line.is_ascii() {
            ascii_find_ignore_case(rest.as_bytes(), self.text.as_bytes())
        } else if self.fold {
            // Lower-casing may change byte lengths outside ASCII: match char by char instead.
            return fold_find(rest, &self.text).map(|(s, e)| (s + from, e + from));
        } else {
            rest.find(&self.text)
        }?;
        Some((from + at, from + at + self.text.len()))
    }
}

fn ascii_find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

fn fold_find(hay: &str, needle: &str) -> Option<(usize, usize)> {
    let starts: Vec<usize> = hay.char_indices().map(|(i, _)| i).collect();
    for &start in &starts {
        let mut rest = hay[start..].chars().flat_map(char::to_lowercase);
        let mut consumed = hay[start..].char_indices();
        let mut end = start;
        let mut ok = true;
        for want in needle.chars() {
            match rest.next() {
                Some(c) if c == want => {
                    if let Some((i, ch)) = consumed.next() {
                        end = start + i + ch.len_utf8();
                    }
                }
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some((start, end));
        }
    }
    None
}

/// Removes what would garble a cell grid: ANSI escape sequences, carriage-return redraws
/// (keep what the terminal would finally show) and other control characters; tabs become spaces.
pub fn clean(line: &str) -> String {
    let line = line.rsplit('\r').find(|s| !s.is_empty()).unwrap_or("");
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // CSI: parameters and intermediates, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => {
                let pad = 4 - out.chars().count() % 4;
                out.extend(std::iter::repeat_n(' ', pad));
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at(logs: &LogStore, filter: Filter, pos: usize) -> String {
        let seq = logs.seq_at(filter, pos).expect("position listed");
        logs.get(seq).expect("line kept").text.to_string()
    }

    fn step(i: usize) -> StepRef {
        StepRef::new("builder", i)
    }

    #[test]
    fn chunks_split_into_clean_lines() {
        let mut logs = LogStore::default();
        logs.push(&step(1), Stream::Stdout, "one\n\u{1b}[31mtwo\u{1b}[0m\n");
        logs.push(&step(1), Stream::Stderr, "10%\r50%\r100%");
        assert_eq!(logs.len(Filter::All), 3);
        let texts: Vec<_> = (0..3).map(|p| text_at(&logs, Filter::All, p)).collect();
        assert_eq!(texts, ["one", "two", "100%"]);
    }

    #[test]
    fn memory_stays_bounded_and_step_index_follows() {
        let mut logs = LogStore::with_limits(5, usize::MAX);
        for i in 0..10 {
            logs.push(&step(i % 2), Stream::Stdout, &format!("line {i}"));
        }
        assert_eq!(logs.len(Filter::All), 5);
        assert_eq!(logs.dropped(), 5);
        let odd = Filter::Step(logs.step_id(&step(1)).expect("step 1 has output"));
        // Lines 5, 7, 9 remain for step 1.
        assert_eq!(logs.len(odd), 3);
        assert_eq!(text_at(&logs, odd, 0), "line 5");
        assert_eq!(logs.pos_of(odd, 8), Some(1));
    }

    #[test]
    fn byte_limit_drops_old_lines() {
        let mut logs = LogStore::with_limits(usize::MAX, 10);
        logs.push(&step(0), Stream::Stdout, "12345\n67890\nabcde");
        assert_eq!(logs.len(Filter::All), 2);
    }

    #[test]
    fn search_is_smart_case_and_directional() {
        let mut logs = LogStore::default();
        for t in ["Error: a", "ok", "error: b", "ERROR"] {
            logs.push(&step(0), Stream::Stdout, t);
        }
        let q = Query::new("error");
        assert_eq!(logs.count_matches(Filter::All, &q), 3);
        assert_eq!(logs.search(Filter::All, &q, 4, true), Some(3));
        assert_eq!(logs.search(Filter::All, &q, 2, true), Some(0));
        assert_eq!(logs.search(Filter::All, &q, 0, false), Some(2));
        let strict = Query::new("Error");
        assert_eq!(logs.count_matches(Filter::All, &strict), 1);
        assert_eq!(Query::new("ÉTÉ").find("l'été"), None);
        assert_eq!(Query::new("été").find("L'ÉTÉ"), Some((2, 7)));
    }
}
