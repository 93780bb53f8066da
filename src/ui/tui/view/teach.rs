//! The lesson pane (left of the build), the `e` explanation popup, and the watch badge.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget};

use crate::ui::tui::format;
use crate::ui::tui::model::Model;
use crate::ui::tui::narrate::Explanation;
use crate::ui::tui::state::teach::LessonPane;
use crate::ui::tui::theme::Theme;

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let width = m.teach.lesson_width(area.width);
    if let Some(lesson) = &m.teach.lesson
        && width > 0
    {
        draw_lesson(&m.theme, lesson, buf, Rect::new(0, 0, width, area.height));
    }
    if m.teach.watching == Some(true) {
        let badge = " ◉ watching ";
        let build = m.teach.build_area(area.width, area.height);
        let x = build
            .right()
            .saturating_sub(badge.chars().count() as u16 + 2);
        buf.set_string(
            x,
            build.y,
            badge,
            m.theme.running.add_modifier(Modifier::BOLD),
        );
    }
}

/// The `e` popup: the selected step or stage in plain words.
pub fn explanation(m: &Model, e: &Explanation, buf: &mut Buffer, area: Rect) {
    {
        let w = area.width.saturating_sub(8).min(90);
        let inner_w = w.saturating_sub(4) as usize;
        let mut lines = Vec::new();
        for (i, para) in e.lines.iter().filter(|l| !l.is_empty()).enumerate() {
            if i > 0 {
                lines.push(Line::raw(""));
            }
            lines.extend(wrap(para, inner_w).into_iter().map(Line::raw));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled("e or any key closes", m.theme.dim));
        let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
        let popup = Rect::new(
            area.x + (area.width.saturating_sub(w)) / 2,
            area.y + (area.height.saturating_sub(h)) / 2,
            w,
            h,
        );
        Clear.render(popup, buf);
        Paragraph::new(lines)
            .style(m.theme.base)
            .block(
                Block::new()
                    .borders(Borders::ALL)
                    .border_type(BorderType::Rounded)
                    .border_style(m.theme.border_focus)
                    .title(Span::styled(
                        format!(" {} ", truncate(&e.title, w.saturating_sub(4) as usize)),
                        m.theme.accent.add_modifier(Modifier::BOLD),
                    ))
                    .padding(ratatui::widgets::Padding::horizontal(1)),
            )
            .render(popup, buf);
    }
}

/// The last scroll position that still fills the lesson pane.
pub fn max_scroll(m: &Model) -> u16 {
    let width = m.teach.lesson_width(m.width);
    let Some(l) = &m.teach.lesson else { return 0 };
    let lines = lesson_lines(&m.theme, l, width.saturating_sub(2) as usize).len() as u16;
    lines.saturating_sub(m.height.saturating_sub(2))
}

fn draw_lesson(theme: &Theme, l: &LessonPane, buf: &mut Buffer, area: Rect) {
    let inner_w = area.width.saturating_sub(2) as usize;
    let lines = lesson_lines(theme, l, inner_w);
    let visible = area.height.saturating_sub(2);
    let max = (lines.len() as u16).saturating_sub(visible);
    let scroll = l.scroll.min(max);
    let title = Line::from(vec![Span::styled(
        format!(" lesson {}: {} ", l.info.number, l.info.title),
        theme.accent.add_modifier(Modifier::BOLD),
    )]);
    let keys = Line::from(Span::styled(" a try · [ ] scroll ", theme.dim)).right_aligned();
    Paragraph::new(lines)
        .style(theme.base)
        .scroll((scroll, 0))
        .block(
            Block::new()
                .borders(Borders::ALL)
                .border_type(BorderType::Rounded)
                .border_style(theme.border)
                .title(title)
                .title_bottom(keys),
        )
        .render(area, buf);
}

