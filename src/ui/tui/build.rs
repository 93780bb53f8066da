//! What the build looks like so far, folded from engine events. Pure data: no drawing, no I/O.

use std::collections::HashMap;
use std::time::Duration;

use crate::engine::event::{
    ActivityState, ConfigSummary, Event, Record, StepRef, Timestamp, Totals,
};
use crate::frontend::plan::{BuildPlan, PlanStep, StageBase};
use crate::store::LayerInfo;

use super::format;
use super::tree::LayerRequest;

/// The stage row that holds a backend's activities; brackets keep it apart from any stage name.
pub const ACTIVITY_STAGE: &str = "[buildkit]";

/// A step's place in its life, with guard methods instead of scattered matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Queued,
    Running,
    Paused,
    Cached,
    Done,
    Failed,
}

impl StepState {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Cached | Self::Done | Self::Failed)
    }
    pub fn is_active(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageState {
    Pending,
    Queued,
    Running,
    Paused,
    Cached,
    Done,
    Failed,
    Skipped,
}

/// Cache outcome of a step as the engine reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cache {
    Unknown,
    Hit,
    Miss(String),
}

#[derive(Debug, Clone)]
pub struct StepView {
    pub step: StepRef,
    pub instruction: String,
    pub text: String,
    pub line: usize,
    pub state: StepState,
    pub started: Option<Timestamp>,
    pub duration: Option<Duration>,
    pub layer: Option<LayerInfo>,
    pub cache: Cache,
    /// A hit from a `--cache-from` source: which one (`registry REF`, `local DIR`).
    pub cached_from: Option<String>,
    pub cache_key: Option<String>,
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub exit_code: Option<i32>,
    pub message: String,
}

impl StepView {
    fn from_plan(stage: &str, step: &PlanStep) -> Self {
        Self::new(
            StepRef::new(stage, step.index),
            step.instruction.clone(),
            step.text.clone(),
            step.line,
        )
    }

    fn new(step: StepRef, instruction: String, text: String, line: usize) -> Self {
        Self {
            step,
            instruction,
            text,
            line,
            state: StepState::Pending,
            started: None,
            duration: None,
            layer: None,
            cache: Cache::Unknown,
            cached_from: None,
            cache_key: None,
            failure: None,
        }
    }

    /// How long the step has run: its reported duration, or the time since it started.
    pub fn elapsed(&self, now: Timestamp) -> Option<Duration> {
        self.duration.or_else(|| {
            self.started
                .filter(|_| self.state.is_active())
                .map(|s| now.since(s))
        })
    }
}

#[derive(Debug, Clone)]
pub struct StageView {
    pub label: String,
    /// `FROM` as a person reads it: an image reference, a stage name or `scratch`.
    pub base: String,
    pub depends_on: Vec<String>,
    pub skipped: Option<String>,
    pub finished: Option<ConfigSummary>,
    pub steps: Vec<StepView>,
}

impl StageView {
    pub fn state(&self) -> StageState {
        if self.skipped.is_some() {
            return StageState::Skipped;
        }
        let states = || self.steps.iter().map(|s| s.state);
        if states().any(|s| s == StepState::Failed) {
            return StageState::Failed;
        }
        if states().any(|s| s == StepState::Paused) {
            return StageState::Paused;
        }
        if states().any(|s| s == StepState::Running) {
            return StageState::Running;
        }
        let all_done = states().all(StepState::is_finished);
        if self.finished.is_some() || (all_done && !self.steps.is_empty()) {
            if states().all(|s| s == StepState::Cached) {
                return StageState::Cached;
            }
            return StageState::Done;
        }
        if states().any(|s| s != StepState::Pending) {
            // Some steps done, the next not started yet: still in progress.
            if states().any(StepState::is_finished) {
                return StageState::Running;
            }
            return StageState::Queued;
        }
        StageState::Pending
    }

    pub fn steps_done(&self) -> usize {
        self.steps.iter().filter(|s| s.state.is_finished()).count()
    }

    /// Sum of the stage's own layers (not its base).
    pub fn layers_size(&self) -> u64 {
        self.steps
            .iter()
            .filter_map(|s| s.layer.as_ref())
            .map(|l| l.size)
            .sum()
    }

    /// Wall time from the first step's start to the last step's end, as far as known.
    pub fn elapsed(&self, now: Timestamp) -> Option<Duration> {
        let total: Duration = self.steps.iter().filter_map(|s| s.elapsed(now)).sum();
        (total > Duration::ZERO).then_some(total)
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub time: Timestamp,
    pub image: Option<String>,
    pub totals: Totals,
    pub error: Option<String>,
}

/// The whole build as the UI knows it.
#[derive(Debug, Clone, Default)]
pub struct BuildState {
    pub build_id: Option<String>,
    pub target: Option<String>,
    pub stages: Vec<StageView>,
    pub started: Option<Timestamp>,
    pub finished: Option<Finished>,
    /// Latest event time seen: the build's own clock, so replays show the recorded timeline.
    pub last_event: Option<Timestamp>,
    /// The step that most recently started or paused: what "follow" selects.
    pub latest_step: Option<StepRef>,
    /// Build check warnings, as `Rule: message (line N)`.
    pub warnings: Vec<String>,
    index: HashMap<String, usize>,
}

impl BuildState {
    pub fn stage_index(&self, label: &str) -> Option<usize> {
        self.index.get(label).copied()
    }

