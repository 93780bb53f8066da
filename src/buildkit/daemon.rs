//! A build on the BuildKit inside a Docker daemon: `POST /build?version=2` with a session through
//! bollard, whose decoded `moby.buildkit.trace` messages go through [`super::Mapper`] into the
//! event stream. Dropping the request (Ctrl-C) makes the daemon cancel the solve.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use bollard::Docker;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::context::context_tar;
use super::mapping::Mapper;
use super::trace::solve_status;
use crate::engine::event::{ActivityState, Timestamp};
use crate::engine::{BuildOptions, Event, Record};
use crate::frontend::plan::BuildPlan;

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The activity under which the built image is imported into the store.
pub const IMPORT_ACTIVITY: &str = "importing the image into the store";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DaemonError {
    #[error("cannot reach the Docker daemon at {host} (DOCKER_HOST): {message}")]
    #[diagnostic(help(
        "start dockerd, or point DOCKER_HOST at one (unix:///path, tcp://host:port)"
    ))]
    Unreachable { host: String, message: String },
    #[error("the Docker daemon at {host} has no BuildKit: {reason}")]
    NoBuildKit { host: String, reason: String },
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Context(#[from] crate::engine::context::ContextError),
    #[error("writing BuildKit's progress to {path}: {source}")]
    Record {
        path: String,
        source: std::io::Error,
    },
}

/// `DOCKER_HOST`, or the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| DEFAULT_HOST.to_string())
}

/// A client for `DOCKER_HOST` (unix, or tcp with TLS from `DOCKER_CERT_PATH` when
/// `DOCKER_TLS_VERIFY` is set), checked to answer and to speak an API with BuildKit.
pub async fn connect() -> Result<Docker, DaemonError> {
    connect_to(&docker_host()).await
}

pub async fn connect_to(host: &str) -> Result<Docker, DaemonError> {
    let host = host.to_string();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let unreachable = |message: String| DaemonError::Unreachable {
        host: host.clone(),
        message,
    };
    let docker = Docker::connect_with_host(&host)
        .map_err(|e| unreachable(e.to_string()))?
        // A build streams for as long as it runs; bollard's default would cut it at 2 minutes.
        .with_timeout(Duration::from_secs(24 * 3600));
    let version = docker
        .version()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let api = version.api_version.unwrap_or_default();
    let (major, minor) = api.split_once('.').unwrap_or(("0", "0"));
    let new_enough = (
        major.parse::<u32>().unwrap_or(0),
        minor.parse::<u32>().unwrap_or(0),
    ) >= (1, 39);
    if !new_enough || version.os.as_deref() == Some("windows") {
        return Err(DaemonError::NoBuildKit {
            host,
            reason: format!(
                "API {api} on {} (BuildKit needs 1.39 on Linux)",
                version.os.unwrap_or_default()
            ),
        });
    }
    Ok(docker)
}

/// The daemon's image id of each FROM image of the needed stages that it has (one it will pull
/// is left out: its id is known only after the build).
pub async fn base_ids(
    docker: &Docker,
    plan: &BuildPlan,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let bases = plan
        .stages
        .iter()
        .filter(|s| s.needed && s.base_stage.is_none() && s.base_ref != "scratch");
    for stage in bases {
        if out.contains_key(&stage.base_ref) {
            continue;
        }
        if let Ok(image) = docker.inspect_image(&stage.base_ref).await
            && let Some(id) = image.id
        {
            out.insert(stage.base_ref.clone(), id);
        }
    }
    out
}

/// What the daemon backend takes beyond the engine's options.
#[derive(Debug, Clone, Default)]
pub struct DockerExtras {
    /// Miss reasons from the inputs stagecraft sees (`super::reasons`).
    pub reasons: std::collections::BTreeMap<crate::engine::StepRef, String>,
    /// rawjson copy of BuildKit's own progress (`STAGECRAFT_BUILDKIT_RAWJSON`).
    pub rawjson: Option<std::path::PathBuf>,
    /// Where the built image is imported (`None`: it stays in the daemon only).
    pub store: Option<std::sync::Arc<crate::store::Store>>,
}

/// The image the daemon built, or why not.
#[derive(Debug, Clone)]
pub struct DaemonOutcome {
    /// The daemon's image id.
    pub image: Option<String>,
    pub error: Option<String>,
    pub totals: crate::engine::event::Totals,
    /// The image as imported into the store, laid over the plan (empty when not imported).
    pub stored: Option<String>,
    pub stages: Vec<crate::store::StageRecord>,
}

fn options(
    opts: &BuildOptions,
    dockerfile: &str,
    session: &str,
) -> bollard::query_parameters::BuildImageOptions {
    let buildargs: HashMap<String, String> = opts.build_args.clone().into_iter().collect();
    let labels: HashMap<String, String> = opts.labels.clone().into_iter().collect();
    let mut b = BuildImageOptionsBuilder::default()
        .dockerfile(dockerfile)
        .version(BuilderVersion::BuilderBuildKit)
        .session(session)
        .rm(true)
        .nocache(opts.no_cache)
        .buildargs(&buildargs)
        .labels(&labels)
        // The engine's default is the host network; a dockerd without a bridge has nothing else.
        .networkmode(if opts.network_none { "none" } else { "host" });
    if let Some(t) = opts.tags.first() {
        b = b.t(t);
    }
    if let Some(target) = &opts.target {
        b = b.target(target);
    }
    b.build()
}

