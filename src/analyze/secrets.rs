//! Secrets in file contents: private keys, cloud keys, registry and git tokens. Matches are
//! redacted before they leave this module, so reports never repeat a secret.

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretMatch {
    /// What was found: `private key`, `AWS access key`, `npm token`…
    pub kind: &'static str,
    /// The match with its secret part cut: enough to find it, not enough to use it.
    pub excerpt: String,
}

struct Rule {
    kind: &'static str,
    /// Only files whose base name this accepts are checked (`None`: every file).
    names: Option<fn(&str) -> bool>,
    pattern: &'static str,
    /// How many leading bytes of a match are safe to show.
    shown: usize,
}

const RULES: &[Rule] = &[
    Rule {
        kind: "private key",
        names: None,
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:-]",
        shown: 64,
    },
    Rule {
        kind: "AWS access key",
        names: None,
        pattern: r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        shown: 8,
    },
    Rule {
        kind: "AWS secret key",
        names: None,
        pattern: r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40}",
        shown: 21,
    },
    Rule {
        kind: "GCP service account key",
        names: None,
        pattern: r#""type"\s*:\s*"service_account""#,
        shown: 64,
    },
    Rule {
        kind: "GCP API key",
        names: None,
        pattern: r"\bAIza[0-9A-Za-z_-]{35}\b",
        shown: 8,
    },
    Rule {
        kind: "GitHub token",
        names: None,
        pattern: r"\bgh[pousr]_[A-Za-z0-9]{36}\b",
        shown: 8,
    },
    Rule {
        kind: "npm token",
        names: Some(|n| n == ".npmrc"),
        pattern: r"(?m)(?:_authToken|_auth|_password)\s*=\s*[^\s$][^\r\n]*",
        shown: 12,
    },
    Rule {
        kind: "secret in .env",
        names: Some(|n| n == ".env" || n.starts_with(".env.")),
        pattern: r"(?m)^[ \t]*(?:export\s+)?[A-Za-z0-9_]*(?i:secret|token|password|passwd|api_key|apikey|access_key|private_key|credentials)[A-Za-z0-9_]*[ \t]*=[ \t]*[^\s#][^\r\n]*",
        shown: 0,
    },
    Rule {
        kind: "git credentials",
        names: Some(|n| n == ".git-credentials"),
        pattern: r"https?://[^:/\s]+:[^@\s]+@[^\s]+",
        shown: 8,
    },
];

/// Base names that hold SSH private keys whatever their content looks like.
const SSH_KEY_NAMES: &[&str] = &["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"];

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("secret patterns are valid regexes"))
        .collect()
});

/// Cuts a match after `shown` bytes (for `.env` lines: after the `=`).
fn redact(rule: &Rule, m: &[u8]) -> String {
    let text = String::from_utf8_lossy(m);
    let text = text.trim();
    let keep = if rule.shown == 0 {
        text.find('=').map_or(0, |i| i + 1)
    } else {
        rule.shown.min(text.len())
    };
    let keep = (0..=keep)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let head = text[..keep].lines().next().unwrap_or_default();
    if keep >= text.len() && !head.is_empty() {
        head.to_string()
    } else {
        format!("{head}…")
    }
}

/// Every secret in one file (`path` relative to the root), at most one match per kind.
pub fn scan(path: &str, content: &[u8]) -> Vec<SecretMatch> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut out = Vec::new();
    for (rule, re) in RULES.iter().zip(COMPILED.iter()) {
        if rule.names.is_some_and(|accepts| !accepts(name)) {
            continue;
        }
        if let Some(m) = re.find(content) {
            out.push(SecretMatch {
                kind: rule.kind,
                excerpt: redact(rule, m.as_bytes()),
            });
        }
    }
    if SSH_KEY_NAMES.contains(&name) && !out.iter().any(|m| m.kind == "private key") {
        out.push(SecretMatch {
            kind: "SSH private key file",
            excerpt: format!("{name} ({} bytes)", content.len()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(path: &str, content: &str) -> Vec<&'static str> {
        scan(path, content.as_bytes())
            .into_iter()
            .map(|m| m.kind)
            .collect()
    }

    #[test]
    fn finds_keys_and_tokens_and_redacts_them() {
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let found = scan("root/.ssh/id_ed25519", pem.as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "private key");
        assert!(!found[0].excerpt.contains("b3Blbn"), "{:?}", found[0]);
        assert_eq!(
            kinds("app/config", "key=AKIAIOSFODNN7EXAMPLE\n"),
            ["AWS access key"]
        );
        let aws = scan("app/config", b"key=AKIAIOSFODNN7EXAMPLE\n");
        assert_eq!(aws[0].excerpt, "AKIAIOSF…");
        assert_eq!(
            kinds(
                "root/.npmrc",
                "//registry.npmjs.org/:_authToken=abcdef123456\n"
            ),
            ["npm token"]
        );
        // A variable reference is not a token.
        assert!(kinds("root/.npmrc", "//r/:_authToken=${NPM_TOKEN}\n").is_empty());
        let env = scan("app/.env", b"PORT=80\nDB_PASSWORD=hunter2\n");
        assert_eq!(env.len(), 1);
        assert_eq!(env[0].excerpt, "DB_PASSWORD=…");
        assert_eq!(
            kinds("root/.git-credentials", "https://me:ghtoken@github.com\n"),
            ["git credentials"]
        );
        assert_eq!(kinds("root/.ssh/id_rsa", "junk"), ["SSH private key file"]);
        assert!(kinds("root/.ssh/id_rsa.pub", "ssh-rsa AAAA").is_empty());
        assert!(kinds("etc/passwd", "root:x:0:0::/root:/bin/sh\n").is_empty());
        assert_eq!(
            kinds(
                "sa.json",
                r#"{"type": "service_account", "private_key_id": "x"}"#
            ),
            ["GCP service account key"]
        );
    }
}
