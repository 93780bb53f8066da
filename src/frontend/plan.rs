//! The stage graph of a Dockerfile, as the engine runs it and as `plan --format json` prints it.
//!
//! The serialized shape is a stable contract (documented in README): viewers and the event
//! stream (`build_started`) carry it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildPlan {
    /// Name (or number) of the target stage.
    pub target: String,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub index: usize,
    pub name: Option<String>,
    pub base: StageBase,
    /// Stage names (or numbers) and `image:REF` sources this stage reads from.
    pub depends_on: Vec<String>,
    pub needed: bool,
    pub skip_reason: Option<String>,
    pub steps: Vec<PlanStep>,
}

impl Stage {
    /// How steps and events address this stage: its name, or its number when unnamed.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageBase {
    Image(String),
    Stage(String),
    Scratch(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    pub index: usize,
    /// Upper-case instruction keyword (`RUN`, `COPY`, …).
    pub instruction: String,
    /// The instruction as written, continuations joined.
    pub text: String,
    /// 1-based line of the instruction in the Dockerfile.
    pub line: usize,
}
