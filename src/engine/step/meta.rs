//! Instructions that change the image config only, and WORKDIR (which also creates its directory).

use serde_json::json;

use super::super::cache::StepInputs;
use super::super::ctx::BuildCtx;
use super::super::cursor::Cursor;
use super::super::error::StepError;
use super::super::fsutil::resolve_in_root;
use super::overlay::{absolute, on_overlay};
use super::work::Work;
use crate::frontend::Op;
use crate::frontend::instruction::{Command, Healthcheck, HealthcheckConfig, KeyValue};

pub fn workdir<'a>(ctx: &'a BuildCtx, cursor: &mut Cursor, dir: &str) -> Work<'a> {
    let dir = absolute(&cursor.state.workdir, dir);
    cursor.state.workdir = dir.clone();
    let created_by = format!("WORKDIR {dir}");
    let inputs = StepInputs {
        parent: cursor.key.clone(),
        instruction: created_by.clone(),
        ..StepInputs::default()
    };
    Work::fs(inputs, created_by, move |lowers| {
        on_overlay(ctx, lowers, move |rootfs| {
            let path = resolve_in_root(rootfs, &dir, true)
                .map_err(StepError::io(format!("WORKDIR {dir}")))?;
            if path.is_dir() {
                return Ok(false);
            }
            std::fs::create_dir_all(&path)
                .map_err(StepError::io(format!("creating WORKDIR {dir}")))?;
            Ok(true)
        })
    })
}

/// The command of CMD/ENTRYPOINT/HEALTHCHECK as argv: exec form as given, shell form wrapped in the
/// stage's SHELL.
fn argv(cursor: &Cursor, command: &Command) -> Vec<String> {
    match command {
        Command::Exec(argv) => argv.clone(),
        Command::Shell(line) => {
            let mut argv = cursor.state.shell();
            argv.push(line.clone());
            argv
        }
    }
}

fn nanos(d: Option<std::time::Duration>) -> Option<u128> {
    d.map(|d| d.as_nanos())
}

pub fn apply<'a>(ctx: &BuildCtx, cursor: &mut Cursor, op: &Op) -> Result<Work<'a>, StepError> {
    let created_by = match op {
        Op::Env(pairs) => env(cursor, pairs),
        Op::Label(pairs) => {
            let mut parts = Vec::new();
            for kv in pairs {
                parts.push(format!("{}={}", kv.key, kv.value));
                cursor.state.labels.insert(kv.key.clone(), kv.value.clone());
            }
            format!("LABEL {}", parts.join(" "))
        }
        Op::Arg(decls) => {
            cursor.vars.apply(op, &ctx.plan.args, ctx.plan.escape)?;
            let parts: Vec<String> = decls
                .iter()
                .map(|decl| match cursor.vars.args().get(&decl.name) {
                    Some(v) => format!("{}={v}", decl.name),
                    None => decl.name.clone(),
                })
                .collect();
            format!("ARG {}", parts.join(" "))
        }
        Op::User(user) => {
            cursor.state.user = user.clone();
            format!("USER {}", cursor.state.user)
        }
        Op::Expose(ports) => expose(cursor, ports),
        Op::Volume(vols) => {
            let mut out = Vec::new();
            for v in vols {
                cursor.state.volumes.insert(v.clone());
                out.push(v.clone());
            }
            format!("VOLUME [{}]", out.join(" "))
        }
        Op::Cmd(command) => {
            let argv = argv(cursor, command);
            let text = format!("CMD {}", json!(argv));
            cursor.state.cmd = Some(argv);
            cursor.cmd_set = true;
            text
        }
        Op::Entrypoint(command) => {
            let argv = argv(cursor, command);
            let text = format!("ENTRYPOINT {}", json!(argv));
            cursor.state.entrypoint = Some(argv);
            // Docker: a new ENTRYPOINT drops the CMD inherited from the base image.
            if !cursor.cmd_set {
                cursor.state.cmd = None;
            }
            text
        }
        Op::Shell(argv) => {
            cursor.state.shell = argv.clone();
            format!("SHELL {}", json!(argv))
        }
        Op::Stopsignal(sig) => {
            cursor.state.stop_signal = Some(sig.clone());
            format!("STOPSIGNAL {sig}")
        }
        Op::Healthcheck(Healthcheck::None) => {
            cursor.state.healthcheck = Some(json!({"Test": ["NONE"]}));
            "HEALTHCHECK NONE".to_string()
        }
        Op::Healthcheck(Healthcheck::Check(hc)) => healthcheck(cursor, hc),
        Op::Onbuild(inner) => {
            let trigger = inner.span.joined.trim().to_string();
            cursor.state.onbuild.push(trigger.clone());
            format!("ONBUILD {trigger}")
        }
        Op::Maintainer(name) => {
            cursor.state.author = Some(name.clone());
            format!("MAINTAINER {name}")
        }
        other => {
            return Err(StepError::Invalid(format!(
                "{} is not a metadata instruction",
                other.keyword()
            )));
        }
    };
    Ok(Work::Config { created_by })
}

fn env(cursor: &mut Cursor, pairs: &[KeyValue]) -> String {
    let mut parts = Vec::new();
    for kv in pairs {
        cursor.vars.set_env(&kv.key, &kv.value);
        cursor.state.set_env(&kv.key, kv.value.clone());
        parts.push(format!("{}={}", kv.key, kv.value));
    }
    format!("ENV {}", parts.join(" "))
}

/// Each word a port; docker's default protocol is tcp.
fn expose(cursor: &mut Cursor, ports: &[String]) -> String {
    let mut out = Vec::new();
    for word in ports.iter().flat_map(|p| p.split_whitespace()) {
        let port = if word.contains('/') {
            word.to_string()
        } else {
            format!("{word}/tcp")
        };
        cursor.state.exposed.insert(port.clone());
        out.push(port);
    }
    format!("EXPOSE {}", out.join(" "))
}

/// The config's `Healthcheck` as docker writes it (durations in nanoseconds).
fn healthcheck(cursor: &mut Cursor, hc: &HealthcheckConfig) -> String {
    let test: Vec<String> = match &hc.test {
        Command::Exec(argv) => std::iter::once("CMD".to_string())
            .chain(argv.iter().cloned())
            .collect(),
        Command::Shell(line) => vec!["CMD-SHELL".into(), line.clone()],
    };
    let mut v = json!({"Test": test});
    for (k, d) in [
        ("Interval", nanos(hc.interval)),
        ("Timeout", nanos(hc.timeout)),
        ("StartPeriod", nanos(hc.start_period)),
        ("StartInterval", nanos(hc.start_interval)),
    ] {
        if let Some(n) = d {
            v[k] = json!(n);
        }
    }
    if let Some(r) = hc.retries {
        v["Retries"] = json!(r);
    }
    cursor.state.healthcheck = Some(v);
    format!("HEALTHCHECK {}", json!(test))
}
