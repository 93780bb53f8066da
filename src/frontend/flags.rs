//! Instruction flags with BuildKit's `BFlags` rules: `--name=value`, bare `--name` means true
//! for boolean flags, unknown or repeated flags are errors.

use std::collections::BTreeMap;

use super::syntax::words::FlagWord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    String,
    /// May be repeated (`--mount`, `--exclude`).
    Strings,
}

/// A flag problem: message, index of the offending flag word, and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError {
    pub message: String,
    pub index: usize,
    pub help: Option<String>,
}

#[derive(Debug, Default)]
pub struct Flags {
    values: BTreeMap<&'static str, Vec<(String, usize)>>,
}

impl Flags {
    pub fn string(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(|(s, _)| s.clone())
    }
    pub fn bool(&self, name: &str) -> bool {
        self.string(name).is_some_and(|v| v == "true")
    }
    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.string(name).map(|v| v == "true")
    }
    /// Every value with the index of its flag word.
    pub fn all(&self, name: &str) -> Vec<(String, usize)> {
        self.values.get(name).cloned().unwrap_or_default()
    }
    /// Index of the flag word that set `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(|(_, i)| *i)
    }
}

pub fn parse(
    keyword: &str,
    words: &[FlagWord],
    spec: &[(&'static str, Kind)],
) -> Result<Flags, FlagError> {
    let mut flags = Flags::default();
    for (index, w) in words.iter().enumerate() {
        let fail = |message: String| FlagError {
            message,
            index,
            help: None,
        };
        let Some(arg) = w.text.strip_prefix("--") else {
            return Err(fail(format!(
                "invalid flag {:?}: flags start with --",
                w.text
            )));
        };
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
        let Some(&(key, kind)) = spec.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = spec.iter().map(|(n, _)| *n).collect();
            let help = match super::suggest::closest(name, &names) {
                Some(s) => Some(format!("did you mean --{s}?")),
                None if names.is_empty() => Some(format!("{keyword} takes no flags")),
                None => Some(format!("{keyword} accepts: --{}", names.join(", --"))),
            };
            return Err(FlagError {
                message: format!("unknown flag: --{name}"),
                index,
                help,
            });
        };
        if flags.values.contains_key(key) && kind != Kind::Strings {
            return Err(fail(format!("duplicate flag specified: --{name}")));
        }
        let value = match (kind, value) {
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                "true" => "true".to_string(),
                "false" => "false".to_string(),
                "" => return Err(fail(format!("missing a value on flag: --{name}"))),
                _ => {
                    return Err(fail(format!(
                        "expecting boolean value for flag --{name}, not: {v}"
                    )));
                }
            },
            (_, None) => return Err(fail(format!("missing a value on flag: --{name}"))),
            (_, Some(v)) => v.to_string(),
        };
        flags.values.entry(key).or_default().push((value, index));
    }
    Ok(flags)
}
