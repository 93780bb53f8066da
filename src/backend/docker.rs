//! `--builder docker`: the build runs on the BuildKit inside the Docker daemon at `DOCKER_HOST`
//! and comes back as the same event stream (see `crate::buildkit`). What BuildKit cannot take
//! from a display (breakpoints, stepping) is not asked of it: controls other than cancel are
//! ignored, and cancel closes the request so the daemon stops the solve.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Backend, BuildRun};
use crate::buildkit::daemon::{self, DockerExtras};
use crate::buildkit::reasons;
use crate::engine::{self, BuildOptions, BuildOutcome, EngineError};
use crate::store::{BuildRecord, Store};

/// Env var naming a file to receive BuildKit's own progress as rawjson.
pub const RAWJSON_ENV: &str = "STAGECRAFT_BUILDKIT_RAWJSON";

/// Keeps each build's step inputs under the store root, so the next build can name what changed,
/// and imports the built image into the store, with a build record over it.
pub struct DockerDaemon {
    pub store: Arc<Store>,
    /// Import the image as soon as it is built (the TUI, `-o`); otherwise `buildkit::later`
    /// brings it on first use and the build costs what `docker build` costs.
    pub import_now: bool,
}

impl Backend for DockerDaemon {
    fn start(&self, opts: BuildOptions) -> BuildRun {
        let store = self.store.clone();
        let import_now = self.import_now;
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
            let bases = daemon::base_ids(&docker, &plan).await;
            let inputs_with = |bases: &_| {
                let o = &opts;
                reasons::step_inputs(&plan, &o.context, &o.dockerfile, &o.build_args, bases)
            };
            let mut inputs = inputs_with(&bases);
            let record =
                reasons::record_path(store.root(), &opts.context, &opts.dockerfile, &plan.target);
            let previous = reasons::load(&record);
            let extras = DockerExtras {
                rawjson: std::env::var_os(RAWJSON_ENV).map(PathBuf::from),
                reasons: reasons::reasons(&previous, &inputs, opts.no_cache),
                store: import_now.then(|| store.clone()),
            };
            let out = daemon::build(&docker, plan.clone(), &opts, &extras, &events, cancel)
                .await
                .map_err(|e| EngineError::Backend(e.to_string()))?;
            if out.error.is_none() {
                // A base the daemon pulled during the build has an id only now (asked only
                // then: each question is a round trip on every build).
                let missing = plan.stages.iter().any(|s| {
                    s.needed
                        && s.base_stage.is_none()
                        && s.base_ref != "scratch"
                        && !bases.contains_key(&s.base_ref)
                });
                if missing {
                    inputs = inputs_with(&daemon::base_ids(&docker, &plan).await);
                }
                reasons::save(&record, &inputs);
            }
            let record = BuildRecord {
                id: format!("docker-{}", std::process::id()),
                created: crate::store::stamp::now(),
                context: opts.context.clone(),
                dockerfile: opts.dockerfile.clone(),
                target: plan.target.clone(),
                plan,
                image: out.stored.clone(),
                error: out.error.clone(),
                stages: out.stages,
                daemon_image: out.image.clone(),
            };
            if record.daemon_image.is_some() {
                // explain, inspect, diff and shell open the last build's stages from here (after
                // importing the image, if that was left for later).
                store.put_build(&record)?;
            }
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
