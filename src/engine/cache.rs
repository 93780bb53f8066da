//! Step cache keys with BuildKit's semantics, the records a hit reuses, and the reason for a miss.
//!
//! Only filesystem steps (FROM, RUN, COPY, ADD, WORKDIR) chain into the key: a LABEL or CMD never
//! invalidates a later RUN, while the environment a RUN sees (ENV, the stage's ARGs, user,
//! workdir, shell) is part of that RUN's key. Secrets never enter a key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::context::digest::SourceDigest;

/// Everything a step's result depends on. Its hash is the cache key; kept in the lineage record
/// so the next build can say what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInputs {
    /// Key of the filesystem state the step starts from (empty for FROM).
    pub parent: String,
    /// The instruction after expansion, in a canonical form.
    pub instruction: String,
    /// Build args the step can see (RUN: every ARG of the stage, as env).
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// Environment, user, workdir and shell a RUN executes with.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// COPY/ADD: digest of the selected sources.
    #[serde(default)]
    pub sources: Option<SourceDigest>,
    /// COPY --from / RUN --mount=from: keys of the stages or images read.
    #[serde(default)]
    pub from: Vec<String>,
    /// FROM: the base image's manifest digest.
    #[serde(default)]
    pub base: Option<String>,
}

impl StepInputs {
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |name: &str, value: &str| {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(value.as_bytes());
            h.update([0]);
        };
        field("parent", &self.parent);
        field("instruction", &self.instruction);
        for (k, v) in &self.args {
            field("arg", &format!("{k}={v}"));
        }
        for (k, v) in &self.env {
            field("env", &format!("{k}={v}"));
        }
        if let Some(s) = &self.sources {
            field("sources", &s.digest);
        }
        for f in &self.from {
            field("from", f);
        }
        if let Some(b) = &self.base {
            field("base", b);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }
}

/// Why a step could not reuse a cached result, in words a person can act on.
/// `at_base`: the step starts right on a base image (its parent key is the image's digest).
pub fn miss_reason(
    previous: Option<&StepInputs>,
    now: &StepInputs,
    parent_rebuilt: bool,
    at_base: bool,
    no_cache: bool,
) -> String {
    if no_cache {
        return "--no-cache".into();
    }
    let Some(prev) = previous else {
        return "no earlier build of this step".into();
    };
    if prev.base != now.base || (at_base && prev.parent != now.parent) {
        return "base image changed".into();
    }
    if let Some(arg) = first_changed(&prev.args, &now.args) {
        return format!("build arg {arg}");
    }
    if parent_rebuilt || prev.parent != now.parent {
        return "parent step rebuilt".into();
    }
    if prev.instruction != now.instruction {
        return format!(
            "instruction changed: {:?} → {:?}",
            prev.instruction, now.instruction
        );
    }
    if let Some(var) = first_changed(&prev.env, &now.env) {
        return format!("environment {var}");
    }
    if prev.from != now.from {
        return "source stage rebuilt".into();
    }
    if let (Some(a), Some(b)) = (&prev.sources, &now.sources) {
        let changed = changed_files(a, b);
        if !changed.is_empty() {
            let shown: Vec<&str> = changed.iter().take(3).map(String::as_str).collect();
            let more = changed.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            return format!("files changed: {}{tail}", shown.join(", "));
        }
    }
    "cache record missing (pruned or never completed)".into()
}

/// `NAME changed: a → b` (or added/removed) for the first differing key, sorted by name.
fn first_changed(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
        (Some(x), Some(y)) if x != y => Some(format!("{k} changed: {x} → {y}")),
        (Some(_), None) => Some(format!("{k} removed")),
        (None, Some(y)) => Some(format!("{k} set to {y}")),
        _ => None,
    })
}

/// Paths added, removed or changed between two source digests, sorted.
pub fn changed_files(a: &SourceDigest, b: &SourceDigest) -> Vec<String> {
    let old: BTreeMap<&str, &str> = a
        .files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = b
        .files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_str()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (p, d) in &new {
        if old.get(p) != Some(d) {
            out.push(p.to_string());
        }
    }
    for p in old.keys() {
        if !new.contains_key(p) {
            out.push(p.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Identifies "the same step" across builds: Dockerfile path, stage and position.
pub fn lineage_id(dockerfile: &str, stage: &str, index: usize) -> String {
    let h = Sha256::digest(format!("{dockerfile}\0{stage}\0{index}"));
    format!("lineage-{}", hex::encode(&h[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> StepInputs {
        StepInputs {
            parent: "p".into(),
            instruction: "RUN make".into(),
            ..Default::default()
        }
    }

    #[test]
    fn key_ignores_nothing_that_matters() {
        let a = inputs();
        let mut b = inputs();
        assert_eq!(a.key(), b.key());
        b.args.insert("V".into(), "1".into());
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn reasons_name_what_changed() {
        let prev = inputs();
        let mut now = inputs();
        assert_eq!(
            miss_reason(None, &now, false, false, false),
            "no earlier build of this step"
        );
        now.args.insert("APP_VERSION".into(), "2.0.0".into());
        let mut prev_arg = prev.clone();
        prev_arg.args.insert("APP_VERSION".into(), "1.0.0".into());
        assert_eq!(
            miss_reason(Some(&prev_arg), &now, false, false, false),
            "build arg APP_VERSION changed: 1.0.0 → 2.0.0"
        );
        let mut now = inputs();
        now.instruction = "RUN make all".into();
        assert!(
            miss_reason(Some(&prev), &now, false, false, false).starts_with("instruction changed")
        );
        let files = |list: &[(&str, &str)]| SourceDigest {
            digest: format!("{list:?}"),
            files: list
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        let mut p = inputs();
        p.sources = Some(files(&[
            ("main.go", "1"),
            ("go.sum", "1"),
            ("a", "1"),
            ("b", "1"),
            ("c", "1"),
        ]));
        let mut n = inputs();
        n.sources = Some(files(&[
            ("main.go", "2"),
            ("go.sum", "2"),
            ("a", "2"),
            ("b", "2"),
            ("c", "1"),
        ]));
        assert_eq!(
            miss_reason(Some(&p), &n, false, false, false),
            "files changed: a, b, go.sum (+1 more)"
        );
        assert_eq!(
            miss_reason(Some(&p), &n, true, false, false),
            "parent step rebuilt"
        );
        assert_eq!(miss_reason(Some(&p), &n, false, false, true), "--no-cache");
    }
}
