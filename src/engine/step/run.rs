//! RUN: a container over the stage's overlay rootfs, with the stage's env, user, workdir and shell,
//! and the `--mount`s it asks for. Output streams as `step_log` events line by line.

use std::collections::BTreeMap;

use serde_json::json;

use super::super::cache::StepInputs;
use super::super::ctx::BuildCtx;
use super::super::cursor::{Cursor, Executed};
use super::super::error::StepError;
use super::super::event::{Event, StepRef};
use super::super::fsutil::resolve_in_root;
use super::mounts::prepare_mounts;
use super::work::Work;
use crate::exec::{self, Command, LogLine, Network, RunSpec};
use crate::frontend::instruction::{self, Run};
use crate::snapshot::overlay::Overlay;
use crate::store::failed_snapshot_name;

/// The process a RUN executes: exec form as given; shell form through SHELL, heredocs as BuildKit
/// hands them to the shell.
fn command(cursor: &Cursor, run: &Run) -> Command {
    match (&run.command, run.shell_script()) {
        (instruction::Command::Exec(argv), _) => Command::Exec(argv.clone()),
        (_, script) => Command::Shell {
            shell: cursor.state.shell(),
            line: script.unwrap_or_default(),
        },
    }
}

pub async fn run<'a>(
    ctx: &'a BuildCtx,
    cursor: &mut Cursor,
    step_ref: &'a StepRef,
    run: &Run,
) -> Result<Work<'a>, StepError> {
    let runtime = ctx.runtime()?;
    let script = super::shebang::script(run);
    let command = match &script {
        Some(s) => s.command(),
        None => command(cursor, run),
    };
    let argv = command.argv();
    let network = match run.network {
        Some(instruction::Network::None) => Network::None,
        Some(instruction::Network::Host) => Network::Host,
        _ if ctx.opts.network_none => Network::None,
        _ => Network::Host,
    };
    let mut mounts = prepare_mounts(ctx, cursor, &run.mounts).await?;
    mounts.mounts.extend(script.as_ref().map(|s| s.mount()));

    // BuildKit's RUN environment (StageVars' rule): ENV, the stage's ARGs under it, proxy args.
    let env = cursor.vars.run_env(&ctx.plan.args);
    let args = cursor.vars.args().clone();
    let mut key_env: BTreeMap<String, String> = env.iter().cloned().collect();
    for k in ctx.plan.args.proxy_env().keys() {
        key_env.remove(k);
    }
    key_env.insert("(user)".into(), cursor.state.user.clone());
    key_env.insert("(workdir)".into(), cursor.state.workdir.clone());
    key_env.insert("(network)".into(), format!("{network:?}"));
    // Only when given, so keys made without these flags stay as they were.
    for (host, ip) in &ctx.opts.extra_hosts {
        key_env.insert(format!("(add-host {host})"), ip.clone());
    }
    if let Some(size) = ctx.opts.shm_size {
        key_env.insert("(shm-size)".into(), size.to_string());
    }
    let instruction_text = format!(
        "RUN {}{}{}",
        json!(argv),
        mounts.describe(),
        script.as_ref().map(|s| s.key_part()).unwrap_or_default()
    );
    let inputs = StepInputs {
        parent: cursor.key.clone(),
        instruction: instruction_text,
        args: args
            .into_iter()
            .filter(|(k, _)| !ctx.plan.args.proxy_env().contains_key(k))
            .collect(),
        env: key_env,
        from: mounts.from_keys.clone(),
        ..StepInputs::default()
    };
    let created_by = format!("RUN {} # buildkit", argv.join(" "));
    let mut process_env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    process_env.extend(mounts.secret_env.iter().cloned());
    let workdir = cursor.state.workdir.clone();
    let user = cursor.state.user.clone();
    let bundle_parent = ctx.store.root().join("tmp");
    let failed_name = failed_snapshot_name(&step_ref.stage, step_ref.index, &cursor.key);
    Ok(Work::fs(inputs, created_by, move |lowers| async move {
        let scratch = ctx.store.tmp_dir("run-")?;
        let dir = scratch.path().to_path_buf();
        let wd = workdir.clone();
        let overlay = tokio::task::spawn_blocking(move || {
            let overlay = Overlay::mount(&lowers, &dir)?;
            if !wd.is_empty() {
                let path = resolve_in_root(overlay.rootfs(), &wd, true)
                    .map_err(StepError::io(format!("WORKDIR {wd}")))?;
                std::fs::create_dir_all(path)
                    .map_err(StepError::io(format!("creating WORKDIR {wd}")))?;
            }
            Ok::<_, StepError>(overlay)
        })
        .await??;
        let mut spec = RunSpec::new(
            overlay.rootfs().to_path_buf(),
            command,
            runtime,
            bundle_parent,
        );
        spec.env = process_env;
        spec.cwd = workdir;
        spec.user = user;
        spec.network = network;
        spec.mounts = mounts.mounts.clone();
        spec.extra_hosts = ctx.opts.extra_hosts.clone();
        spec.shm_size = ctx.opts.shm_size;
        let exit = run_logged(ctx, step_ref, &spec).await;
        drop(mounts);
        let upper = tokio::task::spawn_blocking(move || overlay.unmount()).await??;
        let exit = exit?;
        if !exit.success() {
            // What the command left is the most telling state for a failure shell (`S`).
            // Best effort: not keeping it must not change why the build failed.
            // Off the runtime's threads: replacing an older one removes a whole tree.
            let store = ctx.store.clone();
            let _ =
                tokio::task::spawn_blocking(move || store.keep_failed(&failed_name, &upper)).await;
            return Err(StepError::Exit {
                code: exit.code,
                tail: exit.tail.into_iter().map(|l| l.text).collect(),
            });
        }
        Ok(Executed {
            scratch,
            upper,
            layer: true,
        })
    }))
}

/// Runs the container, forwarding its output as `step_log` events.
async fn run_logged(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    spec: &RunSpec,
) -> Result<exec::Exit, StepError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<LogLine>(exec::LOG_QUEUE_LINES);
    let sink = ctx.sink.clone();
    let step = step_ref.clone();
    let backlog = ctx.opts.log_backlog.clone();
    let forward = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if let Some(b) = &backlog {
                tokio::select! {
                    () = b.reserve(line.text.len()) => {}
                    () = sink.closed() => {}
                }
            }
            sink.emit(Event::StepLog {
                step: step.clone(),
                stream: line.stream,
                text: line.text,
            });
        }
    });
    let result = exec::run_bounded(spec, tx, ctx.cancel.child_token()).await;
    let _ = forward.await;
    match result {
        Ok(exit) => Ok(exit),
        Err(_) if ctx.cancel.is_cancelled() => Err(StepError::Cancelled),
        Err(e) => Err(e.into()),
    }
}
