//! A stage's variables while it runs, with BuildKit's rules: ENV values persist into the image
//! config; ARG values are visible to expansion and to RUN steps but not persisted; an ENV always
//! wins over an ARG of the same name; proxy build args reach RUN without a declaration.

use std::collections::BTreeMap;

use super::args::ArgScope;
use super::expand::expand_op;
use super::instruction::Op;
use super::shell::{ShellError, Vars, limits};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageVars {
    /// ENV, in first-set order (the base image's config first).
    env: Vec<(String, String)>,
    /// Declared ARGs that have a value.
    args: BTreeMap<String, String>,
}

impl StageVars {
    /// Starts from the base image's `Env` (`KEY=VALUE` strings).
    pub fn from_image_env(env: &[String]) -> Self {
        let mut s = Self::default();
        for kv in env {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            s.set_env(k, v);
        }
        s
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.env.push((key.to_string(), value.to_string())),
        }
    }

    /// Updates the variables for an ARG or ENV instruction (other instructions change nothing).
    /// `escape` is the Dockerfile's escape character.
    pub fn apply(&mut self, op: &Op, scope: &ArgScope, escape: char) -> Result<(), ShellError> {
        match op {
            Op::Arg(decls) => {
                for d in decls {
                    match scope.resolve(d, self)? {
                        Some(v) => {
                            self.args.insert(d.name.clone(), v);
                        }
                        None => {
                            self.args.remove(&d.name);
                        }
                    }
                    self.check(&d.name)?;
                }
            }
            Op::Env(_) => {
                if let Op::Env(kvs) = expand_op(op, self, escape)? {
                    for kv in kvs {
                        self.set_env(&kv.key, &kv.value);
                        self.check(&kv.key)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Fails when the stage's variables pass [`limits::MAX_VARS`].
    fn check(&self, name: &str) -> Result<(), ShellError> {
        let env = self.env.iter().map(|(k, v)| (k, v));
        limits::check_vars(name, env.chain(self.args.iter()))
    }

    /// The image config's `Env` (`KEY=VALUE`): ENV only.
    pub fn image_env(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The environment of a RUN step: ENV, plus ARGs not shadowed by an ENV, plus proxy build args.
    pub fn run_env(&self, scope: &ArgScope) -> Vec<(String, String)> {
        let mut out = self.env.clone();
        let proxies = scope.proxy_env();
        for (k, v) in self.args.iter().chain(proxies.iter()) {
            if !out.iter().any(|(e, _)| e == k) {
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }

    /// ARG values in scope (for cache keys: "the build args the step can see").
    pub fn args(&self) -> &BTreeMap<String, String> {
        &self.args
    }
}

impl Vars for StageVars {
    fn var(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.args.get(name).cloned())
    }
}
