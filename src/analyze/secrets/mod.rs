//! Secrets in file contents: private keys, cloud keys, registry and git tokens. A finding must be
//! a real key: a complete PEM block whose body decodes (see `pem`), or a token in its provider's
//! format, checksum included where the format has one (see `tokens`). Binaries are searched for
//! complete PEM blocks only: their string tables hold markers and lookalikes, not secrets. Matches
//! are redacted before they leave this module, so reports never repeat a secret.

mod pem;
mod tokens;

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

/// How sure a finding is a usable secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The format matches but cannot be checked (a token without checksum, a password in .env).
    Medium,
    /// Checked: the key's structure parses, the token's checksum is right.
    High,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretMatch {
    /// What was found: `private key`, `AWS access key`, `npm token`…
    pub kind: &'static str,
    /// The match with its secret part cut: enough to find it, not enough to use it.
    pub excerpt: String,
    pub confidence: Confidence,
}

/// A rule for text files: a pattern, which files it applies to, and how sure a match is.
struct Rule {
    kind: &'static str,
    /// Only files whose base name this accepts are checked (`None`: every file).
    names: Option<fn(&str) -> bool>,
    pattern: &'static str,
    /// How many leading bytes of a match are safe to show (0: up to the `=`).
    shown: usize,
    /// The confidence of a match (its capture group 1, else all of it); `None` drops it.
    check: fn(&str) -> Option<Confidence>,
}

fn medium(_: &str) -> Option<Confidence> {
    Some(Confidence::Medium)
}

fn checksummed(token: &str) -> Option<Confidence> {
    tokens::checksum_ok(token).then_some(Confidence::High)
}

fn aws_key_id(id: &str) -> Option<Confidence> {
    tokens::aws_key_id_ok(id).then_some(Confidence::Medium)
}

/// The `private_key` of a service-account JSON: a PEM block with `\n` escapes.
fn json_pem(escaped: &str) -> Option<Confidence> {
    let text = escaped.replace("\\n", "\n").replace("\\/", "/");
    pem::find_key(text.as_bytes()).map(|k| k.confidence)
}

const RULES: &[Rule] = &[
    Rule {
        kind: "AWS access key",
        names: None,
        pattern: r"\b((?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})\b",
        shown: 8,
        check: aws_key_id,
    },
    Rule {
        kind: "AWS secret key",
        names: None,
        pattern: r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40}\b",
        shown: 21,
        check: medium,
    },
    Rule {
        kind: "GCP service account key",
        names: None,
        pattern: r#""private_key"\s*:\s*"(-----BEGIN PRIVATE KEY-----(?:[^"\\]|\\.)*)""#,
        shown: 43,
        check: json_pem,
    },
    Rule {
        kind: "GCP API key",
        names: None,
        pattern: r"\bAIza[0-9A-Za-z_-]{35}\b",
        shown: 8,
        check: medium,
    },
    Rule {
        kind: "GitHub token",
        names: None,
        pattern: r"\b(gh[pousr]_[A-Za-z0-9]{36})\b",
        shown: 8,
        check: checksummed,
    },
    Rule {
        kind: "GitHub token",
        names: None,
        pattern: r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
        shown: 15,
        check: medium,
    },
    Rule {
        kind: "npm token",
        names: None,
        pattern: r"\b(npm_[A-Za-z0-9]{36})\b",
        shown: 8,
        check: checksummed,
    },
    Rule {
        kind: "npm token",
        names: Some(|n| n == ".npmrc"),
        pattern: r"(?m)(?:_authToken|_auth|_password)\s*=\s*[^\s$][^\r\n]*",
        shown: 12,
        check: medium,
    },
    Rule {
        kind: "secret in .env",
        names: Some(|n| n == ".env" || n.starts_with(".env.")),
        pattern: r"(?m)^[ \t]*(?:export\s+)?[A-Za-z0-9_]*(?i:secret|token|password|passwd|api_key|apikey|access_key|private_key|credentials)[A-Za-z0-9_]*[ \t]*=[ \t]*[^\s#][^\r\n]*",
        shown: 0,
        check: medium,
    },
    Rule {
        kind: "git credentials",
        names: Some(|n| n == ".git-credentials"),
        pattern: r"https?://[^:/\s]+:[^@\s]+@[^\s]+",
        shown: 8,
        check: medium,
    },
];

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("secret patterns are valid regexes"))
        .collect()
});

