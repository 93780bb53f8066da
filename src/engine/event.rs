//! The engine ↔ UI contract: one flat stream of events, serialized one JSON object per line.
//!
//! The same lines are printed by `--progress=json`, written by `--event-log`, and read by
//! `tui --replay`, so every consumer can be tested from a recorded log.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::frontend::plan::BuildPlan;
use crate::store::LayerInfo;

/// A step addressed as `stage/index`, where stage is the stage's name or, for an unnamed stage, its number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepRef {
    pub stage: String,
    pub index: usize,
}

impl StepRef {
    pub fn new(stage: impl Into<String>, index: usize) -> Self {
        Self {
            stage: stage.into(),
            index,
        }
    }
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stage, self.index)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid step reference {0:?}: expected STAGE/INDEX")]
pub struct StepRefError(String);

impl FromStr for StepRef {
    type Err = StepRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (stage, index) = s
            .rsplit_once('/')
            .ok_or_else(|| StepRefError(s.to_string()))?;
        let index = index.parse().map_err(|_| StepRefError(s.to_string()))?;
        if stage.is_empty() {
            return Err(StepRefError(s.to_string()));
        }
        Ok(Self::new(stage, index))
    }
}

impl Serialize for StepRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StepRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Wall-clock time of an event, serialized as RFC 3339 with microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Self(SystemTime::now())
    }

    /// Seconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(&self, earlier: Timestamp) -> Duration {
        self.0.duration_since(earlier.0).unwrap_or_default()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_micros(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Timestamp {
    /// RFC 3339 in UTC (`…Z`, or no zone) or with an offset (`…+01:00`: Go's `time.Time` in
    /// JSON, as BuildKit's rawjson writes local times).
    pub fn parse(s: &str) -> Result<Self, String> {
        let zone = s
            .len()
            .checked_sub(6)
            .filter(|&i| i > 10 && s.is_char_boundary(i));
        let offset = zone.and_then(|i| {
            let (sign, hh, mm) = (s.get(i..i + 1)?, s.get(i + 1..i + 3)?, s.get(i + 4..)?);
            let sign = match sign {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            (s.get(i + 3..i + 4)? == ":").then_some(())?;
            let secs = hh.parse::<i64>().ok()? * 3600 + mm.parse::<i64>().ok()? * 60;
            Some((i, sign * secs))
        });
        let (local, secs) = match offset {
            Some((i, secs)) => (&s[..i], secs),
            None => (s, 0),
        };
        let t = humantime::parse_rfc3339_weak(local).map_err(|e| format!("{s:?}: {e}"))?;
        // The local time minus its offset is UTC.
        let shift = Duration::from_secs(secs.unsigned_abs());
        let utc = if secs >= 0 {
            t.checked_sub(shift)
        } else {
            t.checked_add(shift)
        };
        utc.map(Timestamp)
            .ok_or_else(|| format!("{s:?}: out of range"))
    }
}

/// Which output a log line came from: the runtime's own type, serialized as `stdout`/`stderr`.
pub use crate::exec::Stream;

/// Totals reported when a build ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub steps: usize,
    pub cached: usize,
    pub executed: usize,
    pub failed: usize,
    /// Seconds from `build_started` to `build_finished`.
    pub duration: f64,
    /// Compressed size of the target image's layers in bytes (what a push or pull moves).
    pub image_size: u64,
}

/// The parts of a stage's image config a viewer shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSummary {
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
}

