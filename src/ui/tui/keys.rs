//! Keyboard: vim keys and arrows, Tab between panes, `/` search, `?` help.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::graph::NodeKind;
use super::layout::Pane;
use super::logs::Query;
use super::model::{Input, Layer, Model, Search};
use super::msg::Effect;
use super::nav::{self, center_log, log_rows, scroll_logs, steps_rows, tree_rows};
use super::state::overlay::Overlay;
use super::teach;
use super::{diffview, provenance, shell};
use crate::engine::event::Control;

/// Movement a key asks for, whatever pane it lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Up(usize),
    Down(usize),
    Left,
    Right,
    Top,
    Bottom,
}

pub fn on_key(m: &mut Model, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return nav::quit(m);
    }
    m.notice = None;
    if let Input::Search(_) = &m.input {
        search_prompt(m, key, ctrl);
        return Vec::new();
    }
    if let Some(effects) = overlay_key(m, key) {
        return effects;
    }
    if let Some(effects) = control_key(m, key).or_else(|| action_key(m, key, ctrl)) {
        return effects;
    }
    if let Some(mv) = movement(m, key, ctrl) {
        navigate(m, m.focus, mv);
    }
    Vec::new()
}

/// Typing a `/` search.
fn search_prompt(m: &mut Model, key: KeyEvent, ctrl: bool) {
    let Input::Search(text) = &mut m.input else {
        return;
    };
    match key.code {
        KeyCode::Enter => {
            let text = std::mem::take(text);
            m.input = Input::Normal;
            start_search(m, &text);
        }
        KeyCode::Esc => m.input = Input::Normal,
        // Backspace on an empty prompt leaves it, like a shell's vi mode.
        KeyCode::Backspace if text.pop().is_none() => m.input = Input::Normal,
        KeyCode::Char(c) if !ctrl => text.push(c),
        _ => {}
    }
}

/// An overlay has the keys: the diff view all of them; help, an explanation and a provenance
/// chain close on any key (`q` still quits).
fn overlay_key(m: &mut Model, key: KeyEvent) -> Option<Vec<Effect>> {
    match m.overlay {
        Overlay::None => None,
        Overlay::Diff(_) => Some(diffview::on_key(m, key)),
        Overlay::Help | Overlay::Explain(_) | Overlay::Provenance(_) => {
            m.overlay = Overlay::None;
            (key.code != KeyCode::Char('q')).then(Vec::new)
        }
    }
}

/// Quitting, focus, search, the build's debugger keys and the log filters.
fn control_key(m: &mut Model, key: KeyEvent) -> Option<Vec<Effect>> {
    let none = Some(Vec::new());
    match key.code {
        KeyCode::Char('q') => Some(nav::quit(m)),
        KeyCode::Char('?') => {
            m.overlay = Overlay::Help;
            none
        }
        KeyCode::Tab => {
            cycle_focus(m, 1);
            none
        }
        KeyCode::BackTab => {
            cycle_focus(m, -1);
            none
        }
        KeyCode::Char(c @ '1'..='3') => {
            m.focus = m.panes()[usize::from(c as u8 - b'1')];
            none
        }
        KeyCode::Esc => {
            m.log.search = None;
            none
        }
        KeyCode::Char('/') => {
            m.input = Input::Search(String::new());
            none
        }
        // While the engine holds a step, `c` and `n` drive it (as in a debugger); else `n` searches.
        KeyCode::Char('c') if m.focus != Pane::Tree && m.live && m.paused().is_some() => {
            Some(vec![Effect::Control(Control::Continue)])
        }
        KeyCode::Char('n') if m.live && m.paused().is_some() && m.log.search.is_none() => {
            Some(vec![Effect::Control(Control::StepOnce)])
        }
        KeyCode::Char('b') if m.focus != Pane::Tree => Some(toggle_breakpoint(m)),
        KeyCode::Char('n') => Some(next_match(m, true)),
        KeyCode::Char('N') => Some(next_match(m, false)),
        KeyCode::Char('f') => {
            m.log.only_step = !m.log.only_step;
            m.log.anchor = None;
            none
        }
        KeyCode::Char('F') => {
            m.follow_build = !m.follow_build;
            if let Some(step) = m.build.latest_step.clone().filter(|_| m.follow_build) {
                nav::select_step(m, &step);
            }
            none
        }
        _ => None,
    }
}

