//! Every view as text, from a `TestBackend`, at 120×40 and 80×24, from recorded event logs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::tui::{key, keys, model_after, render};
use crossterm::event::KeyCode;
use ratatui::style::Modifier;
use stagecraft::engine::event::StepRef;
use stagecraft::ui::tui::layout::Pane;
use stagecraft::ui::tui::tree::{DirSource, FileTree};
use stagecraft::ui::tui::{Effect, LayerSource, Msg, Theme, update};

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

#[test]
fn finished_build() {
    for (w, h) in SIZES {
        let m = model_after("multistage.jsonl", w, h);
        insta::assert_snapshot!(format!("finished_{w}x{h}"), render(&m));
    }
}

#[test]
fn failed_build_shows_the_failing_step() {
    for (w, h) in SIZES {
        let m = model_after("failed.jsonl", w, h);
        let screen = render(&m);
        assert!(screen.contains("exit 2"), "{screen}");
        insta::assert_snapshot!(format!("failed_{w}x{h}"), screen);
    }
}

#[test]
fn large_graph_in_progress_scrolls() {
    for (w, h) in SIZES {
        let mut m = model_after("large.jsonl", w, h);
        insta::assert_snapshot!(format!("large_{w}x{h}"), render(&m));
        m.focus = Pane::Graph;
        for _ in 0..3 {
            key(&mut m, KeyCode::Char('l'));
        }
        key(&mut m, KeyCode::Char('j'));
        insta::assert_snapshot!(format!("large_scrolled_{w}x{h}"), render(&m));
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut m = model_after("multistage.jsonl", w, h);
        keys(&mut m, "?");
        insta::assert_snapshot!(format!("help_{w}x{h}"), render(&m));
        keys(&mut m, "x");
        assert!(!m.help_open());
    }
}

#[test]
fn logs_of_one_step_with_a_search() {
    for (w, h) in SIZES {
        let mut m = model_after("failed.jsonl", w, h);
        keys(&mut m, "f/warning");
        insta::assert_snapshot!(format!("search_prompt_{w}x{h}"), render(&m));
        key(&mut m, KeyCode::Enter);
        insta::assert_snapshot!(format!("logs_step_search_{w}x{h}"), render(&m));
    }
}

fn layer_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, size) in [
        ("app", 11_470_000usize),
        ("usr/share/doc/app/index.html", 245_000),
        ("usr/share/doc/app/api.html", 81_000),
        ("etc/app/config.toml", 612),
        ("etc/passwd", 94),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, vec![b'x'; size]).unwrap();
    }
    std::fs::write(root.join("etc/.wh.motd"), "").unwrap();
    dir
}

#[test]
fn layer_tree_of_a_step() {
    let dir = layer_dir();
    let step = StepRef::new("final", 2);
    let mut source = DirSource::default();
    source.insert(step.clone(), dir.path());
    for (w, h) in SIZES {
        let mut m = model_after("multistage.jsonl", w, h);
        m.focus = Pane::Steps;
        key(&mut m, KeyCode::Char('k'));
        assert_eq!(m.selected_step().unwrap().step, step);
        let effects = key(&mut m, KeyCode::Char('t'));
        let [Effect::LoadLayer(request)] = &effects[..] else {
            panic!("{effects:?}")
        };
        // final/2 stacks on scratch: the chain is final/1's layer and its own, which it marks.
        assert_eq!(request.step, step);
        assert_eq!(request.base_image, None);
        assert_eq!(request.layers.len(), 2);
        assert!(request.changes_in_last);
        insta::assert_snapshot!(format!("layer_loading_{w}x{h}"), render(&m));
        let tree = source
            .list(request)
            .map(|l| FileTree::from_entries(l.entries));
        update(
            &mut m,
            Msg::LayerLoaded {
                step: step.clone(),
                tree,
            },
        );
        // Open /usr, then /usr/share: the biggest first.
        keys(&mut m, "jl");
        keys(&mut m, "jl");
        insta::assert_snapshot!(format!("layer_tree_{w}x{h}"), render(&m));
        keys(&mut m, "c");
        insta::assert_snapshot!(format!("layer_changes_{w}x{h}"), render(&m));
    }
}

#[test]
fn layer_tree_without_a_store_says_so() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    let effects = key(&mut m, KeyCode::Char('t'));
    let Effect::LoadLayer(request) = &effects[0] else {
        panic!("{effects:?}")
    };
    // final/3 (ENTRYPOINT) has no layer of its own: the filesystem shows, nothing is marked.
    assert!(!request.changes_in_last);
    let tree = DirSource::default()
        .list(request)
        .map(|l| FileTree::from_entries(l.entries));
    update(
        &mut m,
        Msg::LayerLoaded {
            step: request.step.clone(),
            tree,
        },
    );
    let screen = render(&m);
    assert!(
        screen.contains("layer contents of final/3 are not available"),
        "{screen}"
    );
}

#[test]
fn no_color_keeps_state_visible_through_modifiers() {
    let mut m = model_after("failed.jsonl", 120, 40);
    m.theme = Theme::load(Some("dark"), None, true).unwrap();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| stagecraft::ui::tui::view(&m, f)).unwrap();
    let buf = terminal.backend().buffer();
    let mut cells = buf.content().iter();
    assert!(
        cells.all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
    let failed = buf
        .content()
        .iter()
        .find(|c| c.symbol() == "✗")
        .expect("a failed mark");
    assert!(failed.modifier.contains(Modifier::BOLD));
}

#[test]
fn every_theme_renders() {
    for name in Theme::builtin_names() {
        let mut m = model_after("multistage.jsonl", 80, 24);
        m.theme = Theme::builtin(name).unwrap();
        let screen = render(&m);
        assert!(screen.contains("Stages"), "{name}");
    }
}

#[test]
fn tiny_and_odd_terminal_sizes_never_panic() {
    for log in [
        "multistage.jsonl",
        "failed.jsonl",
        "large.jsonl",
        "hello-real.jsonl",
    ] {
        for (w, h) in [
            (1, 1),
            (2, 2),
            (10, 3),
            (20, 5),
            (40, 10),
            (79, 23),
            (300, 100),
        ] {
            let mut m = model_after(log, w, h);
            render(&m);
            for code in [
                KeyCode::Char('?'),
                KeyCode::Esc,
                KeyCode::Tab,
                KeyCode::Char('t'),
                KeyCode::Tab,
                KeyCode::Enter,
                KeyCode::Char('/'),
                KeyCode::Char('e'),
                KeyCode::Enter,
                KeyCode::Char('G'),
                KeyCode::PageUp,
                KeyCode::BackTab,
                KeyCode::Char('l'),
            ] {
                key(&mut m, code);
                render(&m);
            }
        }
    }
}
