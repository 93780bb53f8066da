//! The image config: the one model of it. A build's stage changes it step by step in the shape
//! Dockerfile instructions change it; it converts to and from the OCI config JSON (plus Docker's
//! fields the OCI types leave out: Healthcheck, Shell, OnBuild).

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::image::ImageConfiguration;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Docker's default PATH, set when the base image has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub created: String,
    pub created_by: String,
    #[serde(default)]
    pub empty_layer: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageState {
    /// Ordered `KEY=VALUE` environment.
    pub env: Vec<(String, String)>,
    pub workdir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    pub exposed: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `SHELL`; empty means `["/bin/sh", "-c"]`.
    pub shell: Vec<String>,
    pub stop_signal: Option<String>,
    /// Docker's `Healthcheck` object (`Test`, `Interval`, … in nanoseconds).
    pub healthcheck: Option<Value>,
    /// ONBUILD triggers, as written.
    pub onbuild: Vec<String>,
    pub history: Vec<History>,
    pub author: Option<String>,
}

impl ImageState {
    pub fn shell(&self) -> Vec<String> {
        if self.shell.is_empty() {
            vec!["/bin/sh".into(), "-c".into()]
        } else {
            self.shell.clone()
        }
    }

    pub fn set_env(&mut self, key: &str, value: String) {
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.env.push((key.to_string(), value)),
        }
    }

    pub fn env_strings(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// A fresh stage on `FROM scratch`: Docker's default PATH and nothing else.
    pub fn scratch() -> Self {
        Self {
            env: vec![("PATH".into(), DEFAULT_PATH.into())],
            ..Self::default()
        }
    }

    /// Reads the parts of a base image's config (the raw JSON of its blob: the OCI types drop
    /// Docker's Healthcheck, Shell and OnBuild) that later instructions build on.
    pub fn from_json(value: &Value) -> Self {
        let c = &value["config"];
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
        };
        let mut state = Self::default();
        for kv in strings(&c["Env"]).unwrap_or_default() {
            let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
            state.set_env(k, v.to_string());
        }
        if !state.env.iter().any(|(k, _)| k == "PATH") {
            state.env.insert(0, ("PATH".into(), DEFAULT_PATH.into()));
        }
        state.workdir = c["WorkingDir"].as_str().unwrap_or_default().to_string();
        state.user = c["User"].as_str().unwrap_or_default().to_string();
        if let Some(labels) = c["Labels"].as_object() {
            for (k, v) in labels {
                state
                    .labels
                    .insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
        }
        if let Some(ports) = c["ExposedPorts"].as_object() {
            state.exposed.extend(ports.keys().cloned());
        }
        if let Some(vols) = c["Volumes"].as_object() {
            state.volumes.extend(vols.keys().cloned());
        }
        state.cmd = strings(&c["Cmd"]);
        state.entrypoint = strings(&c["Entrypoint"]);
        state.shell = strings(&c["Shell"]).unwrap_or_default();
        state.stop_signal = c["StopSignal"].as_str().map(str::to_string);
        state.healthcheck = c.get("Healthcheck").filter(|h| !h.is_null()).cloned();
        state.onbuild = strings(&c["OnBuild"]).unwrap_or_default();
        if let Some(history) = value["history"].as_array() {
            state.history = history
                .iter()
                .filter_map(|h| serde_json::from_value(h.clone()).ok())
                .collect();
        }
        state.author = value["author"].as_str().map(str::to_string);
        state
    }

    /// The OCI type of [`ImageState::to_json`] (Docker's extra fields are dropped by it).
    pub fn to_config(
        &self,
        diff_ids: &[String],
        created: &str,
    ) -> Result<ImageConfiguration, serde_json::Error> {
        serde_json::from_value(self.to_json(diff_ids, created))
    }

    /// The image config JSON: OCI fields plus Docker's extras, with `rootfs.diff_ids`.
    pub fn to_json(&self, diff_ids: &[String], created: &str) -> Value {
        let set = |s: &BTreeSet<String>| -> Value {
            Value::Object(s.iter().map(|k| (k.clone(), json!({}))).collect())
        };
        let mut config = serde_json::Map::new();
        config.insert("Env".into(), json!(self.env_strings()));
        if !self.workdir.is_empty() {
            config.insert("WorkingDir".into(), json!(self.workdir));
        }
        if !self.user.is_empty() {
            config.insert("User".into(), json!(self.user));
        }
        if !self.labels.is_empty() {
            config.insert("Labels".into(), json!(self.labels));
        }
        if !self.exposed.is_empty() {
            config.insert("ExposedPorts".into(), set(&self.exposed));
        }
        if !self.volumes.is_empty() {
            config.insert("Volumes".into(), set(&self.volumes));
        }
        if let Some(cmd) = &self.cmd {
            config.insert("Cmd".into(), json!(cmd));
        }
        if let Some(ep) = &self.entrypoint {
            config.insert("Entrypoint".into(), json!(ep));
        }
        if !self.shell.is_empty() {
            config.insert("Shell".into(), json!(self.shell));
        }
        if let Some(sig) = &self.stop_signal {
            config.insert("StopSignal".into(), json!(sig));
        }
        if let Some(hc) = &self.healthcheck {
            config.insert("Healthcheck".into(), hc.clone());
        }
        if !self.onbuild.is_empty() {
            config.insert("OnBuild".into(), json!(self.onbuild));
        }
        let mut out = json!({
            "created": created,
            "architecture": crate::store::platform::host_arch().to_string(),
            "os": "linux",
            "config": Value::Object(config),
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": self.history,
        });
        if let Some(author) = &self.author {
            out["author"] = json!(author);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_docker_fields() {
        let mut s = ImageState::scratch();
        s.set_env("A", "1".into());
        s.workdir = "/app".into();
        s.shell = vec!["/bin/bash".into(), "-c".into()];
        s.healthcheck = Some(json!({"Test": ["NONE"]}));
        s.exposed.insert("80/tcp".into());
        s.history.push(History {
            created: "1970-01-01T00:00:00Z".into(),
            created_by: "ENV A=1".into(),
            empty_layer: true,
            comment: None,
        });
        let back = ImageState::from_json(&s.to_json(&[], "1970-01-01T00:00:00Z"));
        assert_eq!(back, s);
    }
}