/// Runs the build on the daemon, sending mapped events to `events` until the daemon is done or
/// `cancel` fires.
pub async fn build(
    docker: &Docker,
    plan: BuildPlan,
    opts: &BuildOptions,
    extras: &DockerExtras,
    events: &UnboundedSender<Record>,
    cancel: CancellationToken,
) -> Result<DaemonOutcome, DaemonError> {
    if !opts.secrets.is_empty() {
        return Err(DaemonError::Unsupported(
            "--secret is not supported with --builder docker yet: bollard's build session serves no secrets".into(),
        ));
    }
    let ctx = context_tar(&opts.context, &opts.dockerfile)?;
    let build_id = format!(
        "stagecraft-{}-{}",
        std::process::id(),
        Timestamp::now()
            .0
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    let plan_copy = plan.clone();
    let (mut mapper, first) = Mapper::new(plan, &build_id, Timestamp::now());
    mapper.set_reasons(extras.reasons.clone());
    first.into_iter().for_each(|r| drop(events.send(r)));
    let mut raw = match &extras.rawjson {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|source| DaemonError::Record {
                path: path.display().to_string(),
                source,
            })?,
        )),
        None => None,
    };
    let options = options(opts, &ctx.dockerfile, &build_id);
    let stream = docker.build_image(options, None, Some(bollard::body_full(ctx.tar.into())));
    let (image, error) = pump(stream, &mut mapper, raw.as_mut(), events, cancel).await;
    if let Some(mut w) = raw {
        let _ = w.flush();
    }
    let (stored, stages) = match (&image, &error, &extras.store) {
        (Some(id), None, Some(store)) => {
            let tag = opts.tags.first().cloned();
            let to = Imports {
                store: store.clone(),
                tag,
                plan: &plan_copy,
            };
            bring_back(docker, id, to, &mut mapper, events).await
        }
        _ => (None, Vec::new()),
    };
    let finish = mapper.finish(image.clone(), error.clone(), Timestamp::now());
    let totals = finish
        .iter()
        .find_map(|r| match &r.event {
            crate::engine::Event::BuildFinished { totals, .. } => Some(totals.clone()),
            _ => None,
        })
        .unwrap_or_default();
    finish.into_iter().for_each(|r| drop(events.send(r)));
    Ok(DaemonOutcome {
        image,
        error,
        totals,
        stored,
        stages,
    })
}

/// Where a built image goes and what it is laid over.
struct Imports<'a> {
    store: std::sync::Arc<crate::store::Store>,
    tag: Option<String>,
    plan: &'a BuildPlan,
}

/// Imports the built image into the store, shown as an activity under the build, and reports
/// its layers (`layer_digested`) and the target's config: our manifest digest and the stages
/// laid over it. A failure is reported as the activity's and leaves the build a success (its
/// image is in the daemon).
async fn bring_back(
    docker: &Docker,
    id: &str,
    to: Imports<'_>,
    mapper: &mut Mapper,
    events: &UnboundedSender<Record>,
) -> (Option<String>, Vec<crate::store::StageRecord>) {
    let activity = |state, text: String, duration| {
        Record::now(Event::Activity {
            name: IMPORT_ACTIVITY.to_string(),
            state,
            text,
            duration,
        })
    };
    let _ = events.send(activity(ActivityState::Started, String::new(), None));
    let started = std::time::Instant::now();
    let imported = match super::import::import_image(docker, to.store, id, to.tag).await {
        Ok(imported) => imported,
        Err(e) => {
            let _ = events.send(activity(ActivityState::Failed, e.to_string(), None));
            return (None, Vec::new());
        }
    };
    let took = Some(started.elapsed().as_secs_f64());
    let _ = events.send(activity(ActivityState::Done, String::new(), took));
    let mapped = super::result::map_image(to.plan, &imported);
    for (step, layer) in mapped.digested {
        let _ = events.send(Record::now(Event::LayerDigested { step, layer }));
    }
    let size = imported.layers.iter().map(|l| l.compressed_size).sum();
    mapper.set_target_image(mapped.config, size);
    (Some(imported.image.digest().to_string()), mapped.stages)
}

/// Reads the daemon's answer until it ends or `cancel` fires: the image id, or the error.
/// The stream is dropped on return: closing the request is what stops a cancelled solve.
async fn pump(
    mut stream: impl futures::Stream<Item = Result<bollard::models::BuildInfo, bollard::errors::Error>>
    + Unpin,
    mapper: &mut Mapper,
    mut raw: Option<&mut std::io::BufWriter<std::fs::File>>,
    events: &UnboundedSender<Record>,
    cancel: CancellationToken,
) -> (Option<String>, Option<String>) {
    let mut image = None;
    loop {
        let item = tokio::select! {
            _ = cancel.cancelled() => return (None, Some("build cancelled".into())),
            item = stream.next() => item,
        };
        match item {
            None => return (image, None),
            Some(Ok(info)) => match info.aux {
                Some(BuildInfoAux::BuildKit(resp)) => {
                    let status = solve_status(&resp);
                    if let Some(w) = raw.as_mut() {
                        let line = serde_json::to_string(&status).unwrap_or_default();
                        let _ = writeln!(w, "{line}");
                    }
                    for r in mapper.update(&status) {
                        let _ = events.send(r);
                    }
                }
                Some(BuildInfoAux::Default(id)) => image = id.id,
                None => {}
            },
            Some(Err(e)) => return (None, Some(stream_error(e))),
        }
    }
}

fn stream_error(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerStreamError { error } => error,
        other => other.to_string(),
    }
}
