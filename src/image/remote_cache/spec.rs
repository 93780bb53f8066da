//! `--cache-to` / `--cache-from` in BuildKit's syntax: comma-separated `key=value` pairs with a
//! `type` (`registry` or `local`). A bare reference is `type=registry,ref=…`, as `docker build
//! --cache-from REF` takes it.

use std::path::PathBuf;

use crate::image::layer::Compression;

/// Where a cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// A repository tag in an OCI registry.
    Registry { reference: String },
    /// An OCI image layout directory.
    Local { dir: PathBuf },
}

impl std::fmt::Display for CacheLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheLocation::Registry { reference } => write!(f, "registry {reference}"),
            CacheLocation::Local { dir } => write!(f, "local {}", dir.display()),
        }
    }
}

/// Which steps an export writes (BuildKit's `mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// The steps of the stages the target image is made of.
    #[default]
    Min,
    /// Every step of every built stage.
    Max,
}

/// One `--cache-to` or `--cache-from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    pub location: CacheLocation,
    pub mode: CacheMode,
    pub compression: Compression,
    /// `ignore-error=true`: a failed export warns instead of failing the build.
    pub ignore_error: bool,
}

/// Parses a `--cache-to` value (`dest=` for local).
pub fn parse_cache_to(text: &str) -> Result<CacheSpec, String> {
    parse(text, Direction::To)
}

/// Parses a `--cache-from` value (`src=` for local; a bare reference is a registry).
pub fn parse_cache_from(text: &str) -> Result<CacheSpec, String> {
    if !text.contains('=') {
        return registry(text, CacheMode::Min);
    }
    parse(text, Direction::From)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    To,
    From,
}

fn registry(reference: &str, mode: CacheMode) -> Result<CacheSpec, String> {
    if reference.is_empty() {
        return Err("type=registry needs ref=REGISTRY/REPOSITORY:TAG".into());
    }
    crate::store::reference::Reference::parse(reference)
        .map_err(|_| format!("ref={reference:?} is not an image reference"))?;
    Ok(CacheSpec {
        location: CacheLocation::Registry {
            reference: reference.to_string(),
        },
        mode,
        compression: Compression::Gzip,
        ignore_error: false,
    })
}

fn parse(text: &str, dir: Direction) -> Result<CacheSpec, String> {
    let mut kind = None;
    let (mut reference, mut path) = (None, None);
    let mut mode = CacheMode::Min;
    let mut compression = Compression::Gzip;
    let mut ignore_error = false;
    let path_key = if dir == Direction::To { "dest" } else { "src" };
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not KEY=VALUE"))?;
        match k {
            "type" => kind = Some(v),
            "ref" => reference = Some(v),
            k if k == path_key => path = Some(v),
            "mode" if dir == Direction::To => {
                mode = match v {
                    "min" => CacheMode::Min,
                    "max" => CacheMode::Max,
                    _ => return Err(format!("mode={v:?}: use min or max")),
                }
            }
            "compression" if dir == Direction::To => compression = v.parse()?,
            "ignore-error" if dir == Direction::To => {
                ignore_error = v
                    .parse()
                    .map_err(|_| format!("ignore-error={v:?}: use true or false"))?;
            }
            "src" | "dest" => {
                return Err(format!(
                    "{k}= does not belong here: type=local needs {path_key}=DIR"
                ));
            }
            // BuildKit's knobs with no meaning here; accepted so shared CI flags keep working.
            "oci-mediatypes" | "image-manifest" | "force-compression" | "compression-level"
            | "tag" | "digest" => {}
            _ => return Err(format!("unknown cache option {k:?}")),
        }
    }
    let spec = match kind {
        Some("registry") => registry(reference.unwrap_or_default(), mode)?,
        Some("local") => {
            let path = path
                .filter(|p| !p.is_empty())
                .ok_or_else(|| format!("type=local needs {path_key}=DIR"))?;
            CacheSpec {
                location: CacheLocation::Local {
                    dir: PathBuf::from(path),
                },
                mode,
                compression,
                ignore_error,
            }
        }
        Some(other @ ("inline" | "gha" | "s3" | "azblob")) => {
            return Err(format!(
                "cache type {other:?} is not supported: use type=registry or type=local"
            ));
        }
        Some(other) => return Err(format!("unknown cache type {other:?}")),
        None => return Err("a cache needs type=registry or type=local".into()),
    };
    Ok(CacheSpec {
        compression,
        ignore_error,
        ..spec
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_syntax() {
        let to =
            parse_cache_to("type=registry,ref=127.0.0.1:5000/app:cache,mode=max,compression=zstd")
                .expect("parse");
        assert_eq!(
            to.location,
            CacheLocation::Registry {
                reference: "127.0.0.1:5000/app:cache".into()
            }
        );
        assert_eq!(to.mode, CacheMode::Max);
        assert_eq!(to.compression, Compression::Zstd);
        let local = parse_cache_to("type=local,dest=/tmp/c").expect("parse");
        assert_eq!(
            local.location,
            CacheLocation::Local {
                dir: "/tmp/c".into()
            }
        );
        assert_eq!(local.mode, CacheMode::Min);
        let from = parse_cache_from("type=local,src=/tmp/c").expect("parse");
        assert_eq!(from.location, local.location);
        let bare = parse_cache_from("127.0.0.1:5000/app:cache").expect("parse");
        assert_eq!(bare.location, to.location);
    }

    #[test]
    fn clear_errors() {
        let err = |s: &str, to: bool| {
            if to {
                parse_cache_to(s).expect_err(s)
            } else {
                parse_cache_from(s).expect_err(s)
            }
        };
        assert!(err("type=local,src=/x", true).contains("dest=DIR"));
        assert!(err("type=local,dest=/x", false).contains("src=DIR"));
        assert!(err("type=registry", true).contains("ref="));
        assert!(err("type=registry,ref=x,mode=all", true).contains("min or max"));
        assert!(err("type=inline", true).contains("not supported"));
        assert!(err("type=registry,ref=x,mode=max", false).contains("unknown cache option"));
        assert!(err("ref=x", true).contains("type=registry or type=local"));
        assert!(err("type=registry,ref=x,compression=lz4", true).contains("gzip"));
    }
}
