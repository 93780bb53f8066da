//! Provenance in the TUI's layer tree through `update`: the final stage's tree of a finished
//! build asks for provenance once, shows each file's origin in a column, and `p` opens the chain.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::tui::{key, model_after, render, select};
use crossterm::event::KeyCode;
use stagecraft::analyze::Hop;
use stagecraft::engine::event::StepRef;
use stagecraft::ui::tui::layout::Pane;
use stagecraft::ui::tui::provenance::ProvenanceKey;
use stagecraft::ui::tui::tree::FileTree;
use stagecraft::ui::tui::{Change, Effect, Entry, EntryKind, Model, Msg, update};

fn hop(stage: &str, step: usize, line: usize, text: &str, path: &str) -> Hop {
    Hop {
        stage: stage.into(),
        step,
        instruction: text.split_whitespace().next().unwrap().into(),
        text: text.into(),
        line,
        path: path.into(),
        metadata: None,
    }
}

/// Opens the layer tree on `step` and answers it with one file, `/app`.
fn open_tree(m: &mut Model, step: StepRef) -> Vec<Effect> {
    select(m, &step);
    m.focus = Pane::Steps;
    let effects = key(m, KeyCode::Char('t'));
    assert!(
        matches!(effects.as_slice(), [Effect::LoadLayer(_)]),
        "{effects:?}"
    );
    let tree = FileTree::from_entries([Entry {
        path: "app".into(),
        size: 1200,
        kind: EntryKind::File,
        change: Change::Added,
    }]);
    update(
        m,
        Msg::LayerLoaded {
            step,
            tree: Ok(tree),
        },
    )
}

#[test]
fn the_final_stages_tree_shows_origins_and_p_opens_the_chain() {
    let mut m = model_after("multistage.jsonl", 120, 40);
    // Not the target's last step: no provenance, and `p` says why.
    let effects = open_tree(&mut m, StepRef::new("final", 1));
    assert!(effects.is_empty(), "{effects:?}");
    key(&mut m, KeyCode::Char('p'));
    assert!(
        m.notice
            .as_deref()
            .unwrap()
            .contains("target stage's last step")
    );
    key(&mut m, KeyCode::Char('t'));

    let effects = open_tree(&mut m, StepRef::new("final", 3));
    let want = ProvenanceKey {
        build_id: "b-20261123-100000".into(),
        stage: "final".into(),
    };
    assert_eq!(effects, [Effect::LoadProvenance(want.clone())]);
    assert!(render(&m).contains("provenance …"));
    // Asked once: moving inside the tree does not ask again.
    assert!(key(&mut m, KeyCode::Char('j')).is_empty());
    let chain = vec![
        hop("final", 1, 21, "COPY --from=builder /out/app /app", "/app"),
        hop("builder", 4, 14, "RUN cc -o /out/app main.c", "/out/app"),
    ];
    let origins: HashMap<String, Vec<Hop>> = [("/app".to_string(), chain)].into();
    update(
        &mut m,
        Msg::ProvenanceLoaded {
            key: want,
            result: Ok(origins),
        },
    );
    let screen = render(&m);
    assert!(screen.contains("⇐ builder/4 L14"), "{screen}");
    // Enter on a file opens the chain (on a directory it would expand it).
    assert_eq!(m.focus, Pane::Tree);
    key(&mut m, KeyCode::Enter);
    let popup = m.provenance_popup().cloned().unwrap();
    assert_eq!(popup.path, "/app");
    let screen = render(&m);
    assert!(screen.contains("created by builder/4  line 14"), "{screen}");
    assert!(screen.contains("RUN cc -o /out/app main.c"), "{screen}");
    assert!(screen.contains("put here by final/1  line 21"), "{screen}");
    // Any key closes it and does nothing else.
    key(&mut m, KeyCode::Char('t'));
    assert!(m.provenance_popup().is_none());
    assert!(m.tree_open());
    key(&mut m, KeyCode::Char('p'));
    assert!(m.provenance_popup().is_some());
}
