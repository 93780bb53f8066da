//! `update` driven by recorded event logs, keys and mouse: the UI's behaviour without a terminal.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::tui::{events, feed, key, keys, model_after};
use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use stagecraft::engine::event::{Control, Event, StepRef};
use stagecraft::ui::tui::build::{Cache, StageState, StepState};
use stagecraft::ui::tui::layout::{self, Pane};
use stagecraft::ui::tui::logs::Filter;
use stagecraft::ui::tui::{Effect, Model, Msg, Theme, update};

fn stage_state(m: &Model, label: &str) -> StageState {
    m.build.stages[m.build.stage_index(label).unwrap()].state()
}

#[test]
fn a_successful_build_folds_into_states_sizes_and_ratios() {
    let m = model_after("multistage.jsonl", 120, 40);
    assert_eq!(stage_state(&m, "base"), StageState::Cached);
    assert_eq!(stage_state(&m, "deps"), StageState::Done);
    assert_eq!(stage_state(&m, "test"), StageState::Skipped);
    assert_eq!(stage_state(&m, "final"), StageState::Done);
    // Six FROMs and twelve instructions; the skipped stage's two steps do not count.
    assert_eq!(m.build.steps_total(), 18);
    assert_eq!(m.build.steps_done(), 18);
    assert_eq!(m.build.cache_ratio(), (6, 13));
    let step = m.build.step(&StepRef::new("deps", 1)).unwrap();
    assert_eq!(step.cache, Cache::Miss("files changed: deps.txt".into()));
    assert_eq!(step.layer.as_ref().unwrap().size, 1_300);
    assert_eq!(
        m.build.finished.as_ref().unwrap().totals.image_size,
        11_715_000
    );
    // Graph: busybox image node plus six stages; final is the target and selected at start.
    assert_eq!(m.graph.nodes.len(), 7);
    assert_eq!(m.selected_stage().unwrap().label, "final");
}

#[test]
fn following_the_build_selects_the_running_step_and_a_failure_wins() {
    let records = events("failed.jsonl");
    let mut m = Model::new(Theme::default(), 120, 40);
    let running = records
        .iter()
        .position(|r| matches!(&r.event, Event::StepStarted { step, .. } if *step == StepRef::new("builder", 4)))
        .unwrap();
    feed(&mut m, records[..=running].to_vec());
    assert_eq!(m.selected_step().unwrap().step, StepRef::new("builder", 4));
    assert_eq!(m.selected_step().unwrap().state, StepState::Running);

    // The user looks elsewhere; the failure still takes them to the failing step.
    m.focus = Pane::Graph;
    key(&mut m, KeyCode::Char('h'));
    assert!(!m.follow_build);
    assert_ne!(m.selected_stage().unwrap().label, "builder");
    feed(&mut m, records[running + 1..].to_vec());
    assert_eq!(m.selected_step().unwrap().step, StepRef::new("builder", 4));
    assert_eq!(stage_state(&m, "builder"), StageState::Failed);
    let failure = m.selected_step().unwrap().failure.clone().unwrap();
    assert_eq!(failure.exit_code, Some(2));
}

#[test]
fn tab_cycles_panes_and_enter_goes_from_stage_to_step_logs() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    assert_eq!(m.focus, Pane::Graph);
    key(&mut m, KeyCode::Tab);
    assert_eq!(m.focus, Pane::Steps);
    key(&mut m, KeyCode::Tab);
    assert_eq!(m.focus, Pane::Logs);
    key(&mut m, KeyCode::Tab);
    assert_eq!(m.focus, Pane::Graph);
    update(
        &mut m,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        )),
    );
    assert_eq!(m.focus, Pane::Logs);

    // From the target, go left to builder, into its steps, down to the RUN, Enter: its logs only.
    m.focus = Pane::Graph;
    key(&mut m, KeyCode::Char('h'));
    assert_eq!(m.selected_stage().unwrap().label, "builder");
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.focus, Pane::Steps);
    key(&mut m, KeyCode::Char('G'));
    assert_eq!(m.selected_step().unwrap().step, StepRef::new("builder", 4));
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.focus, Pane::Logs);
    let filter = m.log_filter();
    assert!(matches!(filter, Filter::Step(_)));
    // 120 compile lines, 7 warnings, the link step's two lines.
    assert_eq!(m.logs.len(filter), 129);
    assert_eq!(m.logs.len(Filter::All), 129 + 10 + 1);
}

