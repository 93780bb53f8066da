//! One executor per kind of instruction. The instruction's words are expanded once, here, by the
//! front end's `expand_op` against the stage's `StageVars`; each executor computes its cache
//! inputs and describes its work ([`Work`]), which the solver (`solve/`) keys, runs on a miss and
//! commits. Executors change the stage's config state themselves; the filesystem only in `run`.

pub mod copy;
pub mod from;
pub mod git;
pub mod meta;
pub mod mounts;
mod overlay;
pub mod run;
pub mod shebang;
mod work;

use super::ctx::BuildCtx;
use super::cursor::Cursor;
use super::error::StepError;
use super::event::StepRef;
use crate::frontend::{Instruction, Op, expand_op};

pub use work::{FsWork, Work};

/// Expands the instruction against the stage's variables and has its executor describe the work.
pub async fn prepare<'a>(
    ctx: &'a BuildCtx,
    cursor: &mut Cursor,
    step_ref: &'a StepRef,
    instruction: &Instruction,
) -> Result<Work<'a>, StepError> {
    let op = expand_op(&instruction.op, &cursor.vars, ctx.plan.escape)?;
    match &op {
        Op::Run(run) => run::run(ctx, cursor, step_ref, run).await,
        Op::Copy(copy) => copy::copy(ctx, cursor, step_ref, copy, false).await,
        Op::Add(copy) => copy::copy(ctx, cursor, step_ref, copy, true).await,
        Op::Workdir(dir) => Ok(meta::workdir(ctx, cursor, dir)),
        Op::From(_) => Err(StepError::Invalid("FROM inside a stage".into())),
        op => meta::apply(ctx, cursor, op),
    }
}
