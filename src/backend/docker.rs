//! `--builder docker`: the build runs on the BuildKit inside the Docker daemon at `DOCKER_HOST`
//! and comes back as the same event stream (see `crate::buildkit`). What BuildKit cannot take
//! from a display (breakpoints, stepping) is not asked of it: controls other than cancel are
//! ignored, and cancel closes the request so the daemon stops the solve.

use std::path::PathBuf;

use super::{Backend, BuildRun};
use crate::buildkit::daemon::{self, DockerExtras};
use crate::engine::{self, BuildOptions, BuildOutcome, EngineError};
use crate::store::BuildRecord;

/// Env var naming a file to receive BuildKit's own progress as rawjson.
pub const RAWJSON_ENV: &str = "STAGECRAFT_BUILDKIT_RAWJSON";

#[derive(Debug, Default)]
pub struct DockerDaemon;

impl Backend for DockerDaemon {
    fn start(&self, opts: BuildOptions) -> BuildRun {
        BuildRun::spawn(move |events, _controls, cancel| async move {
            // Our front end reads the Dockerfile first: what it rejects is never sent.
            let plan = engine::load_plan(&opts)?;
            if !opts.breakpoints.is_empty() {
                return Err(EngineError::Backend(
                    "--break needs --builder local: BuildKit cannot pause between steps".into(),
                ));
            }
            let docker = daemon::connect()
                .await
                .map_err(|e| EngineError::Backend(e.to_string()))?;
            let extras = DockerExtras {
                rawjson: std::env::var_os(RAWJSON_ENV).map(PathBuf::from),
            };
            let out = daemon::build(&docker, plan.clone(), &opts, &extras, &events, cancel)
                .await
                .map_err(|e| EngineError::Backend(e.to_string()))?;
            let record = BuildRecord {
                id: format!("docker-{}", std::process::id()),
                created: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string(),
                context: opts.context.clone(),
                dockerfile: opts.dockerfile.clone(),
                target: plan.target.clone(),
                plan,
                image: out.image.clone(),
                error: out.error.clone(),
                stages: Vec::new(),
            };
            match out.error {
                Some(e) if e == "build cancelled" => Err(EngineError::Cancelled),
                Some(message) => Err(EngineError::Backend(message)),
                None => Ok(BuildOutcome {
                    record,
                    totals: out.totals,
                }),
            }
        })
    }
}
