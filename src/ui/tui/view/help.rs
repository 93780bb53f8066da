//! The `?` overlay: every key, grouped by what it acts on.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::ui::tui::model::Model;

const KEYS: &[(&str, &[(&str, &str)])] = &[
    (
        "everywhere",
        &[
            ("Tab / S-Tab, 1-3", "next / previous pane, go to pane"),
            ("↑↓←→ / hjkl", "move"),
            ("PgUp PgDn, C-u C-d", "page, half page"),
            ("g / G", "top / bottom (logs: follow)"),
            ("F  w", "follow the running step, watch: rebuild on edits"),
            ("t  e", "layer tree of the step, explain it in plain words"),
            ("?  q  C-c", "this help, quit"),
        ],
    ),
    (
        "stages and steps",
        &[
            ("Enter", "stage → its steps → that step's logs"),
            (
                "b  c  n",
                "breakpoint on the step, continue, one step (live build)",
            ),
            (
                "s  S",
                "shell after the step (failed: before it / what it left)",
            ),
            (
                "m  d",
                "mark; diff mark → selection (failed step: what it left)",
            ),
            ("click, wheel", "select, move"),
        ],
    ),
    (
        "logs",
        &[
            ("/  n  N  Esc", "search, older, newer, clear"),
            ("f", "only the selected step / all"),
        ],
    ),
    (
        "layer tree",
        &[
            ("Enter l / h", "expand / collapse"),
            (
                "s  c  p",
                "sort by size or name, only changes, file's origin",
            ),
            ("marks", "+ added  ~ modified  - removed  · changed below"),
        ],
    ),
];

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let mut lines = Vec::new();
    for (group, keys) in KEYS {
        lines.push(Line::styled(
            *group,
            theme.title.add_modifier(Modifier::BOLD),
        ));
        for (key, what) in *keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {key:<20}"), theme.accent),
                Span::styled(*what, theme.text),
            ]));
        }
    }
    lines.push(Line::styled(
        "states: · waiting ○ queued ⠋ running ‖ paused ◆ cached ✓ done ✗ failed ⊘ skipped",
        theme.dim,
    ));
    super::popup::render(theme, "keys", lines, (84, false), buf, area);
}
