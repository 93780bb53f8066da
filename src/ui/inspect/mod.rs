//! `stagecraft inspect`: an image explorer. Layers are indexed in parallel while the UI runs, and
//! each finished layer streams in: the first frame waits for nothing, a layer's tree waits only
//! for the layers under it, the wasted-space panel for all of them.
//!
//! Elm-style like the build TUI (whose theme, tree model and tree renderer it uses): one
//! [`Model`], [`Msg`]s through [`update`], [`Effect`]s run on worker threads.

pub mod frame;
pub mod layer_tree;
pub mod model;
pub mod msg;
pub mod packages;
pub mod update;
pub mod view;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::analyze::layers::{LayerIndex, layer_history};
use crate::ui::tui::Theme;
use crate::ui::tui::terminal;

pub use model::Model;
pub use msg::{Effect, Msg};
pub use update::update;
pub use view::view;

/// The image to inspect: its layers in the store and its config.
pub use crate::analyze::extract::StoredImage as Image;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot use the terminal")]
    Terminal(#[source] std::io::Error),
}

/// When each stage of the headless run finished, from `start`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub first_frame: Duration,
    /// The selected (first) layer's tree on screen, partial or not.
    pub first_tree: Duration,
    /// Its complete tree on screen.
    pub full_tree: Duration,
    /// Every layer indexed.
    pub indexed: Duration,
    /// The efficiency score on screen.
    pub waste: Duration,
}

fn start_indexing(image: &Arc<Image>, tx: &Sender<Msg>) {
    let (image, tx) = (image.clone(), tx.clone());
    std::thread::spawn(move || {
        let tx = std::sync::Mutex::new(tx);
        image.index_each(
            &|i, entries| {
                let partial = LayerIndex {
                    index: i,
                    digest: String::new(),
                    diff_id: String::new(),
                    compressed_size: 0,
                    created_by: String::new(),
                    size: entries.iter().map(|e| e.size).sum(),
                    step: None,
                    entries: entries.to_vec(),
                    secrets: Vec::new(),
                    captured: Vec::new(),
                };
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(Msg::Partial(Arc::new(partial)));
                }
            },
            &|i, r| {
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(Msg::Indexed(i, r.map(Arc::new).map_err(|e| e.to_string())));
                }
            },
        );
    });
}

fn run_effect(image: &Arc<Image>, tx: &Sender<Msg>, effect: Effect) {
    let tx = tx.clone();
    match effect {
        Effect::BuildTree {
            layers,
            filter,
            partial,
        } => {
            std::thread::spawn(move || {
                if let Some(files) = layer_tree::build(&layers, &filter, partial) {
                    let _ = tx.send(Msg::TreeBuilt(Box::new(files)));
                }
            });
        }
        Effect::ComputeWaste(layers) => {
            std::thread::spawn(move || {
                let e = crate::analyze::waste::efficiency(&layers);
                let _ = tx.send(Msg::Waste(Box::new(e)));
            });
        }
        Effect::Extract { upto, path, dest } => {
            let image = image.clone();
            std::thread::spawn(move || {
                let r = image
                    .extract(upto, &path, &dest)
                    .map(|t| format!("extracted /{path} to {}", t.display()))
                    .map_err(|e| format!("extract /{path}: {e}"));
                let _ = tx.send(Msg::Extracted(r));
            });
        }
    }
}

fn new_model(image: &Image, theme: Theme) -> Model {
    let history = layer_history(&image.config, image.layers.len());
    let rows = history
        .into_iter()
        .zip(&image.layers)
        .map(|(h, l)| (h, l.descriptor.size()))
        .collect();
    Model::new(image.label.clone(), theme, rows)
}

/// Runs the explorer on the terminal until the user quits.
pub fn run(image: Image, theme: Theme) -> Result<(), InspectError> {
    let image = Arc::new(image);
    let (tx, rx) = channel();
    start_indexing(&image, &tx);
    let mut model = new_model(&image, theme);
    let mut term = terminal::enter().map_err(InspectError::Terminal)?;
    if let Ok(size) = term.size() {
        model.size = (size.width, size.height);
    }
    let input = tx.clone();
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            let msg = match ev {
                TermEvent::Key(k) if k.kind != KeyEventKind::Release => Msg::Key(k),
                TermEvent::Resize(w, h) => Msg::Resize(w, h),
                _ => continue,
            };
            if input.send(msg).is_err() {
                break;
            }
        }
    });
    let result = event_loop(&mut term, &image, &tx, &rx, &mut model, |_| false);
    let restored = terminal::leave().map_err(InspectError::Terminal);
    result?;
    restored
}

/// Draws, then waits for messages and applies them (all that queued up) until `done` or quit.
fn event_loop<B: Backend>(
    term: &mut Terminal<B>,
    image: &Arc<Image>,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
    model: &mut Model,
    mut done: impl FnMut(&Model) -> bool,
) -> Result<(), InspectError>
where
    B::Error: std::fmt::Display,
{
    let draw_err = |e: B::Error| InspectError::Terminal(std::io::Error::other(e.to_string()));
    // Effects due before any message (an image without layers still wants its panels).
    for effect in update(model, Msg::Resize(model.size.0, model.size.1)) {
        run_effect(image, tx, effect);
    }
    loop {
        term.draw(|f| view(model, f)).map_err(draw_err)?;
        if model.quit || done(model) {
            return Ok(());
        }
        let Ok(first) = rx.recv() else {
            return Ok(());
        };
        let mut msgs = vec![first];
        msgs.extend(rx.try_iter());
        for msg in msgs {
            for effect in update(model, msg) {
                run_effect(image, tx, effect);
            }
        }
    }
}

/// The same loop without a terminal (a 160×50 test backend): the benchmark hook behind
/// `inspect --timings`. Returns when every panel is filled.
pub fn run_headless(image: Image, start: Instant) -> Result<Timings, InspectError> {
    let image = Arc::new(image);
    let (tx, rx) = channel();
    start_indexing(&image, &tx);
    let mut model = new_model(&image, Theme::default());
    model.size = (160, 50);
    let mut term = Terminal::new(ratatui::backend::TestBackend::new(160, 50))
        .map_err(|e| InspectError::Terminal(std::io::Error::other(e.to_string())))?;
    let mut t = Timings::default();
    let mut frames = 0;
    event_loop(&mut term, &image, &tx, &rx, &mut model, |m| {
        let now = start.elapsed();
        frames += 1;
        if frames == 1 {
            t.first_frame = now;
        }
        if t.first_tree.is_zero() && m.files_current().is_some() {
            // A partial tree counts: it is what a person sees first.
            t.first_tree = now;
        }
        if t.indexed.is_zero() && m.indexed() == m.layers.len() {
            t.indexed = now;
        }
        if t.waste.is_zero() && m.waste.is_some() {
            t.waste = now;
        }
        let failed = m
            .layers
            .iter()
            .any(|l| matches!(l.state, model::LayerState::Failed(_)));
        let tree_done = m.files_current().is_some_and(|f| !f.partial);
        if t.full_tree.is_zero() && tree_done {
            t.full_tree = now;
        }
        failed || m.layers.is_empty() || (m.waste.is_some() && tree_done)
    })?;
    Ok(t)
}
