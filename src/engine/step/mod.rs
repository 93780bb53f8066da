//! One executor per kind of instruction. The instruction's words are expanded once, here, by the
//! front end's `expand_op` against the stage's `StageVars`; each executor computes its cache
//! inputs and (on a miss) changes the rootfs through an overlay.

pub mod copy;
pub mod from;
pub mod git;
pub mod meta;
pub mod mounts;
pub mod run;
pub mod shebang;

use std::path::{Path, PathBuf};

use super::build::BuildCtx;
use super::error::StepError;
use super::event::StepRef;
use super::stage::{Cursor, Executed};
use crate::frontend::{Instruction, Op, expand_op};
use crate::snapshot::overlay::Overlay;

pub async fn execute(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    instruction: &Instruction,
) -> Result<(), StepError> {
    let op = expand_op(&instruction.op, &cursor.vars, ctx.plan.escape)?;
    match &op {
        Op::Run(run) => run::run(ctx, cursor, step_ref, instruction, run).await,
        Op::Copy(copy) => copy::copy(ctx, cursor, step_ref, instruction, copy, false).await,
        Op::Add(copy) => copy::copy(ctx, cursor, step_ref, instruction, copy, true).await,
        Op::Workdir(dir) => meta::workdir(ctx, cursor, step_ref, instruction, dir).await,
        Op::From(_) => Err(StepError::Invalid("FROM inside a stage".into())),
        op => meta::apply(ctx, cursor, step_ref, instruction, op),
    }
}

/// Mounts an overlay of `lowers` with a fresh upper dir in a scratch dir of the store, runs `work`
/// on its rootfs (blocking), unmounts, and returns the upper dir as the step's diff.
pub async fn on_overlay<F>(
    ctx: &BuildCtx,
    lowers: Vec<PathBuf>,
    work: F,
) -> Result<Executed, StepError>
where
    F: FnOnce(&Path) -> Result<bool, StepError> + Send + 'static,
{
    let scratch = ctx.store.tmp_dir("step-")?;
    let dir = scratch.path().to_path_buf();
    let (upper, layer) = tokio::task::spawn_blocking(move || {
        let overlay = Overlay::mount(&lowers, &dir)?;
        let result = work(overlay.rootfs());
        let upper = overlay.unmount()?;
        Ok::<_, StepError>((upper, result?))
    })
    .await
    .map_err(|e| StepError::Invalid(e.to_string()))??;
    Ok(Executed {
        scratch,
        upper,
        layer,
    })
}

/// The absolute path a relative one means under the stage's WORKDIR.
pub fn absolute(workdir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        let base = if workdir.is_empty() { "/" } else { workdir };
        format!("{}/{}", base.trim_end_matches('/'), path)
    }
}
