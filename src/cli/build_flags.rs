//! Parsing the `docker build` flags whose values have a syntax of their own: `--label K=V`,
//! `--add-host HOST:IP`, `--shm-size 64m`, `--platform os/arch`.

use std::collections::BTreeMap;

use miette::{Result, miette};

use crate::frontend::args::host_platform;

pub fn labels(args: &[String]) -> Result<BTreeMap<String, String>> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            // docker takes `--label K` as an empty value.
            None if !a.is_empty() => Ok((a.clone(), String::new())),
            _ => Err(miette!("--label {a:?}: use KEY=VALUE")),
        })
        .collect()
}

/// `HOST:IP` (docker also takes `HOST=IP`); the IP may be IPv6, so the split is at the first `:`
/// or `=`, and the IP must parse.
pub fn add_hosts(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| {
            let split = a.split_once('=').or_else(|| a.split_once(':'));
            match split {
                Some((host, ip)) if !host.is_empty() && ip.parse::<std::net::IpAddr>().is_ok() => {
                    Ok((host.to_string(), ip.to_string()))
                }
                Some((_, "host-gateway")) => Err(miette!(
                    "--add-host {a}: host-gateway needs a daemon's bridge; give the IP"
                )),
                _ => Err(miette!("--add-host {a:?}: use HOST:IP, e.g. db:10.0.0.5")),
            }
        })
        .collect()
}

/// Docker's size syntax: a number with an optional unit b, k, m, g (powers of 1024).
pub fn bytes(text: &str) -> Result<u64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').filter(|s| !s.is_empty()).unwrap_or(&t);
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => {
            return Err(miette!(
                "--shm-size {text:?}: use a number with b, k, m or g"
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| miette!("--shm-size {text:?}: use a number with b, k, m or g"))?;
    n.checked_mul(1 << shift)
        .filter(|b| *b > 0)
        .ok_or_else(|| miette!("--shm-size {text:?}: out of range"))
}

/// Accepts this machine's platform (with or without a variant); anything else is refused until
/// stagecraft can cross-build.
pub fn check_platform(requested: &str) -> Result<()> {
    let native = host_platform();
    let wanted: Vec<&str> = requested.split(',').map(str::trim).collect();
    for p in &wanted {
        let os_arch: Vec<&str> = p.splitn(3, '/').take(2).collect();
        if os_arch.join("/") != native {
            return Err(miette!(
                help = format!("drop --platform or use --platform {native}"),
                "--platform {p}: stagecraft builds only for this machine ({native}); cross-platform builds are not supported yet"
            ));
        }
    }
    Ok(())
}

/// `-t NAME[:TAG]` by docker's reference grammar, checked before anything runs.
pub fn check_tag(tag: &str) -> Result<()> {
    crate::store::reference::Reference::parse_tag(tag)
        .map(drop)
        .map_err(|e| {
            miette!(
                "invalid tag {:?}: {}; a tag is [REGISTRY[:PORT]/]NAME[:TAG], NAME in lowercase \
                 letters, digits and . _ - (as docker build -t takes it)",
                crate::frontend::brief::line(tag, 200),
                e.reason
            )
        })
}

/// `--build-arg K=V`, or `--build-arg K` taking K from the environment (skipped when unset), as
/// docker does.
pub fn build_args(args: &[String]) -> BTreeMap<String, String> {
    args.iter()
        .filter_map(|a| match a.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => std::env::var(a).ok().map(|v| (a.clone(), v)),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_docker_units() {
        assert_eq!(bytes("64m").unwrap(), 64 << 20);
        assert_eq!(bytes("1g").unwrap(), 1 << 30);
        assert_eq!(bytes("128MB").unwrap(), 128 << 20);
        assert_eq!(bytes("4096").unwrap(), 4096);
        assert!(bytes("12q").is_err() && bytes("").is_err() && bytes("0").is_err());
    }

    #[test]
    fn hosts_and_labels() {
        assert_eq!(
            add_hosts(&["db:10.0.0.5".into(), "v6=::1".into()]).unwrap(),
            vec![
                ("db".into(), "10.0.0.5".into()),
                ("v6".into(), "::1".into())
            ]
        );
        assert!(add_hosts(&["db".into()]).is_err());
        assert!(add_hosts(&["db:notanip".into()]).is_err());
        let l = labels(&["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(l["b"], "x=y");
    }

    #[test]
    fn only_the_native_platform_is_accepted() {
        assert!(check_platform(&host_platform()).is_ok());
        let err = check_platform("linux/s390x").unwrap_err().to_string();
        assert!(
            err.contains("linux/s390x") && err.contains("not supported"),
            "{err}"
        );
    }
}
