//! The one executor of `update`'s effects. Work that reads the store runs on the blocking pool and
//! answers with a `Msg`; controls go to the build through one forwarding task, so they reach it in
//! the order the user gave them (a `Continue` after a `SetBreakpoint` never overtakes it).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::engine::event::Control;

use super::msg::{Effect, Msg};
use super::shell::ShellRequest;
use super::state::diff::present;
use super::teach::TeachRequest;
use super::tree::{FileTree, LayerError, LayerSource};
use crate::analyze::states;

/// What the event loop does after an effect.
pub enum Flow {
    Continue,
    Quit,
    /// Suspend the UI for a shell.
    Shell(Box<ShellRequest>),
}

pub struct Effects {
    /// Answers of background work, read by the event loop.
    pub done: mpsc::UnboundedSender<Msg>,
    controls: Option<mpsc::UnboundedSender<Control>>,
    teach: Option<mpsc::UnboundedSender<TeachRequest>>,
    layers: Option<Arc<dyn LayerSource>>,
    store_root: Option<PathBuf>,
    /// The user asked the build to cancel.
    pub cancelled: bool,
}

impl Effects {
    pub fn new(
        done: mpsc::UnboundedSender<Msg>,
        control: Option<mpsc::Sender<Control>>,
        teach: Option<mpsc::UnboundedSender<TeachRequest>>,
        layers: Option<Arc<dyn LayerSource>>,
        store_root: Option<PathBuf>,
    ) -> Self {
        Self {
            done,
            controls: control.map(forward_in_order),
            teach,
            layers,
            store_root,
            cancelled: false,
        }
    }

    pub fn run(&mut self, effect: Effect) -> Flow {
        match effect {
            Effect::Quit => return Flow::Quit,
            Effect::Shell(request) => return Flow::Shell(request),
            Effect::Control(c) => {
                self.cancelled |= c == Control::Cancel;
                if let Some(tx) = &self.controls {
                    let _ = tx.send(c);
                }
            }
            Effect::Teach(request) => {
                if let Some(tx) = &self.teach {
                    let _ = tx.send(request);
                }
            }
            Effect::LoadProvenance(key) => {
                let root = self.store_root.clone();
                self.blocking(move || {
                    let result = connected(root.as_deref())
                        .and_then(|root| states::stage_origins(root, &key.build_id, &key.stage))
                        .map(|files| files.into_iter().map(|f| (f.path, f.hops)).collect());
                    Msg::ProvenanceLoaded { key, result }
                });
            }
            Effect::LoadDiff(request) => {
                let root = self.store_root.clone();
                self.blocking(move || {
                    let result = connected(root.as_deref())
                        .and_then(|root| states::compare(root, &request.a, &request.b))
                        .map(|d| Box::new(present(&request.a_label, &request.b_label, d)));
                    Msg::DiffLoaded {
                        a_label: request.a_label,
                        b_label: request.b_label,
                        result,
                    }
                });
            }
            Effect::LoadLayer(request) => {
                let source = self.layers.clone();
                self.blocking(move || {
                    let tree = match source {
                        Some(source) => source
                            .list(&request)
                            .map(|l| FileTree::from_entries(l.entries).with_owners(l.owners)),
                        None => Err(LayerError::Unavailable {
                            step: request.step.clone(),
                            why: "no layer store is connected to this view".into(),
                        }),
                    };
                    Msg::LayerLoaded {
                        step: request.step,
                        tree,
                    }
                });
            }
        }
        Flow::Continue
    }

    /// Runs `work` off the async task; its answer comes back as a message.
    fn blocking(&self, work: impl FnOnce() -> Msg + Send + 'static) {
        let tx = self.done.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(work());
        });
    }
}

/// The store this view reads, or why there is none.
fn connected(root: Option<&std::path::Path>) -> Result<&std::path::Path, String> {
    root.ok_or_else(|| "no store is connected to this view".to_string())
}

/// One task feeds the build's bounded control channel from an unbounded queue: sending never
/// blocks the UI, and the order is kept.
fn forward_in_order(tx: mpsc::Sender<Control>) -> mpsc::UnboundedSender<Control> {
    let (queue, mut rx) = mpsc::unbounded_channel::<Control>();
    tokio::spawn(async move {
        while let Some(c) = rx.recv().await {
            if tx.send(c).await.is_err() {
                break;
            }
        }
    });
    queue
}
