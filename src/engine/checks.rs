//! Build checks for a build and for `plan --check`: the front end's rules, given what only this
//! layer knows: the ENV of base images already in the store, and the context's `.dockerignore`.

use std::collections::BTreeMap;
use std::path::Path;

use super::context::SourceTree;
use super::event::{Event, StepRef};
use crate::frontend::checks::{self, CheckInput, Report};
use crate::frontend::{BuildPlan, Dockerfile};
use crate::store::Store;

/// Runs the checks on `df`. Without a store (or for an image not in it) UndefinedVar does not
/// guess what the base image defines; without a readable context CopyIgnoredFile is skipped.
pub fn check(
    df: &Dockerfile,
    context: &Path,
    build_args: &BTreeMap<String, String>,
    store: Option<&Store>,
) -> Result<Report, String> {
    let tree = SourceTree::context(context, Some(&df.path)).ok();
    let image_env = |name: &str| image_env(store?, name);
    let ignored = |path: &str| tree.as_ref().is_some_and(|t| t.ignore.is_ignored(path));
    // BuildKit skips CopyIgnoredFile when `!` exceptions make a static answer unreliable.
    let usable = tree
        .as_ref()
        .is_some_and(|t| !t.ignore.is_empty() && !t.ignore.has_exclusions());
    checks::check(
        df,
        &CheckInput {
            build_args,
            image_env: &image_env,
            ignored: usable.then_some(&ignored as &dyn Fn(&str) -> bool),
        },
    )
}

/// The ENV names in the config of `name` as the store has it.
fn image_env(store: &Store, name: &str) -> Option<Vec<String>> {
    let image = store.resolve(name).ok()??;
    let env = image
        .config
        .config()
        .as_ref()?
        .env()
        .clone()
        .unwrap_or_default();
    Some(
        env.iter()
            .map(|kv| {
                kv.split_once('=')
                    .map_or(kv.as_str(), |(k, _)| k)
                    .to_string()
            })
            .collect(),
    )
}

/// The report as events; each names the step written on its line, if any.
pub fn events(report: &Report, df: &Dockerfile, plan: &BuildPlan) -> Vec<Event> {
    report
        .warnings
        .iter()
        .map(|w| Event::Warning {
            rule: w.rule.name.to_string(),
            message: w.message.clone(),
            url: w.rule.url(),
            file: df.path_str(),
            line: w.line,
            column: w.col,
            fix: w.fix.clone(),
            step: plan.stages.iter().find_map(|s| {
                s.steps
                    .iter()
                    .find(|p| p.line == w.line)
                    .map(|p| StepRef::new(s.label(), p.index))
            }),
        })
        .collect()
}
