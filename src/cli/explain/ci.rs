//! `explain --ci`: dive's CI rules over the report; flags beat `.dive-ci`, which beats dive's
//! defaults. Prints a table of the rules and fails (exit 1) when one fails.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use miette::{Result, miette};

use crate::analyze::Report;
use crate::analyze::ci::{
    RULES, RuleResult, Status, allow_secrets, evaluate, read_dive_ci, read_stagecraft_ci,
};

#[derive(Debug, Clone, Default, Args)]
pub struct CiArgs {
    /// Check the image against dive's CI rules; exit 1 when one fails
    #[arg(long)]
    pub ci: bool,
    /// dive's CI config file (its `rules:` are used when present)
    #[arg(long, value_name = "PATH", default_value = ".dive-ci")]
    pub ci_config: PathBuf,
    /// Fail when the efficiency is below this ratio (dive default 0.9; `disabled`)
    #[arg(long, value_name = "RATIO")]
    pub lowest_efficiency: Option<String>,
    /// Fail when more bytes than this are wasted (`20MB`, `1GiB`; dive default disabled)
    #[arg(long, value_name = "SIZE")]
    pub highest_wasted_bytes: Option<String>,
    /// Fail when wasted bytes exceed this ratio of the bytes added above the base layer
    /// (dive default 0.1; `disabled`)
    #[arg(long, value_name = "RATIO")]
    pub highest_user_wasted_percent: Option<String>,
    /// Fail when a secret is found in any layer
    #[arg(long)]
    pub fail_on_secrets: bool,
    /// Never count secrets in paths matching GLOB (`/etc/ssl/private/*.key`, `/srv/**`);
    /// repeatable, added to the `secrets: allow:` list of `.stagecraft-ci`
    #[arg(long, value_name = "GLOB")]
    pub allow_secret: Vec<String>,
    /// stagecraft's CI config file (its `secrets: allow:` list is used when present)
    #[arg(long, value_name = "PATH", default_value = ".stagecraft-ci")]
    pub stagecraft_ci: PathBuf,
}

impl CiArgs {
    /// Each rule's value: the flag, else `.dive-ci`, else dive's default.
    pub fn values(&self) -> Result<Vec<(&'static str, String)>> {
        let file = match std::fs::read_to_string(&self.ci_config) {
            Ok(text) => read_dive_ci(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(miette!("cannot read {}: {e}", self.ci_config.display())),
        };
        let flag = |rule: &str| -> Option<String> {
            match rule {
                "lowestEfficiency" => self.lowest_efficiency.clone(),
                "highestWastedBytes" => self.highest_wasted_bytes.clone(),
                "highestUserWastedPercent" => self.highest_user_wasted_percent.clone(),
                "failOnSecrets" => self.fail_on_secrets.then(|| "true".to_string()),
                _ => None,
            }
        };
        Ok(RULES
            .iter()
            .map(|(rule, default)| {
                let value = flag(rule)
                    .or_else(|| file.iter().find(|(k, _)| k == rule).map(|(_, v)| v.clone()))
                    .unwrap_or_else(|| default.to_string());
                (*rule, value)
            })
            .collect())
    }

    /// Marks the allow-listed secrets of `report` (flags and `.stagecraft-ci`).
    pub fn allow(&self, report: &mut Report) -> Result<()> {
        let mut globs = match std::fs::read_to_string(&self.stagecraft_ci) {
            Ok(text) => read_stagecraft_ci(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(miette!("cannot read {}: {e}", self.stagecraft_ci.display())),
        };
        globs.extend(self.allow_secret.iter().cloned());
        allow_secrets(report, &globs).map_err(|e| miette!("{e}"))
    }

    pub fn evaluate(&self, report: &Report) -> Result<Vec<RuleResult>> {
        evaluate(report, &self.values()?).map_err(|e| miette!("{e}"))
    }
}

pub fn failed(results: &[RuleResult]) -> bool {
    results.iter().any(|r| r.status == Status::Fail)
}

/// The rule table and a result line, like dive's `Result:FAIL [Total:3] …`.
pub fn render(results: &[RuleResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26} {:>22} {:>12}  RESULT",
        "RULE", "VALUE", "THRESHOLD"
    );
    for r in results {
        let status = match r.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        };
        let _ = writeln!(
            out,
            "{:<26} {:>22} {:>12}  {status}",
            r.rule, r.value, r.threshold
        );
        if !r.message.is_empty() {
            let _ = writeln!(out, "    {}", r.message);
        }
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "Result:{} [Total:{}] [Passed:{}] [Failed:{}] [Skipped:{}]",
        if failed(results) { "FAIL" } else { "PASS" },
        results.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip)
    );
    out
}
