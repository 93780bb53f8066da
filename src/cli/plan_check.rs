//! How `plan --check` prints the build checks: as `docker build --check` does (rule, link,
//! location, the line), plus the one-line fix; or as JSON.

use std::fmt::Write;

use crate::frontend::Dockerfile;
use crate::frontend::checks::Report;

/// `json`: one JSON document instead of docker's text (`plan --format json`).
pub fn render(report: &Report, df: &Dockerfile, json: bool) -> miette::Result<String> {
    let file = df.path_str();
    if json {
        let warnings: Vec<serde_json::Value> = report
            .warnings
            .iter()
            .map(|w| {
                serde_json::json!({
                    "rule": w.rule.name,
                    "description": w.rule.description,
                    "url": w.rule.url(),
                    "message": w.message,
                    "file": file,
                    "line": w.line,
                    "column": w.col,
                    "fix": w.fix,
                })
            })
            .collect();
        let v = serde_json::json!({"warnings": warnings, "error": report.failure()});
        return serde_json::to_string_pretty(&v)
            .map(|s| s + "\n")
            .map_err(|e| miette::miette!("{e}"));
    }
    let mut out = String::new();
    let lines: Vec<&str> = df.source.lines().collect();
    for w in &report.warnings {
        let _ = writeln!(out, "WARNING: {} - {}", w.rule.name, w.rule.url());
        let _ = writeln!(out, "{file}:{}:{}: {}", w.line, w.col, w.message);
        if let Some(text) = w.line.checked_sub(1).and_then(|i| lines.get(i)) {
            let _ = writeln!(out, "{:>5} | {text}", w.line);
        }
        let _ = writeln!(out, "  fix: {}\n", w.fix);
    }
    let n = report.warnings.len();
    let _ = match n {
        0 => writeln!(out, "Check complete, no warnings found."),
        1 => writeln!(out, "Check complete, 1 warning has been found!"),
        _ => writeln!(out, "Check complete, {n} warnings have been found!"),
    };
    if let Some(failure) = report.failure() {
        let _ = writeln!(out, "ERROR: {failure}");
    }
    Ok(out)
}
