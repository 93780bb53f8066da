//! BuildKit's status stream as stagecraft events: a pure function of (plan, status updates).
//!
//! Vertices named `[stage n/m] …` become the plan's steps (see [`super::names`]); the steps
//! BuildKit makes no vertex of (FROM a stage, ENV, LABEL, CMD, …) are reported when the next
//! vertex of their stage shows up or when the stage ends, cached when that vertex was. A FROM
//! vertex is shared by every stage with the same base image. Every other vertex becomes an
//! [`Event::Activity`] under the build. Times are BuildKit's own.

use std::collections::{BTreeMap, HashMap};

use super::failure::exit_code;
use super::names::{find_stage, normalize_image, parse_step, vertex_steps};
use super::status::{SolveStatus, Vertex, VertexLog};
use crate::engine::event::{ActivityState, ConfigSummary, Stream, Timestamp, Totals};
use crate::engine::{Event, Record, StepRef};
use crate::frontend::plan::{BuildPlan, StageBase};

/// What a vertex stands for.
#[derive(Debug, Clone)]
enum Target {
    Steps(Vec<StepRef>),
    Activity(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reported {
    Started,
    Cached,
    Done,
    Failed,
}

pub struct Mapper {
    plan: BuildPlan,
    started: Timestamp,
    vertices: HashMap<String, (Target, Option<Reported>)>,
    steps: BTreeMap<StepRef, Reported>,
    /// Text after the last newline of a vertex's stream, until the rest of the line comes.
    partial: HashMap<(String, i64), (Timestamp, String)>,
    /// Why a step missed, when the backend knows better than "BuildKit rebuilt it".
    reasons: BTreeMap<StepRef, String>,
    finished_stages: Vec<String>,
    /// The target's config and the size of its layers, once the image is back from the daemon.
    target_image: (ConfigSummary, u64),
}

impl Mapper {
    /// The mapper and the events that open the build (`build_started`, skipped stages, queued steps).
    pub fn new(plan: BuildPlan, build_id: &str, at: Timestamp) -> (Self, Vec<Record>) {
        let mut out = vec![rec(
            at,
            Event::BuildStarted {
                build_id: build_id.to_string(),
                plan: plan.clone(),
            },
        )];
        for stage in plan.stages.iter().filter(|s| !s.needed) {
            let reason = stage.skip_reason.clone().unwrap_or_default();
            out.push(rec(
                at,
                Event::StageSkipped {
                    stage: stage.label(),
                    reason,
                },
            ));
        }
        for stage in plan.stages.iter().filter(|s| s.needed) {
            for step in &stage.steps {
                let step = StepRef::new(stage.label(), step.index);
                out.push(rec(at, Event::StepQueued { step }));
            }
        }
        let mapper = Self {
            plan,
            started: at,
            vertices: HashMap::new(),
            steps: BTreeMap::new(),
            partial: HashMap::new(),
            reasons: BTreeMap::new(),
            finished_stages: Vec::new(),
            target_image: (ConfigSummary::default(), 0),
        };
        (mapper, out)
    }

    /// Miss reasons computed from the inputs stagecraft sees, used instead of BuildKit's silence.
    pub fn set_reasons(&mut self, reasons: BTreeMap<StepRef, String>) {
        self.reasons = reasons;
    }

    /// What the imported target image says: its config (for `stage_finished`) and the size of
    /// its layers (the totals' `image_size`).
    pub fn set_target_image(&mut self, config: ConfigSummary, size: u64) {
        self.target_image = (config, size);
    }

    pub fn update(&mut self, status: &SolveStatus) -> Vec<Record> {
        let mut out = Vec::new();
        for v in &status.vertexes {
            self.vertex(v, &mut out);
        }
        for s in &status.statuses {
            let Some((Target::Activity(name), _)) = self.vertices.get(&s.vertex) else {
                continue;
            };
            let text = match (s.total, s.completed.is_some()) {
                (0, true) if s.current > 0 => format!("{} {} done", s.id, s.current),
                (0, true) => format!("{} done", s.id),
                _ => continue,
            };
            let name = name.clone();
            out.push(activity(s.timestamp, name, ActivityState::Log, text, None));
        }
        for log in &status.logs {
            self.log(log, &mut out);
        }
        out
    }

    fn target(&self, v: &Vertex) -> Target {
        let Some(step) = parse_step(&v.name) else {
            return Target::Activity(v.name.clone());
        };
        let Some(stage) = find_stage(&self.plan, step.stage) else {
            return Target::Activity(v.name.clone());
        };
        let Some(&index) = vertex_steps(stage).get(step.n - 1) else {
            return Target::Activity(v.name.clone());
        };
        if index != 0 {
            return Target::Steps(vec![StepRef::new(stage.label(), index)]);
        }
        // BuildKit makes one vertex of equal FROMs: it stands for every stage on that image.
        let image = normalize_image(&stage.base_ref);
        let steps = self
            .plan
            .stages
            .iter()
            .filter(|s| s.index == stage.index || s.needed)
            .filter(|s| matches!(s.base, StageBase::Image(_)))
            .filter(|s| normalize_image(&s.base_ref) == image)
            .map(|s| StepRef::new(s.label(), 0))
            .collect();
        Target::Steps(steps)
    }

    fn vertex(&mut self, v: &Vertex, out: &mut Vec<Record>) {
        let (target, before) = match self.vertices.get(&v.digest) {
            Some((t, r)) => (t.clone(), *r),
            None => (self.target(v), None),
        };
        let now = if !v.error.is_empty() {
            Some(Reported::Failed)
        } else if v.cached {
            Some(Reported::Cached)
        } else if v.completed.is_some() {
            Some(Reported::Done)
        } else if v.started.is_some() {
            Some(Reported::Started)
        } else {
            None
        };
        self.vertices
            .insert(v.digest.clone(), (target.clone(), now.or(before)));
        let Some(now) = now else { return };
        if before == Some(now) || before.is_some_and(|b| b != Reported::Started) {
            return;
        }
        let at = v.completed.or(v.started).unwrap_or(self.started);
        match target {
            Target::Activity(name) => out.push(self.activity_of(v, name, now, at)),
            Target::Steps(steps) => {
                for step in steps {
                    self.step(&step, v, now, at, out);
                }
            }
        }
    }

    fn activity_of(&self, v: &Vertex, name: String, now: Reported, at: Timestamp) -> Record {
        let duration = duration(v);
        let (state, text) = match now {
            Reported::Started => (ActivityState::Started, String::new()),
            Reported::Cached => (ActivityState::Cached, String::new()),
            Reported::Done => (ActivityState::Done, String::new()),
            Reported::Failed => (ActivityState::Failed, v.error.clone()),
        };
        activity(at, name, state, text, duration)
    }

    fn step(
        &mut self,
        step: &StepRef,
        v: &Vertex,
        now: Reported,
        at: Timestamp,
        out: &mut Vec<Record>,
    ) {
        let prev = self.steps.get(step).copied();
        if prev.is_some_and(|p| p != Reported::Started) {
            return;
        }
        self.fill_before(step, now == Reported::Cached, at, out);
        if prev.is_none() {
            let start = v.started.unwrap_or(at);
            let cache_key = v.digest.clone();
            out.push(rec(
                start,
                Event::StepStarted {
                    step: step.clone(),
                    cache_key,
                },
            ));
            if now != Reported::Cached && step.index != 0 {
                let reason = self
                    .reasons
                    .get(step)
                    .cloned()
                    .unwrap_or_else(|| "BuildKit rebuilt this step".to_string());
                out.push(rec(
                    start,
                    Event::CacheMiss {
                        step: step.clone(),
                        reason,
                    },
                ));
            }
        }
        // A FROM is a hit however BuildKit spells it (it says `cached=false` for a resolved image).
        let recorded = match now {
            Reported::Done if step.index == 0 => Reported::Cached,
            other => other,
        };
        self.steps.insert(step.clone(), recorded);
        let event = match recorded {
            Reported::Started => return,
            Reported::Cached => Event::StepCached {
                step: step.clone(),
                layer: None,
                from: None,
            },
            Reported::Done => Event::StepFinished {
                step: step.clone(),
                layer: None,
                duration: duration(v).unwrap_or(0.0),
            },
            Reported::Failed => Event::StepFailed {
                step: step.clone(),
                exit_code: exit_code(&v.error),
                message: v.error.clone(),
            },
        };
        out.push(rec(at, event));
        if now != Reported::Failed {
            self.close_stage_if_done(&step.stage, recorded == Reported::Cached, at, out);
        }
    }

    /// Reports the steps before `step` in its stage that no vertex stands for.
    fn fill_before(&mut self, step: &StepRef, cached: bool, at: Timestamp, out: &mut Vec<Record>) {
        let Some(stage) = self.plan.stages.iter().find(|s| s.label() == step.stage) else {
            return;
        };
        let with_vertex = vertex_steps(stage);
        let silent: Vec<StepRef> = (0..step.index)
            .filter(|i| !with_vertex.contains(i))
            .map(|i| StepRef::new(step.stage.clone(), i))
            .filter(|s| !self.steps.contains_key(s))
            .collect();
        for s in silent {
            self.silent_step(&s, cached, at, out);
        }
    }

    /// A step BuildKit made no vertex of: FROM a stage or scratch, or a config change.
    fn silent_step(&mut self, step: &StepRef, cached: bool, at: Timestamp, out: &mut Vec<Record>) {
        out.push(rec(
            at,
            Event::StepStarted {
                step: step.clone(),
                cache_key: String::new(),
            },
        ));
        let event = if cached || step.index == 0 {
            self.steps.insert(step.clone(), Reported::Cached);
            Event::StepCached {
                step: step.clone(),
                layer: None,
                from: None,
            }
        } else {
            self.steps.insert(step.clone(), Reported::Done);
            Event::StepFinished {
                step: step.clone(),
                layer: None,
                duration: 0.0,
            }
        };
        out.push(rec(at, event));
    }

    /// Once the last vertex of a stage is through, its trailing config steps are too.
    fn close_stage_if_done(
        &mut self,
        label: &str,
        cached: bool,
        at: Timestamp,
        out: &mut Vec<Record>,
    ) {
        let Some(stage) = self.plan.stages.iter().find(|s| s.label() == label) else {
            return;
        };
        let with_vertex = vertex_steps(stage);
        let all_through = with_vertex.iter().all(|i| {
            self.steps
                .get(&StepRef::new(label, *i))
                .is_some_and(|r| matches!(r, Reported::Cached | Reported::Done))
        });
        if !all_through || self.finished_stages.iter().any(|s| s == label) {
            return;
        }
        let rest: Vec<StepRef> = stage
            .steps
            .iter()
            .map(|s| StepRef::new(label, s.index))
            .filter(|s| !self.steps.contains_key(s))
            .collect();
        for s in rest {
            self.silent_step(&s, cached, at, out);
        }
        self.finished_stages.push(label.to_string());
        // The target's config is known once its image is back from the daemon: `finish`.
        if label != self.plan.target {
            out.push(rec(
                at,
                Event::StageFinished {
                    stage: label.to_string(),
                    image_config: ConfigSummary::default(),
                },
            ));
        }
    }

    fn log(&mut self, log: &VertexLog, out: &mut Vec<Record>) {
        let Some((target, _)) = self.vertices.get(&log.vertex).cloned() else {
            return;
        };
        let key = (log.vertex.clone(), log.stream);
        let (first_at, mut text) = self
            .partial
            .remove(&key)
            .unwrap_or((log.timestamp, String::new()));
        text.push_str(&String::from_utf8_lossy(&log.data));
        let Some(end) = text.rfind('\n') else {
            self.partial.insert(key, (first_at, text));
            return;
        };
        let rest = text.split_off(end + 1);
        if !rest.is_empty() {
            self.partial.insert(key, (log.timestamp, rest));
        }
        for line in text.lines() {
            emit_line(&target, log.stream, line, first_at, out);
        }
    }

    /// The events that close the build: the steps and stages still open once BuildKit is done,
    /// then `build_finished` with the image (`None` on failure) and totals.
    pub fn finish(
        &mut self,
        image: Option<String>,
        error: Option<String>,
        at: Timestamp,
    ) -> Vec<Record> {
        let mut out = Vec::new();
        for ((vertex, stream), (t, text)) in std::mem::take(&mut self.partial) {
            if let Some((target, _)) = self.vertices.get(&vertex) {
                emit_line(target, stream, &text, t, &mut out);
            }
        }
        if error.is_none() {
            let open: Vec<(String, usize)> = self
                .plan
                .stages
                .iter()
                .filter(|s| s.needed)
                .map(|s| (s.label(), s.steps.len()))
                .collect();
            for (label, last) in open {
                self.fill_before(&StepRef::new(label.clone(), last), true, at, &mut out);
                self.close_stage_if_done(&label, true, at, &mut out);
            }
        }
        if self.finished_stages.contains(&self.plan.target) {
            let (image_config, _) = self.target_image.clone();
            out.push(rec(
                at,
                Event::StageFinished {
                    stage: self.plan.target.clone(),
                    image_config,
                },
            ));
        }
        let mut totals = self.totals(at);
        totals.image_size = self.target_image.1;
        out.push(rec(
            at,
            Event::BuildFinished {
                image,
                totals,
                error,
            },
        ));
        out
    }

    fn totals(&self, at: Timestamp) -> Totals {
        let count = |r: Reported| self.steps.values().filter(|v| **v == r).count();
        Totals {
            steps: self
                .plan
                .stages
                .iter()
                .filter(|s| s.needed)
                .map(|s| s.steps.len())
                .sum(),
            cached: count(Reported::Cached),
            executed: count(Reported::Done),
            failed: count(Reported::Failed),
            duration: at.since(self.started).as_secs_f64(),
            image_size: 0,
        }
    }
}

fn emit_line(target: &Target, stream: i64, line: &str, at: Timestamp, out: &mut Vec<Record>) {
    match target {
        Target::Steps(steps) => {
            // A shared FROM vertex's output belongs to the first stage only; not repeated.
            if let Some(step) = steps.first() {
                let stream = if stream == 2 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                let text = line.to_string();
                out.push(rec(
                    at,
                    Event::StepLog {
                        step: step.clone(),
                        stream,
                        text,
                    },
                ));
            }
        }
        Target::Activity(name) => {
            out.push(activity(
                at,
                name.clone(),
                ActivityState::Log,
                line.to_string(),
                None,
            ));
        }
    }
}

fn duration(v: &Vertex) -> Option<f64> {
    Some(v.completed?.since(v.started?).as_secs_f64())
}

fn rec(time: Timestamp, event: Event) -> Record {
    Record { time, event }
}

fn activity(
    at: Timestamp,
    name: String,
    state: ActivityState,
    text: String,
    duration: Option<f64>,
) -> Record {
    rec(
        at,
        Event::Activity {
            name,
            state,
            text,
            duration,
        },
    )
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
