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

fn valid_repo(s: &str) -> bool {
    !s.is_empty()
        && s.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        })
}

fn valid_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

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
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
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
                "repository must be lowercase letters, digits and . _ - separated by /",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
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
        assert!(Reference::parse("a@sha256:12").is_err());
    }
}