/// Every line of the pane at `width`: the text, the try steps with their state, the runs.
pub fn lesson_lines<'a>(theme: &Theme, l: &LessonPane, width: usize) -> Vec<Line<'a>> {
    let mut out: Vec<Line> = Vec::new();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    for block in paragraphs(&l.info.text) {
        // The title is in the border, and the try steps are listed below with their state.
        if block.starts_with("# ") {
            continue;
        }
        if block.starts_with("## Try this") {
            break;
        }
        if let Some(h) = block.strip_prefix("## ") {
            out.push(Line::styled(h.to_string(), theme.accent.patch(bold)));
            continue;
        }
        if block.is_empty() {
            out.push(Line::raw(""));
            continue;
        }
        let text = block.replace("**", "").replace('`', "");
        // List items keep their indent on wrapped lines.
        let indent = text.len()
            - text
                .trim_start_matches([' ', '-', '1', '2', '3', '.'])
                .len();
        for (i, piece) in wrap(&text[indent..], width.saturating_sub(indent))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 {
                text[..indent].to_string()
            } else {
                " ".repeat(indent)
            };
            out.push(Line::styled(format!("{lead}{piece}"), theme.text));
        }
    }
    out.push(Line::styled("Try this", theme.accent.patch(bold)));
    for (i, (title, look)) in l.info.steps.iter().enumerate() {
        let (mark, style) = if i < l.applied {
            ("✓", theme.done)
        } else if i == l.applied {
            ("▶", theme.accent.patch(bold))
        } else {
            ("·", theme.dim)
        };
        let head = format!("{mark} {}. {title}", i + 1);
        let key = if i == l.applied { "  [a]" } else { "" };
        out.push(Line::from(vec![
            Span::styled(head, style),
            Span::styled(key, theme.dim),
        ]));
        if i < l.applied {
            for piece in wrap(look, width.saturating_sub(4)) {
                out.push(Line::styled(format!("    {piece}"), theme.text));
            }
        }
    }
    out.push(Line::raw(""));
    let copy = format!(
        "Working copy: {} — edit it yourself too; w rebuilds on every save.",
        l.info.workdir
    );
    for piece in wrap(&copy, width) {
        out.push(Line::styled(piece, theme.dim));
    }
    if !l.runs.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled(
            "Runs (from this build's events and explain)",
            theme.accent.patch(bold),
        ));
    }
    for (i, r) in l.runs.iter().enumerate() {
        let head = if r.ok {
            format!(
                "#{} {}: image {}, {} steps, {} cached, {:.1} s",
                i + 1,
                r.label,
                format::size(r.image_size),
                r.steps,
                r.cached,
                r.seconds
            )
        } else {
            format!(
                "#{} {}: failed ({} steps, {} cached)",
                i + 1,
                r.label,
                r.steps,
                r.cached
            )
        };
        let style = if r.ok { theme.text } else { theme.failed };
        for piece in wrap(&head, width) {
            out.push(Line::styled(piece, style));
        }
        for f in &r.findings {
            for piece in wrap(f, width.saturating_sub(4)) {
                out.push(Line::styled(format!("    {piece}"), theme.dim));
            }
        }
    }
    out
}

/// The markdown's blocks: headings, paragraphs and list items with their hard-wrapped lines
/// joined, and one empty string per blank line run.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let t = line.trim_start();
        let starts_item = t.starts_with("- ")
            || t.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if t.is_empty() {
            if open || out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            open = false;
        } else if t.starts_with('#') || starts_item || !open {
            out.push(line.trim_end().to_string());
            open = !t.starts_with('#');
        } else if let Some(last) = out.last_mut() {
            last.push(' ');
            last.push_str(t);
        }
    }
    out
}

/// Greedy word wrap; words longer than the width are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let wl = word.chars().count();
        let cl = cur.chars().count();
        if cl > 0 && cl + 1 + wl > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        if wl > width {
            cur.push_str(&word.chars().take(width).collect::<String>());
        } else {
            cur.push_str(word);
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