impl ConfigSummary {
    pub fn of(state: &crate::image::config::ImageState) -> Self {
        Self {
            env: state.env_strings(),
            workdir: (!state.workdir.is_empty()).then(|| state.workdir.clone()),
            user: (!state.user.is_empty()).then(|| state.user.clone()),
            entrypoint: state.entrypoint.clone(),
            cmd: state.cmd.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    BuildStarted {
        build_id: String,
        plan: BuildPlan,
    },
    StageSkipped {
        stage: String,
        reason: String,
    },
    StepQueued {
        step: StepRef,
    },
    StepStarted {
        step: StepRef,
        cache_key: String,
    },
    StepLog {
        step: StepRef,
        stream: Stream,
        text: String,
    },
    StepCached {
        step: StepRef,
        /// The reused layer; `None` for steps that only change the config.
        layer: Option<LayerInfo>,
        /// Where the hit came from when not the local store: `registry REF` or `local DIR`
        /// (a `--cache-from` source).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    CacheMiss {
        step: StepRef,
        reason: String,
    },
    StepFinished {
        step: StepRef,
        /// The committed layer; `None` for steps that only change the config. Sizes and counts
        /// are known at once; `digest` and `diff_id` are empty until `layer_digested`.
        layer: Option<LayerInfo>,
        /// Seconds.
        duration: f64,
    },
    /// A step's layer got its tar and digest, after its `step_finished` (or `step_cached`):
    /// they are made off the build's critical path.
    LayerDigested {
        step: StepRef,
        layer: LayerInfo,
    },
    StepFailed {
        step: StepRef,
        exit_code: Option<i32>,
        message: String,
    },
    Paused {
        step: StepRef,
    },
    StageFinished {
        stage: String,
        image_config: ConfigSummary,
    },
    /// A build check's finding (BuildKit's rule name and message), before any step runs.
    Warning {
        rule: String,
        message: String,
        /// The rule's documentation.
        url: String,
        file: String,
        line: usize,
        column: usize,
        /// A one-line fix.
        fix: String,
        /// The step written on that line, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepRef>,
    },
    /// Work a backend reports outside the plan's steps (BuildKit's `[internal] load build context`,
    /// `exporting to image`, or a vertex no step matches): shown under the build, never dropped.
    Activity {
        name: String,
        state: ActivityState,
        /// The log or status line, the error, or empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        /// Seconds, once done.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<f64>,
    },
    BuildFinished {
        /// Manifest digest of the target image; `None` when the build failed or was cancelled.
        image: Option<String>,
        totals: Totals,
        #[serde(default)]
        error: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityState {
    Started,
    Log,
    Done,
    Cached,
    Failed,
}

/// An event with the time it happened: the unit of the JSON-lines stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub time: Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

impl Record {
    pub fn now(event: Event) -> Self {
        Self {
            time: Timestamp::now(),
            event,
        }
    }

    /// The step this event is about, if any.
    pub fn step(&self) -> Option<&StepRef> {
        match &self.event {
            Event::StepQueued { step }
            | Event::StepStarted { step, .. }
            | Event::StepLog { step, .. }
            | Event::StepCached { step, .. }
            | Event::CacheMiss { step, .. }
            | Event::StepFinished { step, .. }
            | Event::LayerDigested { step, .. }
            | Event::StepFailed { step, .. }
            | Event::Paused { step } => Some(step),
            _ => None,
        }
    }
}

/// What a UI may ask of a running build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    Continue,
    StepOnce,
    SetBreakpoint { step: StepRef },
    ClearBreakpoint { step: StepRef },
    Cancel,
    OpenShell { at: StepRef },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_with_offsets_parse_to_the_same_instant() {
        let utc = Timestamp::parse("2026-12-04T22:15:03.641060902Z").expect("utc");
        for same in [
            "2026-12-04T23:15:03.641060902+01:00",
            "2026-12-04T17:45:03.641060902-04:30",
            "2026-12-04T22:15:03.641060902+00:00",
            "2026-12-04T22:15:03.641060902",
        ] {
            assert_eq!(Timestamp::parse(same).expect(same), utc, "{same}");
        }
        assert!(Timestamp::parse("2026-12-04T22:15:03+1:00").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn step_ref_round_trips_through_json() {
        let r = Record::now(Event::StepLog {
            step: StepRef::new("builder", 3),
            stream: Stream::Stdout,
            text: "hello".into(),
        });
        let line = serde_json::to_string(&r).expect("serialize");
        assert!(line.contains(r#""type":"step_log""#), "{line}");
        assert!(line.contains(r#""step":"builder/3""#), "{line}");
        let back: Record = serde_json::from_str(&line).expect("deserialize");
        assert_eq!(back.step(), Some(&StepRef::new("builder", 3)));
    }

    #[test]
    fn step_ref_rejects_garbage() {
        assert!("builder".parse::<StepRef>().is_err());
        assert!("/3".parse::<StepRef>().is_err());
        assert!("a/b/x".parse::<StepRef>().is_err());
        assert_eq!(
            "a/b/2".parse::<StepRef>().ok(),
            Some(StepRef::new("a/b", 2))
        );
    }
}