#[test]
fn scrolling_back_holds_the_view_and_g_follows_again() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    m.focus = Pane::Logs;
    assert_eq!(m.log.anchor, None);
    key(&mut m, KeyCode::PageUp);
    let anchor = m.log.anchor.expect("scrolled back");
    let bottom = m.log_bottom().unwrap();
    // New output arrives: the view does not move.
    feed(&mut m, events("multistage.jsonl")[..40].to_vec());
    assert_eq!(m.log.anchor, Some(anchor));
    assert!(m.log_bottom().unwrap() <= bottom);
    key(&mut m, KeyCode::Char('G'));
    assert_eq!(m.log.anchor, None);
    // Scrolling to the very top stops at a full page.
    key(&mut m, KeyCode::Char('g'));
    let page = layout::inner(m.areas().detail).height as usize;
    assert_eq!(m.log_bottom(), Some(page - 1));
}

#[test]
fn search_jumps_to_the_newest_match_then_older_ones() {
    let mut m = model_after("failed.jsonl", 120, 40);
    keys(&mut m, "/");
    keys(&mut m, "warning");
    key(&mut m, KeyCode::Enter);
    let search = m.log.search.clone().expect("search active");
    assert_eq!(
        search.matches, 8,
        "seven compiler warnings and one docs warning"
    );
    let first = m
        .logs
        .get(search.current.unwrap())
        .unwrap()
        .text
        .to_string();
    assert!(first.starts_with("module_119.c"), "{first}");
    keys(&mut m, "n");
    let second = m
        .logs
        .get(m.log.search.as_ref().unwrap().current.unwrap())
        .unwrap()
        .text
        .to_string();
    assert!(second.starts_with("module_102.c"), "{second}");
    keys(&mut m, "N");
    let back = m
        .logs
        .get(m.log.search.as_ref().unwrap().current.unwrap())
        .unwrap()
        .text
        .to_string();
    assert_eq!(back, first);
    key(&mut m, KeyCode::Esc);
    assert!(m.log.search.is_none());
}

#[test]
fn a_click_selects_the_stage_under_the_mouse() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    let deps = m.build.stage_index("deps").unwrap();
    let node = &m.graph.nodes[m.graph.stage_node(deps).unwrap()];
    let inner = layout::inner(m.areas().graph);
    let (x, y) = (inner.x + node.x + 3, inner.y + node.y + 1);
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut m, Msg::Mouse(click));
    assert_eq!(m.selected_stage().unwrap().label, "deps");
    assert_eq!(m.focus, Pane::Graph);
}

#[test]
fn quitting_a_live_build_cancels_it_but_a_replay_just_quits() {
    let mut m = model_after("large.jsonl", 120, 40);
    assert_eq!(key(&mut m, KeyCode::Char('q')), vec![Effect::Quit]);
    m.live = true;
    let ctrl_c = crossterm::event::KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        update(&mut m, Msg::Key(ctrl_c)),
        vec![Effect::Control(Control::Cancel), Effect::Quit]
    );
}

