//! Parsing transport strings: `oci:DIR[:TAG]`, `docker-archive:FILE`, `type=oci,dest=DIR`, ….

use std::path::PathBuf;
use std::str::FromStr;

/// Where `image import` reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Oci { dir: PathBuf, tag: Option<String> },
    OciArchive { file: PathBuf, tag: Option<String> },
    DockerArchive { file: PathBuf },
    Rootfs { dir: PathBuf },
    Registry { reference: String },
}

fn path_and_tag(rest: &str) -> (PathBuf, Option<String>) {
    match rest.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') && !p.is_empty() => {
            (PathBuf::from(p), Some(t.to_string()))
        }
        _ => (PathBuf::from(rest), None),
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(r) = s.strip_prefix("docker://") {
            return Ok(Source::Registry {
                reference: r.to_string(),
            });
        }
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected TRANSPORT:LOCATION (oci:, oci-archive:, docker-archive:, rootfs:, docker://)"))?;
        match kind {
            "oci" => {
                let (dir, tag) = path_and_tag(rest);
                Ok(Source::Oci { dir, tag })
            }
            "oci-archive" => {
                let (file, tag) = path_and_tag(rest);
                Ok(Source::OciArchive { file, tag })
            }
            "docker-archive" => Ok(Source::DockerArchive {
                file: PathBuf::from(rest.split(':').next().unwrap_or(rest)),
            }),
            "rootfs" => Ok(Source::Rootfs {
                dir: PathBuf::from(rest),
            }),
            other => Err(format!(
                "unknown transport {other:?}: use oci:, oci-archive:, docker-archive:, rootfs: or docker://"
            )),
        }
    }
}

/// Where `image export` writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Oci { dir: PathBuf },
    OciArchive { file: PathBuf },
    DockerArchive { file: PathBuf },
    Registry { name: String },
}

impl FromStr for Destination {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut kind = None;
        let mut dest = None;
        let mut name = None;
        for part in s.split(',') {
            match part.split_once('=') {
                Some(("type", v)) => kind = Some(v),
                Some(("dest", v)) => dest = Some(v),
                Some(("name", v)) => name = Some(v),
                _ => return Err(format!("{part:?}: expected type=…, dest=… or name=…")),
            }
        }
        let need_dest = || {
            dest.map(PathBuf::from)
                .ok_or_else(|| format!("{s:?}: missing dest=PATH"))
        };
        match kind {
            Some("oci") => Ok(Destination::Oci { dir: need_dest()? }),
            Some("oci-archive") => Ok(Destination::OciArchive { file: need_dest()? }),
            Some("docker-archive") => Ok(Destination::DockerArchive { file: need_dest()? }),
            Some("registry") => Ok(Destination::Registry {
                name: name
                    .ok_or_else(|| format!("{s:?}: missing name=REF"))?
                    .to_string(),
            }),
            Some(other) => Err(format!(
                "unknown output type {other:?}: use oci, oci-archive, docker-archive or registry"
            )),
            None => Err(format!("{s:?}: missing type=")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            "oci:/x/y:v1".parse::<Source>(),
            Ok(Source::Oci {
                dir: "/x/y".into(),
                tag: Some("v1".into())
            })
        );
        assert_eq!(
            "oci:/x/y".parse::<Source>(),
            Ok(Source::Oci {
                dir: "/x/y".into(),
                tag: None
            })
        );
        assert_eq!(
            "rootfs:/r".parse::<Source>(),
            Ok(Source::Rootfs { dir: "/r".into() })
        );
        assert_eq!(
            "docker://127.0.0.1:5000/a:b".parse::<Source>(),
            Ok(Source::Registry {
                reference: "127.0.0.1:5000/a:b".into()
            })
        );
        assert!("nope:/x".parse::<Source>().is_err());
    }

    #[test]
    fn destinations_parse() {
        assert_eq!(
            "type=oci,dest=/o".parse::<Destination>(),
            Ok(Destination::Oci { dir: "/o".into() })
        );
        assert_eq!(
            "type=registry,name=localhost:5000/x".parse::<Destination>(),
            Ok(Destination::Registry {
                name: "localhost:5000/x".into()
            })
        );
        assert!("type=oci".parse::<Destination>().is_err());
    }
}