    pub fn step(&self, step: &StepRef) -> Option<&StepView> {
        let stage = &self.stages[self.stage_index(&step.stage)?];
        stage.steps.iter().find(|s| s.step.index == step.index)
    }

    pub fn steps(&self) -> impl Iterator<Item = &StepView> {
        self.stages.iter().flat_map(|s| s.steps.iter())
    }

    /// Steps that will run: those of stages not skipped.
    pub fn steps_total(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.skipped.is_none())
            .map(|s| s.steps.len())
            .sum()
    }

    pub fn steps_done(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.skipped.is_none())
            .map(StageView::steps_done)
            .sum()
    }

    /// (hits, hits + misses) over steps whose outcome is known. `FROM` resolves an image rather
    /// than doing work, so it does not count.
    pub fn cache_ratio(&self) -> (usize, usize) {
        let work = || self.steps().filter(|s| s.instruction != "FROM");
        let hits = work().filter(|s| s.cache == Cache::Hit).count();
        let misses = work().filter(|s| matches!(s.cache, Cache::Miss(_))).count();
        (hits, hits + misses)
    }

    pub fn layers_size(&self) -> u64 {
        self.stages.iter().map(StageView::layers_size).sum()
    }

    pub fn elapsed(&self, now: Timestamp) -> Duration {
        match (&self.started, &self.finished) {
            (Some(start), Some(done)) => done.time.since(*start),
            (Some(start), None) => now.since(*start),
            _ => Duration::ZERO,
        }
    }

    /// The layers that make up the filesystem after `step`: its stage's base chain, then the
    /// stage's own layers up to the step.
    pub fn layer_request(&self, step: &StepRef) -> LayerRequest {
        let mut request = LayerRequest::new(step.clone());
        if let Some(stage) = self.stage_index(&step.stage) {
            self.collect_layers(stage, Some(step.index), &mut request, 0);
        }
        request.changes_in_last = self.step(step).is_some_and(|s| s.layer.is_some());
        request
    }

    fn collect_layers(
        &self,
        stage: usize,
        upto: Option<usize>,
        request: &mut LayerRequest,
        depth: usize,
    ) {
        // A malformed plan could name itself as base; the chain is never longer than the plan.
        if depth > self.stages.len() {
            return;
        }
        let s = &self.stages[stage];
        match self.stage_index(&s.base) {
            Some(parent) if parent != stage => {
                self.collect_layers(parent, None, request, depth + 1)
            }
            _ if s.base != "scratch" && s.base != "?" => request.base_image = Some(s.base.clone()),
            _ => {}
        }
        for step in &s.steps {
            if upto.is_some_and(|u| step.step.index > u) {
                break;
            }
            request.layers.extend(step.layer.clone());
        }
    }

    pub fn apply(&mut self, record: &Record) {
        self.last_event = Some(self.last_event.map_or(record.time, |t| t.max(record.time)));
        match &record.event {
            Event::BuildStarted { build_id, plan } => self.start(record.time, build_id, plan),
            Event::StageSkipped { stage, reason } => {
                let i = self.stage_or_insert(stage);
                self.stages[i].skipped = Some(reason.clone());
            }
            Event::StepQueued { step } => self.with_step(step, |s| s.state = StepState::Queued),
            Event::StepStarted { step, cache_key } => {
                self.latest_step = Some(step.clone());
                self.with_step(step, |s| {
                    s.state = StepState::Running;
                    s.started = Some(record.time);
                    s.cache_key = Some(cache_key.clone());
                })
            }
            Event::StepLog { .. } => {}
            Event::Warning {
                rule,
                message,
                line,
                ..
            } => self
                .warnings
                .push(format!("{rule}: {message} (line {line})")),
            Event::StepCached { step, layer, from } => self.with_step(step, |s| {
                s.state = StepState::Cached;
                s.cache = Cache::Hit;
                s.cached_from = from.clone();
                s.layer = layer.clone();
                s.duration = s
                    .started
                    .map(|t| record.time.since(t))
                    .or(Some(Duration::ZERO));
            }),
            Event::CacheMiss { step, reason } => {
                self.with_step(step, |s| s.cache = Cache::Miss(reason.clone()))
            }
            Event::StepFinished {
                step,
                layer,
                duration,
            } => self.with_step(step, |s| {
                s.state = StepState::Done;
                s.layer = layer.clone();
                s.duration = Some(format::seconds(*duration));
            }),
            Event::LayerDigested { step, layer } => {
                self.with_step(step, |s| s.layer = Some(layer.clone()))
            }
            Event::StepFailed {
                step,
                exit_code,
                message,
            } => {
                self.latest_step = Some(step.clone());
                self.with_step(step, |s| {
                    s.state = StepState::Failed;
                    s.duration = s.started.map(|t| record.time.since(t));
                    s.failure = Some(Failure {
                        exit_code: *exit_code,
                        message: message.clone(),
                    });
                })
            }
            Event::Paused { step } => {
                self.latest_step = Some(step.clone());
                self.with_step(step, |s| s.state = StepState::Paused)
            }
            Event::StageFinished {
                stage,
                image_config,
            } => {
                let i = self.stage_or_insert(stage);
                self.stages[i].finished = Some(image_config.clone());
            }
            Event::Activity {
                name,
                state,
                text,
                duration,
            } => self.activity(record.time, name, *state, text, *duration),
            Event::BuildFinished {
                image,
                totals,
                error,
            } => {
                self.finished = Some(Finished {
                    time: record.time,
                    image: image.clone(),
                    totals: totals.clone(),
                    error: error.clone(),
                })
            }
        }
    }

    fn start(&mut self, time: Timestamp, build_id: &str, plan: &BuildPlan) {
        *self = BuildState {
            build_id: Some(build_id.to_string()),
            target: Some(plan.target.clone()),
            started: Some(time),
            last_event: Some(time),
            ..BuildState::default()
        };
        for stage in &plan.stages {
            let label = stage.label();
            let base = match &stage.base {
                StageBase::Image(image) => image.clone(),
                StageBase::Stage(name) => name.clone(),
                StageBase::Scratch(_) => "scratch".to_string(),
            };
            let skipped = (!stage.needed).then(|| {
                stage
                    .skip_reason
                    .clone()
                    .unwrap_or_else(|| "not needed by the target".into())
            });
            self.index
                .insert(stage.index.to_string(), self.stages.len());
            self.index.insert(label.clone(), self.stages.len());
            self.stages.push(StageView {
                steps: stage
                    .steps
                    .iter()
                    .map(|s| StepView::from_plan(&label, s))
                    .collect(),
                label,
                base,
                depends_on: stage.depends_on.clone(),
                skipped,
                finished: None,
            });
        }
    }

    /// A backend's work outside the plan (BuildKit's `[internal] …`, `exporting to image`): one row
    /// each under a stage of its own, whose label no Dockerfile stage can have.
    fn activity(
        &mut self,
        time: Timestamp,
        name: &str,
        state: ActivityState,
        text: &str,
        duration: Option<f64>,
    ) {
        let i = self.stage_or_insert(ACTIVITY_STAGE);
        let steps = &mut self.stages[i].steps;
        let pos = match steps.iter().position(|s| s.text == name) {
            Some(pos) => pos,
            None => {
                let step = StepRef::new(ACTIVITY_STAGE, steps.len());
                steps.push(StepView::new(step, String::new(), name.to_string(), 0));
                steps.len() - 1
            }
        };
        let view = &mut steps[pos];
        view.duration = duration.map(format::seconds).or(view.duration);
        match state {
            ActivityState::Started => {
                view.state = StepState::Running;
                view.started = Some(time);
            }
            ActivityState::Log => {}
            ActivityState::Done => view.state = StepState::Done,
            ActivityState::Cached => view.state = StepState::Cached,
            ActivityState::Failed => {
                view.state = StepState::Failed;
                view.failure = Some(Failure {
                    exit_code: None,
                    message: text.to_string(),
                });
            }
        }
    }

    /// Events about stages the plan did not mention still show up rather than vanish.
    fn stage_or_insert(&mut self, label: &str) -> usize {
        if let Some(i) = self.stage_index(label) {
            return i;
        }
        self.index.insert(label.to_string(), self.stages.len());
        self.stages.push(StageView {
            label: label.to_string(),
            base: "?".into(),
            depends_on: Vec::new(),
            skipped: None,
            finished: None,
            steps: Vec::new(),
        });
        self.stages.len() - 1
    }

    fn with_step(&mut self, step: &StepRef, f: impl FnOnce(&mut StepView)) {
        let i = self.stage_or_insert(&step.stage);
        let steps = &mut self.stages[i].steps;
        let pos = match steps.iter().position(|s| s.step.index == step.index) {
            Some(pos) => pos,
            None => {
                let at = steps.partition_point(|s| s.step.index < step.index);
                steps.insert(
                    at,
                    StepView::new(step.clone(), "?".into(), String::new(), 0),
                );
                at
            }
        };
        f(&mut steps[pos]);
    }
}
