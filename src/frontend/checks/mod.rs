//! Build checks with BuildKit's rule names and meanings (`docker build --check`), so a warning can
//! be searched for: each rule family is one file; this one holds the rule table, the
//! `# check=skip=…;error=true` directive and the entry point.

mod casing;
mod context;
mod form;
mod platform;
mod stages;
mod vars;

use std::collections::BTreeMap;

use super::Dockerfile;
use super::instruction::{Instruction, Op};

/// One rule: BuildKit's name and description; its documentation lives under
/// `https://docs.docker.com/go/dockerfile/rule/<slug>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub slug: &'static str,
    pub description: &'static str,
}

macro_rules! rules {
    ($($id:ident = $name:literal, $slug:literal, $desc:literal;)*) => {
        $(pub const $id: Rule = Rule { name: $name, slug: $slug, description: $desc };)*
        /// Every rule stagecraft checks.
        pub const RULES: &[Rule] = &[$($id),*];
    };
}

rules! {
    STAGE_NAME_CASING = "StageNameCasing", "stage-name-casing", "Stage names should be lowercase";
    FROM_AS_CASING = "FromAsCasing", "from-as-casing", "The 'as' keyword should match the case of the 'from' keyword";
    NO_EMPTY_CONTINUATION = "NoEmptyContinuation", "no-empty-continuation", "Empty continuation lines will become errors in a future release";
    CONSISTENT_INSTRUCTION_CASING = "ConsistentInstructionCasing", "consistent-instruction-casing", "All commands within the Dockerfile should use the same casing (either upper or lower)";
    DUPLICATE_STAGE_NAME = "DuplicateStageName", "duplicate-stage-name", "Stage names should be unique";
    RESERVED_STAGE_NAME = "ReservedStageName", "reserved-stage-name", "Reserved words should not be used as stage names";
    JSON_ARGS_RECOMMENDED = "JSONArgsRecommended", "json-args-recommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals";
    MAINTAINER_DEPRECATED = "MaintainerDeprecated", "maintainer-deprecated", "The MAINTAINER instruction is deprecated, use a label instead to define an image author";
    UNDEFINED_ARG_IN_FROM = "UndefinedArgInFrom", "undefined-arg-in-from", "FROM command must use declared ARGs";
    WORKDIR_RELATIVE_PATH = "WorkdirRelativePath", "workdir-relative-path", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes";
    UNDEFINED_VAR = "UndefinedVar", "undefined-var", "Variables should be defined before their use";
    MULTIPLE_INSTRUCTIONS_DISALLOWED = "MultipleInstructionsDisallowed", "multiple-instructions-disallowed", "Multiple instructions of the same type should not be used in the same stage";
    LEGACY_KEY_VALUE_FORMAT = "LegacyKeyValueFormat", "legacy-key-value-format", "Legacy key/value format with whitespace separator should not be used";
    REDUNDANT_TARGET_PLATFORM = "RedundantTargetPlatform", "redundant-target-platform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior";
    SECRETS_USED_IN_ARG_OR_ENV = "SecretsUsedInArgOrEnv", "secrets-used-in-arg-or-env", "Sensitive data should not be used in the ARG or ENV commands";
    INVALID_DEFAULT_ARG_IN_FROM = "InvalidDefaultArgInFrom", "invalid-default-arg-in-from", "Default value for global ARG results in an empty or invalid base image name";
    FROM_PLATFORM_FLAG_CONST_DISALLOWED = "FromPlatformFlagConstDisallowed", "from-platform-flag-const-disallowed", "FROM --platform flag should not use a constant value";
    COPY_IGNORED_FILE = "CopyIgnoredFile", "copy-ignored-file", "Attempting to Copy file that is excluded by .dockerignore";
    EXPOSE_PROTO_CASING = "ExposeProtoCasing", "expose-proto-casing", "Protocol in EXPOSE instruction should be lowercase";
    EXPOSE_INVALID_FORMAT = "ExposeInvalidFormat", "expose-invalid-format", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release";
}

impl Rule {
    pub fn url(&self) -> String {
        format!("https://docs.docker.com/go/dockerfile/rule/{}/", self.slug)
    }
}

/// One finding: where, what (BuildKit's message), and a one-line fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub rule: Rule,
    pub message: String,
    pub line: usize,
    pub col: usize,
    pub fix: String,
}

impl Warning {
    fn at(rule: Rule, ins: &Instruction, message: String, fix: impl Into<String>) -> Self {
        Self {
            rule,
            message,
            line: ins.span.line,
            col: ins.span.col,
            fix: fix.into(),
        }
    }
}

/// What the checks may know beyond the Dockerfile.
pub struct CheckInput<'a> {
    pub build_args: &'a BTreeMap<String, String>,
    /// ENV names of a base image (by its reference after ARG expansion); `None` when unknown, and
    /// then UndefinedVar stays quiet in that stage rather than guess.
    pub image_env: &'a dyn Fn(&str) -> Option<Vec<String>>,
    /// Whether a context path (cleaned, relative) is excluded by `.dockerignore`; `None` when
    /// there is no `.dockerignore`, or it has `!` exceptions (BuildKit skips the rule then too).
    pub ignored: Option<&'a dyn Fn(&str) -> bool>,
}