#[test]
fn resizing_keeps_the_selection_visible_in_a_large_graph() {
    let mut m = model_after("large.jsonl", 120, 40);
    m.focus = Pane::Graph;
    for _ in 0..10 {
        key(&mut m, KeyCode::Char('j'));
    }
    update(
        &mut m,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    let node = &m.graph.nodes[m.graph.stage_node(m.stage).unwrap()];
    let inner = layout::inner(m.areas().graph);
    let (sx, sy) = m.graph_scroll;
    assert!(
        node.x >= sx && node.x + m.graph.box_w <= sx + inner.width,
        "x visible"
    );
    assert!(node.y >= sy && node.y + 3 <= sy + inner.height, "y visible");
    assert!(sy > 0, "the graph scrolled");
}

#[test]
fn a_log_recorded_from_a_real_build_of_the_example_folds_completely() {
    // Recorded with `stagecraft build --progress=tty --event-log` on examples/hello.
    let m = model_after("hello-real.jsonl", 120, 40);
    assert_eq!(m.build.target.as_deref(), Some("4"));
    assert_eq!(stage_state(&m, "debug-tools"), StageState::Skipped);
    assert_eq!(m.build.steps_done(), m.build.steps_total());
    assert!(m.build.finished.as_ref().unwrap().image.is_some());
    assert!(m.logs.len(Filter::All) > 0);
    let request = m.build.layer_request(&StepRef::new("4", 1));
    assert_eq!(request.base_image.as_deref(), Some("busybox"));
    assert!(request.changes_in_last);
}

#[test]
fn breakpoints_pause_and_continue_a_live_build() {
    use stagecraft::engine::event::{Record, Timestamp};
    let records = events("multistage.jsonl");
    let cut = records
        .iter()
        .position(|r| matches!(&r.event, Event::StepQueued { step } if *step == StepRef::new("builder", 4)))
        .unwrap();
    let mut m = Model::new(Theme::default(), 120, 40);
    m.live = true;
    feed(&mut m, records[..=cut].to_vec());
    m.focus = Pane::Steps;
    common::tui::select(&mut m, &StepRef::new("builder", 4));
    let set = key(&mut m, KeyCode::Char('b'));
    assert_eq!(
        set,
        vec![Effect::Control(Control::SetBreakpoint {
            step: StepRef::new("builder", 4)
        })]
    );
    assert!(common::tui::render(&m).contains("● 4 RUN"));

    let time = records[cut].time;
    update(
        &mut m,
        Msg::Engine(Record {
            time,
            event: Event::Paused {
                step: StepRef::new("builder", 4),
            },
        }),
    );
    assert_eq!(m.paused(), Some(&StepRef::new("builder", 4)));
    update(
        &mut m,
        Msg::Tick {
            now: Timestamp(time.0),
        },
    );
    assert!(common::tui::render(&m).contains("paused at builder/4: c continue, n step"));
    assert_eq!(
        key(&mut m, KeyCode::Char('n')),
        vec![Effect::Control(Control::StepOnce)]
    );
    assert_eq!(
        key(&mut m, KeyCode::Char('c')),
        vec![Effect::Control(Control::Continue)]
    );
    let clear = key(&mut m, KeyCode::Char('b'));
    assert_eq!(
        clear,
        vec![Effect::Control(Control::ClearBreakpoint {
            step: StepRef::new("builder", 4)
        })]
    );

    // A replay has no engine to pause: nothing is sent.
    m.live = false;
    assert_eq!(key(&mut m, KeyCode::Char('b')), vec![]);
}

#[test]
fn a_click_on_a_step_row_selects_it_and_the_wheel_scrolls_logs() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    let steps = layout::inner(m.areas().steps);
    // Row 0 is the header; row 2 is the second step of the selected stage (final/1).
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: steps.x + 5,
        row: steps.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut m, Msg::Mouse(click));
    assert_eq!(m.focus, Pane::Steps);
    assert_eq!(m.selected_step().unwrap().step, StepRef::new("final", 1));
    let logs = layout::inner(m.areas().detail);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: logs.x + 3,
        row: logs.y + 3,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut m, Msg::Mouse(wheel));
    assert!(m.log.anchor.is_some(), "scrolled back");
    let down = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        ..wheel
    };
    update(&mut m, Msg::Mouse(down));
    assert_eq!(m.log.anchor, None, "back at the end: following again");
}

/// A step whose layer tar is still being made (lazy layers): the layer pane waits instead of
/// asking the store for a digest that is not there, and asks once `layer_digested` brings it.
#[test]
fn the_layer_pane_waits_for_a_layer_digest_then_reads_it() {
    let step = StepRef::new("deps", 1);
    let mut digested = None;
    let records: Vec<_> = events("multistage.jsonl")
        .into_iter()
        .map(|mut r| {
            if let Event::StepFinished {
                step: s,
                layer: Some(layer),
                ..
            } = &mut r.event
                && *s == step
            {
                digested = Some(layer.clone());
                layer.digest.clear();
                layer.diff_id.clear();
            }
            r
        })
        .collect();
    let mut m = Model::new(Theme::default(), 120, 40);
    feed(&mut m, records);
    stagecraft::ui::tui::update::select_step(&mut m, &step);
    let effects = key(&mut m, KeyCode::Char('t'));
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::LoadLayer(_))),
        "no read while a digest is missing: {effects:?}"
    );
    let screen = common::tui::render(&m);
    assert!(
        screen.contains("being written in the background"),
        "{screen}"
    );

    let layer = digested.expect("the recording has deps/1's layer");
    let effects = update(
        &mut m,
        Msg::Engine(stagecraft::engine::event::Record::now(
            Event::LayerDigested {
                step: step.clone(),
                layer,
            },
        )),
    );
    match effects.as_slice() {
        [Effect::LoadLayer(request)] => {
            assert_eq!(request.step, step);
            assert!(!request.pending());
        }
        other => panic!("one layer read once the digest is in, got {other:?}"),
    }
}
