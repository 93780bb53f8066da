//! Steps of the selected stage: instruction (highlighted), state, duration, layer size, cache outcome.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{pane, symbols};
use crate::ui::tui::build::{Cache, StepState, StepView};
use crate::ui::tui::layout::{self, Pane};
use crate::ui::tui::model::Model;
use crate::ui::tui::nav::{detail_lines, steps_rows};
use crate::ui::tui::theme::Theme;
use crate::ui::tui::{format, highlight};

const DURATION_W: usize = 7;
const SIZE_W: usize = 9;

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let Some(stage) = m.selected_stage() else {
        pane(m, Pane::Steps, Span::styled("Steps ", theme.title), None).render(area, buf);
        return;
    };
    let title = Line::from(vec![
        Span::styled("Steps · ", theme.title),
        Span::styled(format!("{} ", stage.label), theme.text),
    ]);
    let right = Line::from(vec![
        Span::styled(" FROM ", theme.keyword),
        Span::styled(format!("{} ", format::truncate(&stage.base, 30)), theme.dim),
    ]);
    pane(m, Pane::Steps, title, Some(right)).render(area, buf);
    let inner = layout::inner(area);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    let cols = Columns::for_width(usize::from(inner.width));
    cols.header(theme).render(row(inner, 0), buf);
    let rows = usize::from(steps_rows(area.height));
    for (i, step) in stage
        .steps
        .iter()
        .enumerate()
        .skip(m.steps_scroll)
        .take(rows)
    {
        let y = 1 + (i - m.steps_scroll) as u16;
        step_line(m, step, i, cols).render(row(inner, y), buf);
    }
    footer(m, stage.skipped.as_deref(), inner, area.height, buf);
}

/// How wide the instruction and cache columns are.
#[derive(Clone, Copy)]
struct Columns {
    text: usize,
    cache: usize,
}

impl Columns {
    /// Wide panes get the miss reason in the table; narrow ones a hit/miss word (the reason is
    /// below).
    fn for_width(width: usize) -> Self {
        let cache = if width >= 90 {
            (width / 4).min(30)
        } else if width >= 50 {
            4
        } else {
            0
        };
        let fixed = 2 + 4 + DURATION_W + 1 + SIZE_W + 1 + cache + usize::from(cache > 0);
        Self {
            text: width.saturating_sub(fixed),
            cache,
        }
    }

    fn header(self, theme: &Theme) -> Line<'static> {
        let mut header = vec![
            Span::raw(" "),
            Span::raw("   #"),
            Span::raw(" "),
            Span::raw(pad("instruction", self.text)),
            Span::raw(format!("{:>DURATION_W$} {:>SIZE_W$}", "time", "size")),
        ];
        if self.cache > 0 {
            header.push(Span::raw(format!(" {}", pad("cache", self.cache))));
        }
        Line::from(header).style(theme.dim.add_modifier(Modifier::UNDERLINED))
    }
}

/// One step's row: state, breakpoint, index, instruction, time, size and cache.
fn step_line(m: &Model, step: &StepView, i: usize, cols: Columns) -> Line<'static> {
    let theme = &m.theme;
    let (symbol, style) = symbols::step(step.state, m.ticks, theme);
    let mut spans = vec![
        Span::styled(format!(" {symbol}"), style),
        if m.breakpoints.contains(&step.step) {
            Span::styled(" ●", theme.failed)
        } else {
            Span::raw("  ")
        },
        Span::styled(format!("{:>2} ", step.step.index), theme.dim),
    ];
    spans.extend(fit(highlight::instruction(&step.text, theme), cols.text));
    let duration = step
        .elapsed(m.clock())
        .map(format::duration)
        .unwrap_or_default();
    let size = step
        .layer
        .as_ref()
        .map(|l| format::size(l.size))
        .unwrap_or_default();
    spans.push(Span::styled(format!("{duration:>DURATION_W$} "), theme.dim));
    spans.push(Span::styled(format!("{size:>SIZE_W$}"), theme.text));
    if cols.cache > 0 {
        spans.push(cache_cell(step, cols.cache, theme));
    }
    let mut line = Line::from(spans);
    if i == m.step {
        line = line.patch_style(theme.selection());
        if m.focus == Pane::Steps {
            line = line.patch_style(ratatui::style::Style::new().add_modifier(Modifier::BOLD));
        }
    }
    line
}

