//! The bottom line: build state, elapsed time, progress, cache hit ratio, sizes, key hints,
//! or the search prompt while typing one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::symbols;
use crate::ui::tui::build::StepState;
use crate::ui::tui::format;
use crate::ui::tui::model::{Input, Model};

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let bar = theme.status_bar();
    buf.set_style(area, bar);
    // Spans keep their colour; the bar only lends its background (or reverse video without colour).
    let bar = ratatui::style::Style { fg: None, ..bar };
    if let Input::Search(text) = &m.input {
        let line = Line::from(vec![
            Span::styled(" /", theme.accent.add_modifier(Modifier::BOLD)),
            Span::raw(text.clone()),
            Span::raw("▏"),
        ]);
        line.patch_style(bar).render(area, buf);
        return;
    }
    let left = Line::from(facts(m, area.width >= 100)).patch_style(bar);
    let used = left.width() as u16;
    left.render(area, buf);
    let right = match &m.notice {
        Some(notice) => Line::from(Span::styled(format!("{notice} "), theme.accent)),
        None => Line::from(hints(m, area.width.saturating_sub(used))),
    };
    right.patch_style(bar).right_aligned().render(area, buf);
}

/// The build's state word and its style.
fn state(m: &Model) -> (String, Style) {
    let (theme, b) = (&m.theme, &m.build);
    match &b.finished {
        Some(f) if f.error.is_some() || f.totals.failed > 0 => {
            (" ✗ failed ".to_string(), theme.failed)
        }
        Some(_) => (" ✓ built ".to_string(), theme.done),
        None if b.started.is_none() => (" ○ waiting ".to_string(), theme.dim),
        None if m.stream_closed => (" ■ stream ended ".to_string(), theme.paused),
        None if m.paused().is_some() => {
            let at = m.paused().map(ToString::to_string).unwrap_or_default();
            let keys = if m.live { ": c continue, n step" } else { "" };
            (format!(" ‖ paused at {at}{keys} "), theme.paused)
        }
        None => (
            format!(" {} building ", symbols::spinner(m.ticks)),
            theme.running,
        ),
    }
}

/// State, elapsed, steps, cache ratio, sizes and warnings; narrow terminals get the same facts
/// with fewer words.
fn facts(m: &Model, wide: bool) -> Vec<Span<'static>> {
    let (theme, b) = (&m.theme, &m.build);
    let (state, style) = state(m);
    let (hits, known) = b.cache_ratio();
    let ratio = (hits * 100)
        .checked_div(known)
        .map_or_else(|| "–".into(), |r| format!("{r}%"));
    let sep = || Span::styled(" │ ", theme.dim);
    let cache = if wide {
        format!("cache {ratio} ({hits}/{known})")
    } else {
        format!("cache {ratio}")
    };
    let layers = if wide {
        format!("layers {}", format::size(b.layers_size()))
    } else {
        format::size(b.layers_size())
    };
    let steps = format!("steps {}/{}", b.steps_done(), b.steps_total());
    let mut out = vec![
        Span::styled(state, style.add_modifier(Modifier::BOLD)),
        sep(),
        Span::styled(format::duration(b.elapsed(m.clock())), theme.text),
        sep(),
        Span::styled(steps, theme.text),
        sep(),
        Span::styled(cache, theme.cached),
        sep(),
        Span::styled(layers, theme.text),
    ];
    if !b.warnings.is_empty() {
        let n = b.warnings.len();
        let s = if n == 1 { "" } else { "s" };
        out.extend([
            sep(),
            Span::styled(format!("⚠ {n} warning{s}"), theme.paused),
        ]);
    }
    if let Some(f) = &b.finished
        && f.totals.image_size > 0
    {
        let label = if wide { " │ image " } else { " → " };
        out.push(Span::styled(label, theme.dim));
        out.push(Span::styled(
            format::size(f.totals.image_size),
            theme.accent,
        ));
    }
    out
}

/// The keys that matter now, as many as fit in `room` columns.
fn hints(m: &Model, room: u16) -> Vec<Span<'static>> {
    let theme = &m.theme;
    let failed = m
        .selected_step()
        .is_some_and(|s| s.state == StepState::Failed);
    let hints: &[(&str, &str)] = if failed {
        &[
            ("s", "shell before failure"),
            ("S", "after"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else if m.mark.is_some() {
        // A mark waits for its second half.
        &[
            ("d", "diff with the mark"),
            ("m", "mark here"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else {
        &[
            ("?", "help"),
            ("Tab", "pane"),
            ("/", "search"),
            ("s", "shell"),
            ("t", "layer"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    let mut width = 0u16;
    for (key, what) in hints {
        let w = (key.len() + what.len() + 3) as u16;
        if width + w + 1 > room {
            break;
        }
        spans.push(Span::styled(
            format!(" {key}"),
            theme.accent.add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what} "), theme.dim));
        width += w;
    }
    spans
}
