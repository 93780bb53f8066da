//! The one state the UI draws from. `update` changes it; views only read it.

use std::collections::BTreeSet;

use crate::engine::event::{StepRef, Timestamp};

use super::build::{BuildState, StageView, StepState, StepView};
use super::graph::GraphLayout;
use super::layout::{self, Areas, Pane};
use super::logs::{Filter, LogStore, Query};
use super::narrate::Explanation;
use super::state::diff::{DiffPane, Mark};
use super::state::overlay::Overlay;
use super::state::provenance::{ProvenancePopup, ProvenanceState};
use super::state::teach::TeachState;
use super::theme::Theme;
use super::tree::TreeView;

/// The log pane's viewport.
#[derive(Debug, Clone, Default)]
pub struct LogView {
    /// Sequence number of the bottom line while scrolled back; `None` follows new output.
    pub anchor: Option<u64>,
    /// Only the selected step's lines.
    pub only_step: bool,
    pub search: Option<Search>,
}

#[derive(Debug, Clone)]
pub struct Search {
    pub query: Query,
    pub matches: usize,
    /// The match jumped to last (a sequence number), where `n`/`N` continue from.
    pub current: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Normal,
    /// Typing a `/` search.
    Search(String),
}

/// The layer pane: nothing asked yet, being read, read, or failed.
#[derive(Debug, Clone)]
pub enum Layer {
    Closed,
    /// Reading the filesystem after the step; `pending` while a layer of it has no digest yet.
    Loading {
        step: StepRef,
        pending: bool,
    },
    Ready(Box<TreeView>),
    Failed {
        step: StepRef,
        error: String,
    },
}

#[derive(Debug)]
pub struct Model {
    pub build: BuildState,
    pub graph: GraphLayout,
    pub logs: LogStore,
    pub theme: Theme,
    pub width: u16,
    pub height: u16,
    pub focus: Pane,
    pub stage: usize,
    pub step: usize,
    /// Selection jumps to whatever step the build is running, until the user moves it.
    pub follow_build: bool,
    pub graph_scroll: (u16, u16),
    pub steps_scroll: usize,
    pub log: LogView,
    pub input: Input,
    pub layer: Layer,
    /// The build's clock, advanced by ticks.
    pub now: Option<Timestamp>,
    pub ticks: u64,
    /// The event stream ended (the build process is gone or the replay is over).
    pub stream_closed: bool,
    /// A control channel exists: cancelling on quit means something.
    pub live: bool,
    /// Steps the user asked the engine to pause before (`b`).
    pub breakpoints: BTreeSet<StepRef>,
    /// A one-off message for the status bar (why `s` did nothing, how a shell ended); the next key clears it.
    pub notice: Option<String>,
    /// The stage or step `m` marked, for `d` to compare with.
    pub mark: Option<Mark>,
    /// Lesson pane, watch mode, `e` explanations.
    pub teach: TeachState,
    /// Where the final stage's files came from, for the layer tree's provenance column.
    pub provenance: Option<ProvenanceState>,
    /// What covers the panes (help, an explanation, a provenance chain, the diff view).
    pub overlay: Overlay,
}

impl Model {
    pub fn new(theme: Theme, width: u16, height: u16) -> Self {
        Self {
            build: BuildState::default(),
            graph: GraphLayout::default(),
            logs: LogStore::default(),
            theme,
            width,
            height,
            focus: Pane::Graph,
            stage: 0,
            step: 0,
            follow_build: true,
            graph_scroll: (0, 0),
            steps_scroll: 0,
            log: LogView::default(),
            input: Input::Normal,
            layer: Layer::Closed,
            now: None,
            ticks: 0,
            stream_closed: false,
            live: false,
            breakpoints: BTreeSet::new(),
            notice: None,
            mark: None,
            teach: TeachState::default(),
            provenance: None,
            overlay: Overlay::None,
        }
    }

    pub fn help_open(&self) -> bool {
        matches!(self.overlay, Overlay::Help)
    }

    pub fn diff(&self) -> Option<&DiffPane> {
        match &self.overlay {
            Overlay::Diff(d) => Some(d),
            _ => None,
        }
    }

    pub fn provenance_popup(&self) -> Option<&ProvenancePopup> {
        match &self.overlay {
            Overlay::Provenance(p) => Some(p),
            _ => None,
        }
    }

    pub fn explanation(&self) -> Option<&Explanation> {
        match &self.overlay {
            Overlay::Explain(e) => Some(e),
            _ => None,
        }
    }

    pub fn areas(&self) -> Areas {
        let size = self.teach.build_area(self.width, self.height);
        layout::areas(
            size,
            &self.graph,
            self.selected_stage().map_or(0, |s| s.steps.len()),
        )
    }

    pub fn clock(&self) -> Timestamp {
        self.now
            .or(self.build.last_event)
            .unwrap_or_else(Timestamp::now)
    }

    pub fn selected_stage(&self) -> Option<&StageView> {
        self.build.stages.get(self.stage)
    }

    pub fn selected_step(&self) -> Option<&StepView> {
        self.selected_stage()?.steps.get(self.step)
    }

    pub fn tree_open(&self) -> bool {
        !matches!(self.layer, Layer::Closed)
    }

    /// What the log pane lists now.
    pub fn log_filter(&self) -> Filter {
        if !self.log.only_step {
            return Filter::All;
        }
        // A step with no output yet has no id: an unused id lists nothing, which is the truth.
        match self
            .selected_step()
            .and_then(|s| self.logs.step_id(&s.step))
        {
            Some(id) => Filter::Step(id),
            None => Filter::Step(u32::MAX),
        }
    }

    /// Position (in the filtered list) of the bottom visible log line, `None` when empty.
    pub fn log_bottom(&self) -> Option<usize> {
        let filter = self.log_filter();
        let len = self.logs.len(filter);
        if len == 0 {
            return None;
        }
        match self.log.anchor {
            None => Some(len - 1),
            Some(seq) => Some(self.logs.pos_of(filter, seq).unwrap_or(0)),
        }
    }

    /// The step the engine is holding at a breakpoint, if any.
    pub fn paused(&self) -> Option<&StepRef> {
        self.build
            .steps()
            .find(|s| s.state == StepState::Paused)
            .map(|s| &s.step)
    }

    pub fn panes(&self) -> [Pane; 3] {
        [
            Pane::Graph,
            Pane::Steps,
            if self.tree_open() {
                Pane::Tree
            } else {
                Pane::Logs
            },
        ]
    }
}