fn cache_cell(step: &StepView, width: usize, theme: &Theme) -> Span<'static> {
    let (text, style) = match &step.cache {
        // Pulled from a --cache-from source (the details line names it).
        Cache::Hit if step.cached_from.is_some() && width >= 11 => {
            ("hit: remote".to_string(), theme.cached)
        }
        Cache::Hit if step.cached_from.is_some() => ("hit↓".to_string(), theme.cached),
        Cache::Hit => ("hit".to_string(), theme.cached),
        Cache::Miss(_) if width < 10 => ("miss".to_string(), theme.paused),
        Cache::Miss(reason) => (format!("miss: {reason}"), theme.paused),
        Cache::Unknown => (String::new(), theme.dim),
    };
    Span::styled(
        format!(" {}", pad(&format::truncate(&text, width), width)),
        style,
    )
}

/// Under the rows: why the stage was skipped, or the selected step's details.
fn footer(m: &Model, skipped: Option<&str>, inner: Rect, height: u16, buf: &mut Buffer) {
    let theme = &m.theme;
    if let Some(reason) = skipped {
        let line = Line::from(vec![
            Span::styled(" ⊘ skipped: ", theme.emphasis(theme.skipped, true)),
            Span::styled(reason.to_string(), theme.text),
        ]);
        let y = inner.height.saturating_sub(detail_lines(height));
        line.render(row(inner, y), buf);
    } else if let Some(step) = m.selected_step() {
        let [a, b] = details(m, step);
        if detail_lines(height) == 2 {
            a.render(row(inner, inner.height.saturating_sub(2)), buf);
            b.render(row(inner, inner.height.saturating_sub(1)), buf);
        } else {
            // One line: what matters most, the failure, else why it ran.
            let line = if step.failure.is_some() { b } else { a };
            line.render(row(inner, inner.height.saturating_sub(1)), buf);
        }
    }
}

/// Two lines about the selected step: where it is and why it ran; what it produced or how it failed.
fn details<'a>(m: &Model, step: &'a StepView) -> [Line<'a>; 2] {
    let theme = &m.theme;
    let mut first = vec![Span::styled(
        format!(" {} · line {} · ", step.step, step.line),
        theme.dim,
    )];
    match &step.cache {
        Cache::Hit => {
            first.push(Span::styled("cache hit", theme.cached));
            if let Some(from) = &step.cached_from {
                first.push(Span::styled(" from ", theme.dim));
                first.push(Span::styled(crate::ui::visible::visible(from), theme.text));
            }
        }
        Cache::Miss(reason) => {
            first.push(Span::styled("cache miss: ", theme.paused));
            first.push(Span::styled(reason.as_str(), theme.text));
        }
        Cache::Unknown => first.push(Span::styled(state_word(step.state), theme.dim)),
    }
    let second = if let Some(failure) = &step.failure {
        let code = failure
            .exit_code
            .map(|c| format!("exit {c}: "))
            .unwrap_or_default();
        vec![
            Span::styled(
                format!(" ✗ {code}"),
                theme.failed.add_modifier(Modifier::BOLD),
            ),
            Span::styled(failure.message.as_str(), theme.failed),
        ]
    } else if let Some(layer) = &step.layer {
        vec![
            Span::styled(" layer ", theme.dim),
            Span::styled(format::size(layer.size), theme.text),
            Span::styled(
                format!(" ({} compressed) ", format::size(layer.compressed_size)),
                theme.dim,
            ),
            Span::styled(format!("+{}", layer.added), theme.added),
            Span::styled(format!(" ~{}", layer.modified), theme.modified),
            Span::styled(format!(" -{}", layer.removed), theme.removed),
            Span::styled(format!("  {}", short_digest(&layer.digest)), theme.dim),
        ]
    } else {
        let why = match step.state {
            StepState::Running | StepState::Paused => " layer: not committed yet",
            StepState::Pending | StepState::Queued => " layer: the step has not run",
            _ => " no layer: this step only changes the image config",
        };
        vec![Span::styled(why, theme.dim)]
    };
    [Line::from(first), Line::from(second)]
}

fn state_word(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "waiting",
        StepState::Queued => "queued",
        StepState::Running => "running",
        StepState::Paused => "paused at a breakpoint",
        StepState::Cached => "cached",
        StepState::Done => "done",
        StepState::Failed => "failed",
    }
}

fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex.chars().take(12).collect()
}

fn row(inner: Rect, y: u16) -> Rect {
    Rect {
        y: inner.y + y.min(inner.height.saturating_sub(1)),
        height: 1,
        ..inner
    }
}

fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// Cuts styled spans to exactly `width` columns, padding or ending with `…`.
pub(super) fn fit(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for span in spans {
        let len = span.content.chars().count();
        if used + len <= width {
            used += len;
            out.push(span);
            continue;
        }
        let room = width - used;
        if room > 0 {
            let cut: String = span.content.chars().take(room - 1).chain(['…']).collect();
            out.push(Span::styled(cut, span.style));
        }
        used = width;
        break;
    }
    if used < width {
        out.push(Span::raw(" ".repeat(width - used)));
    }
    out
}
