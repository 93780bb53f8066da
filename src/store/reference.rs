//! Image references the way docker spells them: `[registry/]repository[:tag][@digest]`, with
//! `docker.io` as the default registry and `library/` for single-component names.

use std::fmt;

pub const DEFAULT_REGISTRY: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: &'static str,
}

/// A path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (docker's reference grammar), so
/// `..`, `.hidden` and `a..b` are no names.
fn valid_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    // Separators between alphanumeric runs: one '.', one or two '_', or any number of '-'.
    c.split(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        .all(|sep| matches!(sep, "" | "." | "_" | "__") || sep.bytes().all(|b| b == b'-'))
}

fn valid_repo(s: &str) -> bool {
    !s.is_empty() && s.split('/').all(valid_component)
}

/// A registry host: dot-separated labels of letters, digits and inner '-', or `[IPv6]`, with an
/// optional numeric port.
fn valid_domain(s: &str) -> bool {
    let (host, port) = match s.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, rest)) => {
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                (None, rest.strip_prefix(':').map(Some).unwrap_or(Some(rest)))
            }
            None => return false,
        },
        None => match s.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(s), None),
        },
    };
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    let host_ok = host.is_none_or(|h| h.split('.').all(label_ok));
    let port_ok = match (s.starts_with('['), port) {
        (true, Some("")) | (_, None) => true,
        (_, Some(p)) => !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()),
    };
    host_ok && port_ok
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(s: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    s.bytes().next().is_some_and(word)
        && s.len() <= 128
        && s.bytes().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

/// docker refuses names over 255 characters (registry and repository together).
const NAME_MAX: usize = 255;

impl Reference {
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        let err = |reason| ReferenceError {
            input: input.to_string(),
            reason,
        };
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                if !d.starts_with("sha256:") || d.len() != 71 {
                    return Err(err("digest must be sha256:<64 hex>"));
                }
                (r, Some(d.to_string()))
            }
            None => (input, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t.to_string())),
            _ => (rest, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(err("bad tag"));
        }
        if name.len() > NAME_MAX {
            return Err(err("name longer than 255 characters"));
        }
        // docker's rule for the first component: a registry when it looks like a host.
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                if !valid_domain(first) {
                    return Err(err(
                        "registry must be a host name or address, with an optional port",
                    ));
                }
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !valid_repo(&repository) {
            return Err(err(
                "repository must be lowercase letters and digits, joined by . _ __ or -, in \
                 components separated by /",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// A name for `-t`/`image tag`: a reference without a digest, as `docker build -t` takes.
    pub fn parse_tag(input: &str) -> Result<Reference, ReferenceError> {
        let r = Reference::parse(input)?;
        if r.digest.is_some() {
            return Err(ReferenceError {
                input: input.to_string(),
                reason: "a tag names an image by NAME[:TAG], not by digest",
            });
        }
        Ok(r)
    }

    /// The tag, defaulting to `latest` when neither tag nor digest was given.
    pub fn tag_or_latest(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, Some(_)) => None,
            (None, None) => Some("latest"),
        }
    }

    /// `registry/repository:tag` (or `@digest`): the key under which the store tags images.
    pub fn canonical(&self) -> String {
        let mut s = format!("{}/{}", self.registry, self.repository);
        if let Some(t) = self.tag_or_latest() {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// The short form people type: `busybox:latest`, `me/app:1`, `localhost:5000/x:y`.
    pub fn familiar(&self) -> String {
        let full = self.canonical();
        let short = full.strip_prefix("docker.io/").unwrap_or(&full);
        short.strip_prefix("library/").unwrap_or(short).to_string()
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_short_names_expand() {
        let r = Reference::parse("busybox").expect("parse");
        assert_eq!(r.canonical(), "docker.io/library/busybox:latest");
        assert_eq!(r.familiar(), "busybox:latest");
        let r = Reference::parse("me/app:1.2").expect("parse");
        assert_eq!(r.canonical(), "docker.io/me/app:1.2");
    }

    #[test]
    fn registry_with_port_is_not_a_tag() {
        let r = Reference::parse("127.0.0.1:5000/x/y").expect("parse");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "x/y", None)
        );
        assert_eq!(r.canonical(), "127.0.0.1:5000/x/y:latest");
        assert!(Reference::parse("Upper").is_err());
        assert!(Reference::parse("[::1]:5000/x").is_ok());
        assert!(Reference::parse("my-registry.example:443/a/b:v1.0").is_ok());
        assert!(Reference::parse("a@sha256:12").is_err());
    }

    #[test]
    fn docker_grammar_refuses_paths_and_spaces() {
        for bad in [
            "../../etc/x:1",
            "BAD TAG",
            "a/../b",
            ".hidden",
            "a..b",
            "a_-b",
            "x:-tag",
            "-x",
            "x/",
            "reg-.io/x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} was accepted");
        }
        for good in [
            "a__b",
            "a---b",
            "a.b_c-d",
            "x:_tag",
            "localhost/x",
            "Reg.IO/x",
            "x:1/y",
        ] {
            assert!(Reference::parse(good).is_ok(), "{good} was refused");
        }
        let long = format!("a/{}", "b".repeat(254));
        assert!(Reference::parse(&long).is_err());
        assert!(Reference::parse_tag(&format!("x@sha256:{}", "0".repeat(64))).is_err());
    }
}