/// What opens something: the layer tree, explanations, lessons, shells, marks and diffs.
fn action_key(m: &mut Model, key: KeyEvent, ctrl: bool) -> Option<Vec<Effect>> {
    let tree = m.focus == Pane::Tree;
    Some(match key.code {
        KeyCode::Char('t') => toggle_tree(m),
        KeyCode::Char('e') => teach::explain(m),
        KeyCode::Char('w') => teach::toggle_watch(m),
        KeyCode::Char('a') => teach::next_step(m),
        KeyCode::Char('[') => {
            teach::scroll_lesson(m, -3);
            Vec::new()
        }
        KeyCode::Char(']') => {
            teach::scroll_lesson(m, 3);
            Vec::new()
        }
        KeyCode::Char('s') if tree => {
            if let Layer::Ready(view) = &mut m.layer {
                view.toggle_sort();
            }
            Vec::new()
        }
        KeyCode::Char('c') if tree => {
            if let Layer::Ready(view) = &mut m.layer {
                view.toggle_only_changes();
            }
            Vec::new()
        }
        KeyCode::Char('s') => open_shell(m),
        KeyCode::Char('S') => shell_after_failure(m),
        KeyCode::Char('m') => diffview::mark(m),
        KeyCode::Char('p') if tree => provenance::open_popup(m),
        KeyCode::Enter if tree && provenance::enter_opens(m) => provenance::open_popup(m),
        KeyCode::Char('d') if !ctrl => diffview::open(m),
        KeyCode::Enter | KeyCode::Char(' ') => activate(m),
        _ => return None,
    })
}

/// Movement keys, whatever pane they land in.
fn movement(m: &Model, key: KeyEvent, ctrl: bool) -> Option<Move> {
    let page = || -> usize {
        let a = m.areas();
        usize::from(match m.focus {
            Pane::Graph => 1,
            Pane::Steps => steps_rows(a.steps.height),
            Pane::Logs => log_rows(a.detail.height),
            Pane::Tree => tree_rows(a.detail.height),
        })
        .max(1)
    };
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Move::Up(1),
        KeyCode::Down | KeyCode::Char('j') => Move::Down(1),
        KeyCode::Left | KeyCode::Char('h') => Move::Left,
        KeyCode::Right | KeyCode::Char('l') => Move::Right,
        KeyCode::PageUp => Move::Up(page()),
        KeyCode::PageDown => Move::Down(page()),
        KeyCode::Char('u') if ctrl => Move::Up(page() / 2),
        KeyCode::Char('d') if ctrl => Move::Down(page() / 2),
        KeyCode::Home | KeyCode::Char('g') => Move::Top,
        KeyCode::End | KeyCode::Char('G') => Move::Bottom,
        _ => return None,
    })
}

fn cycle_focus(m: &mut Model, by: isize) {
    let panes = m.panes();
    let at = panes.iter().position(|p| *p == m.focus).unwrap_or(0) as isize;
    m.focus = panes[(at + by).rem_euclid(panes.len() as isize) as usize];
}

/// Enter: from a stage to its steps, from a step to its logs, in the tree open a directory.
fn activate(m: &mut Model) -> Vec<Effect> {
    match m.focus {
        Pane::Graph => m.focus = Pane::Steps,
        Pane::Steps => {
            m.log.only_step = true;
            m.log.anchor = None;
            m.focus = if m.tree_open() {
                Pane::Tree
            } else {
                Pane::Logs
            };
        }
        Pane::Tree => {
            if let Layer::Ready(view) = &mut m.layer {
                view.expand();
            }
        }
        Pane::Logs => {}
    }
    Vec::new()
}

/// Breakpoints only mean something to a live build; a replay has nobody to pause.
fn toggle_breakpoint(m: &mut Model) -> Vec<Effect> {
    let Some(step) = m.selected_step().map(|s| s.step.clone()) else {
        return Vec::new();
    };
    if !m.live {
        return Vec::new();
    }
    if m.breakpoints.remove(&step) {
        vec![Effect::Control(Control::ClearBreakpoint { step })]
    } else {
        m.breakpoints.insert(step.clone());
        vec![Effect::Control(Control::SetBreakpoint { step })]
    }
}

/// `s`: on a step, the filesystem after it (before it, if it failed); on a stage, after its last
/// finished step.
fn open_shell(m: &mut Model) -> Vec<Effect> {
    let step = if m.focus == Pane::Graph {
        m.selected_stage().and_then(|s| {
            s.steps
                .iter()
                .rev()
                .find(|s| s.state.is_finished())
                .map(|s| s.step.clone())
        })
    } else {
        m.selected_step().map(|s| s.step.clone())
    };
    let Some(step) = step else {
        m.notice = Some("nothing has finished in this stage yet: no filesystem to open".into());
        return Vec::new();
    };
    match shell::request(&m.build, &step) {
        Ok(request) => vec![Effect::Shell(Box::new(request))],
        Err(why) => {
            m.notice = Some(why);
            Vec::new()
        }
    }
}

