//! dive's CI rules (`runtime/ci/rules.go`): the same names, defaults, value syntax and pass/fail
//! comparisons, plus `failOnSecrets`. A rule set with the value `disabled` is skipped.

use serde::Serialize;

use super::report::Report;

/// dive's rule names and defaults, in dive's order.
pub const RULES: &[(&str, &str)] = &[
    ("lowestEfficiency", "0.9"),
    ("highestWastedBytes", "disabled"),
    ("highestUserWastedPercent", "0.1"),
    ("failOnSecrets", "false"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: &'static str,
    pub status: Status,
    /// The image's figure, as compared.
    pub value: String,
    /// The configured threshold (`disabled` for skipped rules).
    pub threshold: String,
    /// Why it failed, in dive's words.
    pub message: String,
}

/// The `rules:` section of a `.dive-ci` file (dive's YAML, read as `key: value` lines under
/// `rules:`; comments and other sections ignored).
pub fn read_dive_ci(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_rules = false;
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or_default();
        if code.trim().is_empty() {
            continue;
        }
        let indented = code.starts_with([' ', '\t']);
        let Some((key, value)) = code.split_once(':') else {
            continue;
        };
        if !indented {
            in_rules = key.trim() == "rules";
            continue;
        }
        if in_rules {
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            out.push((key.trim().to_string(), value.to_string()));
        }
    }
    out
}

/// The secret allow-list of a `.stagecraft-ci` file: path globs under `secrets:` → `allow:`,
/// one per `allow:` line or as a `- GLOB` list under it.
pub fn read_stagecraft_ci(text: &str) -> Vec<String> {
    let (mut in_secrets, mut in_allow) = (false, false);
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split(" #").next().unwrap_or_default();
        if code.trim().is_empty() || code.trim_start().starts_with('#') {
            continue;
        }
        if !code.starts_with([' ', '\t']) {
            in_secrets = code.trim().trim_end_matches(':') == "secrets";
            in_allow = false;
            continue;
        }
        let item = code.trim();
        let unquote = |v: &str| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        if let Some(value) = item.strip_prefix("allow:") {
            in_allow = value.trim().is_empty();
            if in_secrets && !in_allow {
                out.push(unquote(value));
            }
        } else if let Some(value) = item.strip_prefix("- ").filter(|_| in_secrets && in_allow) {
            out.push(unquote(value));
        } else {
            in_allow = false;
        }
    }
    out
}

/// Marks the secrets whose path matches one of `globs` (`/etc/ssl/**`) as allowed.
pub fn allow_secrets(report: &mut Report, globs: &[String]) -> Result<(), String> {
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(&format!("/{}", g.trim_start_matches('/')))
            .literal_separator(true)
            .build()
            .map_err(|e| format!("bad secret allow-list pattern {g:?}: {e}"))?;
        set.add(glob);
    }
    let set = set.build().map_err(|e| e.to_string())?;
    for s in &mut report.secrets {
        s.allowed = set.is_match(&s.path);
    }
    Ok(())
}

/// go-humanize's `ParseBytes`: `20MB` = 20·10⁶, `20MiB` = 20·2²⁰, a bare number is bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .replace(',', "")
        .parse()
        .map_err(|_| format!("not a size: {text:?}"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        _ => return Err(format!("unknown size unit in {text:?}")),
    };
    Ok((num * mult) as u64)
}

fn float(rule: &str, value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("invalid config value for {rule} ('{value}'): not a number"))
}

/// Evaluates every rule of `values` (rule name → value, one per rule in [`RULES`]).
pub fn evaluate(
    report: &Report,
    values: &[(&'static str, String)],
) -> Result<Vec<RuleResult>, String> {
    let e = &report.efficiency;
    let mut out = Vec::new();
    for (rule, threshold) in values {
        let rule = *rule;
        let disabled = threshold.trim() == "disabled";
        let (value, failed) = match rule {
            "lowestEfficiency" => {
                let value = e.score.to_string();
                if disabled {
                    (value, None)
                } else {
                    let t = float(rule, threshold)?;
                    let failed = (t > e.score).then(|| {
                        format!(
                            "image efficiency is too low (efficiency={} < threshold={t})",
                            e.score
                        )
                    });
                    (value, failed)
                }
            }
            "highestWastedBytes" => {
                let value = e.wasted_bytes.to_string();
                if disabled {
                    (value, None)
                } else {
                    let t = parse_bytes(threshold)?;
                    let failed = (e.wasted_bytes > t).then(|| {
                        format!(
                            "too many bytes wasted (wasted-bytes={} > threshold={t})",
                            e.wasted_bytes
                        )
                    });
                    (value, failed)
                }
            }
            "highestUserWastedPercent" => {
                let value = e.user_wasted_percent.to_string();
                if disabled {
                    (value, None)
                } else {
                    let t = float(rule, threshold)?;
                    let failed = (t < e.user_wasted_percent).then(|| {
                        format!(
                            "too many bytes wasted, relative to the user bytes added \
                             (%-user-wasted-bytes={} > threshold={t})",
                            e.user_wasted_percent
                        )
                    });
                    (value, failed)
                }
            }
            "failOnSecrets" => {
                let live: Vec<_> = report.secrets.iter().filter(|s| !s.allowed).collect();
                let n = live.len();
                let on = match threshold.trim() {
                    "true" => true,
                    "false" | "disabled" => false,
                    other => return Err(format!("invalid value for failOnSecrets: '{other}'")),
                };
                let failed = (on && n > 0).then(|| {
                    let first = live[0];
                    format!(
                        "{n} secret(s) in the layers, first: {} in {} (layer {})",
                        first.found.kind, first.path, first.layer
                    )
                });
                (n.to_string(), if on { failed } else { None })
            }
            other => return Err(format!("unknown CI rule {other}")),
        };
        let skipped = disabled || (rule == "failOnSecrets" && threshold.trim() != "true");
        out.push(RuleResult {
            rule,
            status: match (&failed, skipped) {
                (Some(_), _) => Status::Fail,
                (None, true) => Status::Skip,
                (None, false) => Status::Pass,
            },
            value,
            threshold: threshold.clone(),
            message: failed.unwrap_or_default(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dive_ci_and_sizes() {
        let text = "# dive\nrules:\n  # If the efficiency is below\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: \"disabled\"\nother:\n  x: 1\n";
        assert_eq!(
            read_dive_ci(text),
            [
                ("lowestEfficiency".to_string(), "0.95".to_string()),
                ("highestWastedBytes".into(), "20MB".into()),
                ("highestUserWastedPercent".into(), "disabled".into()),
            ]
        );
        assert_eq!(parse_bytes("20MB"), Ok(20_000_000));
        assert_eq!(parse_bytes("20 MiB"), Ok(20 * 1024 * 1024));
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("1.5kB"), Ok(1500));
        assert!(parse_bytes("lots").is_err());
        let ci = "secrets:\n  allow: /etc/ssl/private/*.key\n  allow:\n    - \"/srv/fixtures/**\"\nrules:\n  allow: /x\n";
        assert_eq!(
            read_stagecraft_ci(ci),
            ["/etc/ssl/private/*.key", "/srv/fixtures/**"]
        );
    }
}
