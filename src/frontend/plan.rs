//! The stage graph of a Dockerfile, as the engine runs it and as `plan --format json` prints it.
//!
//! The serialized shape is a stable contract (documented in README): viewers and the event
//! stream (`build_started`) carry it.

use serde::{Deserialize, Serialize};

use super::args::ArgScope;
use super::instruction::Instruction;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildPlan {
    /// Name (or number) of the target stage.
    pub target: String,
    pub stages: Vec<Stage>,
    /// ARG values for the engine: build args, the global scope, platform ARGs.
    #[serde(skip)]
    pub args: ArgScope,
    /// Index of the target stage.
    #[serde(skip)]
    pub target_index: usize,
    /// Things worth telling the user that do not stop the build (unused build args, …).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The Dockerfile's `# escape=` character, which word expansion in the engine must use too.
    #[serde(skip, default = "default_escape")]
    pub escape: char,
}

fn default_escape() -> char {
    '\\'
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
    /// Step 0 is the FROM; then one step per instruction.
    pub steps: Vec<PlanStep>,
    /// The typed instructions, parallel to `steps` (`instructions[0]` is the FROM).
    #[serde(skip)]
    pub instructions: Vec<Instruction>,
    /// FROM with the global ARGs expanded: the image reference (or stage name / `scratch`).
    #[serde(skip)]
    pub base_ref: String,
    /// Index of the base stage when `base` is a stage.
    #[serde(skip)]
    pub base_stage: Option<usize>,
    /// `FROM --platform`, expanded.
    #[serde(skip)]
    pub platform: Option<String>,
    /// Typed edges: which step reads from which stage or image.
    #[serde(skip)]
    pub deps: Vec<Dependency>,
}

/// One edge of the stage graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Step of this stage that creates the edge (0 = FROM).
    pub step: usize,
    pub source: DepSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepSource {
    /// An earlier stage, by index.
    Stage(usize),
    /// An image reference used by `COPY --from` / `RUN --mount=from=` (expanded).
    Image(String),
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