/// The `# check=` directive: `skip=Rule1,Rule2` (or `skip=all`) and `error=true`, `;`-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckConfig {
    pub skip: Vec<String>,
    pub skip_all: bool,
    pub error: bool,
}

impl CheckConfig {
    pub fn parse(directive: &str) -> Result<Self, String> {
        let mut config = Self::default();
        for part in directive.split(';').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("invalid check option {part:?}"))?;
            match k.trim() {
                "skip" if v.trim() == "all" => config.skip_all = true,
                "skip" => config.skip = v.split(',').map(|r| r.trim().to_string()).collect(),
                "error" => {
                    config.error = match v.trim() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(format!("check option error={other}: use true or false"));
                        }
                    }
                }
                "experimental" => {}
                other => return Err(format!("invalid check option {other:?}")),
            }
        }
        Ok(config)
    }

    fn skips(&self, rule: &Rule) -> bool {
        self.skip_all || self.skip.iter().any(|s| s == rule.name)
    }
}

/// The checks' result: warnings in file order, and whether `# check=error=true` makes them fatal.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub warnings: Vec<Warning>,
    pub error: bool,
}

impl Report {
    /// BuildKit's error when `error=true` and anything was found.
    pub fn failure(&self) -> Option<String> {
        if !self.error || self.warnings.is_empty() {
            return None;
        }
        let mut rules: Vec<&str> = self.warnings.iter().map(|w| w.rule.name).collect();
        rules.sort();
        rules.dedup();
        Some(format!(
            "lint violation found for rules: {}",
            rules.join(", ")
        ))
    }
}

/// A stage as the checks see it: its FROM and the instructions after it.
pub(crate) struct StageView<'a> {
    pub from: &'a Instruction,
    pub body: &'a [Instruction],
}

/// Runs every rule over `df`, honouring its `# check=` directive.
pub fn check(df: &Dockerfile, input: &CheckInput) -> Result<Report, String> {
    let config = match &df.directives.check {
        Some(d) => CheckConfig::parse(d)?,
        None => CheckConfig::default(),
    };
    let first_from = df
        .instructions
        .iter()
        .position(|i| matches!(i.op, Op::From(_)))
        .unwrap_or(df.instructions.len());
    let globals = &df.instructions[..first_from];
    let stages = split_stages(&df.instructions[first_from..]);
    let mut warnings = Vec::new();
    warnings.extend(form::check(df));
    warnings.extend(casing::check(df, &stages));
    warnings.extend(stages::check(&stages));
    warnings.extend(platform::check(&stages));
    warnings.extend(vars::check(df, globals, &stages, input));
    if let Some(ignored) = input.ignored {
        warnings.extend(context::check(&stages, ignored));
    }
    warnings.retain(|w| !config.skips(&w.rule));
    warnings.sort_by_key(|w| (w.line, w.col));
    Ok(Report {
        warnings,
        error: config.error,
    })
}

fn split_stages(instructions: &[Instruction]) -> Vec<StageView<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < instructions.len() {
        let end = instructions[start + 1..]
            .iter()
            .position(|i| matches!(i.op, Op::From(_)))
            .map_or(instructions.len(), |p| start + 1 + p);
        out.push(StageView {
            from: &instructions[start],
            body: &instructions[start + 1..end],
        });
        start = end;
    }
    out
}

/// The keyword as written (`From`, `run`), for the casing rules.
pub(crate) fn written_keyword(ins: &Instruction) -> &str {
    ins.span
        .joined
        .split_whitespace()
        .next()
        .unwrap_or_default()
}

/// The words after the keyword as written, flags included (`--platform=x`, `image`, `AS`, `name`).
pub(crate) fn written_args(ins: &Instruction) -> Vec<&str> {
    ins.span.joined.split_whitespace().skip(1).collect()
}

#[cfg(test)]
#[allow(clippy::panic)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::{CheckInput, Report, check};

    /// The rule names a Dockerfile triggers, with their lines: `["JSONArgsRecommended:2"]`.
    pub fn found(source: &str) -> Vec<String> {
        found_with(source, &|_| None, None)
    }

    pub fn found_with(
        source: &str,
        image_env: &dyn Fn(&str) -> Option<Vec<String>>,
        ignored: Option<&dyn Fn(&str) -> bool>,
    ) -> Vec<String> {
        report(source, image_env, ignored)
            .warnings
            .iter()
            .map(|w| format!("{}:{}", w.rule.name, w.line))
            .collect()
    }

    pub fn report(
        source: &str,
        image_env: &dyn Fn(&str) -> Option<Vec<String>>,
        ignored: Option<&dyn Fn(&str) -> bool>,
    ) -> Report {
        let df = crate::frontend::parse_dockerfile(source, Path::new("Dockerfile"))
            .unwrap_or_else(|e| panic!("parse: {e}"));
        let args = BTreeMap::new();
        check(
            &df,
            &CheckInput {
                build_args: &args,
                image_env,
                ignored,
            },
        )
        .unwrap_or_else(|e| panic!("check: {e}"))
    }
}