/// `S` on a failed step: a shell in what its RUN left behind (the engine keeps that upper dir).
fn shell_after_failure(m: &mut Model) -> Vec<Effect> {
    let Some(step) = m.selected_step().map(|s| s.step.clone()) else {
        m.notice = Some("S opens what a failed step left behind; select a failed step".into());
        return Vec::new();
    };
    match shell::request_left(&m.build, &step) {
        Ok(request) => vec![Effect::Shell(Box::new(request))],
        Err(why) => {
            m.notice = Some(why);
            Vec::new()
        }
    }
}

fn toggle_tree(m: &mut Model) -> Vec<Effect> {
    if m.tree_open() {
        m.layer = Layer::Closed;
        if m.focus == Pane::Tree {
            m.focus = Pane::Logs;
        }
        return Vec::new();
    }
    m.focus = Pane::Tree;
    match m.selected_step().map(|s| s.step.clone()) {
        Some(step) => super::nav::load_layer(m, step).into_iter().collect(),
        None => Vec::new(),
    }
}

fn navigate(m: &mut Model, pane: Pane, mv: Move) {
    match pane {
        Pane::Graph => {
            m.follow_build = false;
            let Some(node) = m.graph.stage_node(m.stage) else {
                return;
            };
            let next = match mv {
                Move::Up(_) => m.graph.neighbor(node, 0, -1),
                Move::Down(_) => m.graph.neighbor(node, 0, 1),
                Move::Left => m.graph.neighbor(node, -1, 0),
                Move::Right => m.graph.neighbor(node, 1, 0),
                Move::Top => m.graph.stage_node(0),
                Move::Bottom => m.graph.stage_node(m.build.stages.len().saturating_sub(1)),
            };
            if let Some(NodeKind::Stage(stage)) = next.map(|n| m.graph.nodes[n].kind.clone())
                && stage != m.stage
            {
                m.stage = stage;
                m.step = 0;
            }
        }
        Pane::Steps => {
            m.follow_build = false;
            let len = m.selected_stage().map_or(0, |s| s.steps.len());
            m.step = moved(m.step, len, mv);
            if matches!(mv, Move::Left | Move::Right) {
                let stages = m.build.stages.len();
                let next = if mv == Move::Left {
                    m.stage.checked_sub(1)
                } else {
                    Some(m.stage + 1)
                };
                if let Some(stage) = next.filter(|s| *s < stages) {
                    m.stage = stage;
                    m.step = 0;
                }
            }
        }
        Pane::Logs => match mv {
            Move::Up(n) => scroll_logs(m, -(n as isize)),
            Move::Down(n) => scroll_logs(m, n as isize),
            Move::Top => scroll_logs(m, isize::MIN / 2),
            Move::Bottom => m.log.anchor = None,
            Move::Left | Move::Right => {}
        },
        Pane::Tree => {
            if let Layer::Ready(view) = &mut m.layer {
                match mv {
                    Move::Left => view.collapse(),
                    Move::Right => view.expand(),
                    other => view.selected = moved(view.selected, view.rows.len(), other),
                }
            }
        }
    }
}

fn moved(at: usize, len: usize, mv: Move) -> usize {
    let last = len.saturating_sub(1);
    match mv {
        Move::Up(n) => at.saturating_sub(n),
        Move::Down(n) => (at + n).min(last),
        Move::Top => 0,
        Move::Bottom => last,
        Move::Left | Move::Right => at,
    }
}

fn start_search(m: &mut Model, text: &str) {
    if text.is_empty() {
        m.log.search = None;
        return;
    }
    let query = Query::new(text);
    let filter = m.log_filter();
    let matches = m.logs.count_matches(filter, &query);
    m.log.search = Some(Search {
        query,
        matches,
        current: None,
    });
    // Most recent first: look back from just below the bottom line.
    let from = m.log_bottom().map_or(0, |b| b + 1);
    jump(m, from, true);
}

fn next_match(m: &mut Model, older: bool) -> Vec<Effect> {
    let filter = m.log_filter();
    let Some(search) = &m.log.search else {
        return Vec::new();
    };
    let from = match search.current.and_then(|seq| m.logs.pos_of(filter, seq)) {
        Some(pos) => pos,
        None => m.log_bottom().map_or(0, |b| b + 1),
    };
    jump(m, from, older);
    Vec::new()
}

fn jump(m: &mut Model, from: usize, older: bool) {
    let filter = m.log_filter();
    let Some(search) = &m.log.search else { return };
    let Some(pos) = m.logs.search(filter, &search.query, from, older) else {
        return;
    };
    let seq = m.logs.seq_at(filter, pos);
    if let Some(search) = &mut m.log.search {
        search.current = seq;
    }
    m.focus = Pane::Logs;
    center_log(m, pos);
}