/// Cuts a match after `shown` bytes (`0`: after the `=`).
fn redact(shown: usize, m: &[u8]) -> String {
    let text = String::from_utf8_lossy(m);
    let text = text.trim();
    let keep = if shown == 0 {
        text.find('=').map_or(0, |i| i + 1)
    } else {
        shown.min(text.len())
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

/// Executables, libraries and other binary data: only complete PEM blocks are looked for there.
fn is_binary(content: &[u8]) -> bool {
    content.starts_with(b"\x7fELF") || content[..content.len().min(8192)].contains(&0)
}

/// The first match of `rule` whose check passes.
fn first_match(rule: &Rule, re: &Regex, content: &[u8]) -> Option<SecretMatch> {
    re.captures_iter(content).find_map(|c| {
        let whole = c.get(0)?;
        let checked = c.get(1).unwrap_or(whole);
        let confidence = (rule.check)(&String::from_utf8_lossy(checked.as_bytes()))?;
        Some(SecretMatch {
            kind: rule.kind,
            excerpt: redact(rule.shown, whole.as_bytes()),
            confidence,
        })
    })
}

/// Every secret in one file (`path` relative to the root), at most one match per kind.
pub fn scan(path: &str, content: &[u8]) -> Vec<SecretMatch> {
    let mut out = Vec::new();
    if let Some(key) = pem::find_key(content) {
        out.push(SecretMatch {
            kind: match key.label.as_str() {
                "OPENSSH " => "SSH private key",
                "ENCRYPTED " => "encrypted private key",
                _ => "private key",
            },
            excerpt: format!("-----BEGIN {}PRIVATE KEY-----", key.label),
            confidence: key.confidence,
        });
    }
    if is_binary(content) {
        return out;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    for (rule, re) in RULES.iter().zip(COMPILED.iter()) {
        if rule.names.is_some_and(|accepts| !accepts(name))
            || out.iter().any(|m| m.kind == rule.kind)
        {
            continue;
        }
        out.extend(first_match(rule, re, content));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(path: &str, content: &str) -> Vec<(&'static str, Confidence)> {
        scan(path, content.as_bytes())
            .into_iter()
            .map(|m| (m.kind, m.confidence))
            .collect()
    }

    fn rsa_key() -> String {
        let mut der = vec![0x30, 0x82, 0x01, 0x00];
        der.extend((0..256u32).map(|i| (i * 13) as u8));
        pem::tests::pem("RSA ", &der)
    }

    #[test]
    fn finds_real_keys_and_tokens_and_redacts_them() {
        let key = rsa_key();
        let found = scan("root/.ssh/id_rsa", key.as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].kind, found[0].confidence),
            ("private key", Confidence::High)
        );
        assert_eq!(found[0].excerpt, "-----BEGIN RSA PRIVATE KEY-----");
        // In a binary, a complete block still counts; its string-table lookalikes do not.
        let mut lib = b"\x7fELF\0\0-----BEGIN PRIVATE KEY-----\0AKIAIOSFODNN7EXAMPLE\0".to_vec();
        assert!(scan("usr/lib/libgnutls.so.30", &lib).is_empty());
        lib.extend_from_slice(key.as_bytes());
        assert_eq!(scan("usr/lib/libx.so", &lib).len(), 1);
        let aws = scan("app/config", b"key=AKIAIOSFODNN7EXAMPLE\n");
        assert_eq!(aws[0].excerpt, "AKIAIOSF…");
        assert_eq!(aws[0].confidence, Confidence::Medium);
        let gh = tokens::with_checksum("ghp_", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123");
        assert_eq!(
            kinds("app/ci.sh", &format!("T={gh}\n")),
            [("GitHub token", Confidence::High)]
        );
        let mut bad = gh.clone();
        bad.replace_range(39..40, if gh.ends_with('A') { "B" } else { "A" });
        assert!(kinds("app/ci.sh", &format!("T={bad}\n")).is_empty());
        assert_eq!(
            kinds(
                "root/.npmrc",
                "//registry.npmjs.org/:_authToken=abcdef123456\n"
            ),
            [("npm token", Confidence::Medium)]
        );
        assert!(kinds("root/.npmrc", "//r/:_authToken=${NPM_TOKEN}\n").is_empty());
        let env = scan("app/.env", b"PORT=80\nDB_PASSWORD=hunter2\n");
        assert_eq!(env.len(), 1);
        assert_eq!(env[0].excerpt, "DB_PASSWORD=…");
        assert_eq!(
            kinds("root/.git-credentials", "https://me:ghtoken@github.com\n"),
            [("git credentials", Confidence::Medium)]
        );
        // A key file name with no key in it is no finding.
        assert!(kinds("root/.ssh/id_rsa", "junk").is_empty());
        assert!(kinds("etc/passwd", "root:x:0:0::/root:/bin/sh\n").is_empty());
    }

    #[test]
    fn service_account_json_needs_a_real_key() {
        let mut der = vec![0x30, 0x81, 0x40];
        der.extend([5u8; 64]);
        let escaped = pem::tests::pem("", &der).replace('\n', "\\n");
        let sa = format!(r#"{{"type": "service_account", "private_key": "{escaped}"}}"#);
        let found = scan("sa.json", sa.as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].confidence),
            ("GCP service account key", Confidence::High)
        );
        assert!(!found[0].excerpt.contains("MIG"), "{:?}", found[0]);
        let empty =
            r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n"}"#;
        assert!(kinds("sa.json", empty).is_empty());
    }
}
