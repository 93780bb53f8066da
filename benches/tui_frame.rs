//! One TUI frame at 200×60 over a heavy model: 1M log lines, a 100k-node layer tree, 36 stages.
//! Goal: < 4 ms a frame. Setup (building the model) is not measured; drawing is.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use stagecraft::engine::event::{StepRef, Stream};
use stagecraft::ui::tui::layout::Pane;
use stagecraft::ui::tui::logs::{LogStore, Query};
use stagecraft::ui::tui::model::{Layer, Search};
use stagecraft::ui::tui::tree::{Change, Entry, EntryKind, FileTree, TreeView};
use stagecraft::ui::tui::{Model, Msg, Theme, replay, update, view};

const LOG_LINES: usize = 1_000_000;
const TREE_NODES: usize = 100_000;

fn model() -> Model {
    let mut m = Model::new(Theme::default(), 200, 60);
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/events/large.jsonl");
    let records = replay::read_log(&log).unwrap();
    let last = records.last().unwrap().time;
    for r in records {
        update(&mut m, Msg::Engine(r));
    }
    update(&mut m, Msg::Tick { now: last });
    m.logs = LogStore::default();
    let steps: Vec<StepRef> = (0..12)
        .map(|k| StepRef::new(format!("tool-{k}"), 2))
        .collect();
    for i in 0..LOG_LINES {
        let stream = if i % 50 == 0 {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let text = format!(
            "[{i:>7}] cc -O2 -Wall -c src/module_{:04}.c -o build/module_{:04}.o",
            i % 9973,
            i % 9973
        );
        m.logs.push(&steps[i % steps.len()], stream, &text);
    }
    assert_eq!(
        m.logs.len(stagecraft::ui::tui::logs::Filter::All),
        LOG_LINES
    );
    m
}

/// 100k paths: 100 top-level dirs × 10 subdirs × ~98 files, plus the dirs themselves.
fn tree() -> TreeView {
    let mut entries = Vec::with_capacity(TREE_NODES);
    'outer: for a in 0..100 {
        for b in 0..10 {
            for c in 0..98 {
                if entries.len() + 1100 >= TREE_NODES {
                    break 'outer;
                }
                let change = match c % 7 {
                    0 => Change::Added,
                    1 => Change::Modified,
                    2 => Change::Removed,
                    _ => Change::Unchanged,
                };
                entries.push(Entry {
                    path: format!("usr/lib{a:03}/pkg{b:02}/file{c:03}.so"),
                    size: (c * 4096 + a) as u64,
                    kind: EntryKind::File,
                    change,
                });
            }
        }
    }
    let tree = FileTree::from_entries(entries);
    assert!(tree.len() >= TREE_NODES - 1200, "{}", tree.len());
    let mut view = TreeView::new(StepRef::new("tool-3", 2), tree);
    // Open /usr, the first lib and its first package: a realistic browsing position.
    view.expand();
    view.select(1);
    view.expand();
    view.select(1);
    view.expand();
    view.select(40);
    view
}

fn frame(c: &mut Criterion) {
    let mut m = model();
    let tree = tree();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();

    let mut group = c.benchmark_group("frame_200x60");
    group.bench_function("logs_1M_following", |b| {
        b.iter(|| {
            terminal.draw(|f| view(black_box(&m), f)).unwrap();
        });
    });

    m.focus = Pane::Logs;
    m.log.only_step = true;
    m.log.search = Some(Search {
        query: Query::new("module_0042"),
        matches: 0,
        current: None,
    });
    group.bench_function("logs_1M_one_step_search_highlight", |b| {
        b.iter(|| {
            terminal.draw(|f| view(black_box(&m), f)).unwrap();
        });
    });

    m.log.only_step = false;
    m.log.search = None;
    m.layer = Layer::Ready(Box::new(tree));
    m.focus = Pane::Tree;
    group.bench_function("tree_100k_nodes", |b| {
        b.iter(|| {
            terminal.draw(|f| view(black_box(&m), f)).unwrap();
        });
    });
    group.finish();
}

/// Opening a 1M-file layer: ingesting the entry list off the UI thread, then the first rows.
fn ingest(c: &mut Criterion) {
    // In tar order: a directory's files together, 1000 directories of 1000 files.
    let entries: Vec<Entry> = (0..1_000_000)
        .map(|i| Entry {
            path: format!(
                "usr/share/d{:03}/s{:02}/f{i:07}",
                i / 31_000,
                (i / 1000) % 31
            ),
            size: (i % 65_536) as u64,
            kind: EntryKind::File,
            change: if i % 11 == 0 {
                Change::Added
            } else {
                Change::Unchanged
            },
        })
        .collect();
    let mut group = c.benchmark_group("layer_open");
    group.sample_size(10);
    group.bench_function("ingest_1M_entries_and_first_rows", |b| {
        b.iter(|| {
            let tree = FileTree::from_entries(black_box(entries.clone()));
            TreeView::new(StepRef::new("s", 1), tree)
        });
    });
    // Baseline in the same run: copying the list and hashing every path once.
    group.bench_function("baseline_clone_and_hash_1M_paths", |b| {
        b.iter(|| {
            let copy = black_box(entries.clone());
            copy.into_iter()
                .map(|e| e.path)
                .collect::<std::collections::HashSet<String>>()
        });
    });
    group.finish();
}

criterion_group!(benches, frame, ingest);
criterion_main!(benches);
