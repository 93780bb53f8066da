//! `RUN --mount=type=...,key=value` options (BuildKit `runmount.go`).

use super::instruction::{Mount, MountType, Sharing};

/// CSV fields, honouring double quotes (`target="/a,b"`).
fn fields(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Ok(true),
        "0" | "f" | "false" => Ok(false),
        _ => Err(format!(
            "invalid value for {key}: {v:?} (expected true or false)"
        )),
    }
}

/// Checks a numeric option now unless it holds a variable (those are checked after expansion).
fn number(key: &str, v: &str, radix: u32) -> Result<String, String> {
    if !v.contains('$') && u32::from_str_radix(v, radix).is_err() {
        let what = if radix == 8 {
            "an octal number"
        } else {
            "a number"
        };
        return Err(format!("invalid {key} {v:?}: expected {what}"));
    }
    Ok(v.to_string())
}

pub fn parse(value: &str) -> Result<Mount, String> {
    let fields = fields(value);
    let mut kind = MountType::Bind;
    for f in &fields {
        if let Some((k, v)) = f.split_once('=')
            && k.eq_ignore_ascii_case("type")
        {
            kind = match v.to_ascii_lowercase().as_str() {
                "bind" => MountType::Bind,
                "cache" => MountType::Cache,
                "tmpfs" => MountType::Tmpfs,
                "secret" => MountType::Secret,
                "ssh" => MountType::Ssh,
                _ => {
                    return Err(format!(
                        "unsupported mount type {v:?} (use bind, cache, tmpfs, secret or ssh)"
                    ));
                }
            };
        }
    }
    let mut m = Mount {
        kind,
        target: None,
        source: None,
        from: None,
        readonly: false,
        id: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        size: None,
        env: None,
    };
    let type_name = format!("{kind:?}").to_ascii_lowercase();
    let secretish = matches!(kind, MountType::Secret | MountType::Ssh);
    let mut ro: Option<bool> = None;
    for f in fields.iter().filter(|f| !f.is_empty()) {
        let (key, v) = match f.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (f.to_ascii_lowercase(), None),
        };
        let unexpected = || format!("unexpected key '{key}' for mount type '{type_name}'");
        match (key.as_str(), v) {
            ("readonly" | "ro", None) => ro = Some(true),
            ("readwrite" | "rw", None) => ro = Some(false),
            ("readonly" | "ro", Some(v)) => ro = Some(parse_bool(&key, v)?),
            ("readwrite" | "rw", Some(v)) => ro = Some(!parse_bool(&key, v)?),
            ("required", None) if secretish => m.required = true,
            ("required", Some(v)) if secretish => m.required = parse_bool(&key, v)?,
            ("required", _) => return Err(unexpected()),
            ("type", Some(_)) => {}
            ("from", Some(v)) => {
                if v.contains('$') {
                    return Err(
                        "'from' doesn't support variable expansion, define alias stage instead"
                            .into(),
                    );
                }
                m.from = Some(v.to_string());
            }
            ("source" | "src", Some(v)) => m.source = Some(v.to_string()),
            ("target" | "dst" | "destination", Some(v)) => m.target = Some(v.to_string()),
            ("id", Some(v)) => m.id = Some(v.to_string()),
            ("sharing", Some(v)) if kind == MountType::Cache => {
                m.sharing = match v.to_ascii_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => {
                        return Err(format!(
                            "unsupported sharing value {v:?} (use shared, private or locked)"
                        ));
                    }
                }
            }
            ("mode", Some(v)) => m.mode = Some(number(&key, v, 8)?),
            ("uid", Some(v)) => m.uid = Some(number(&key, v, 10)?),
            ("gid", Some(v)) => m.gid = Some(number(&key, v, 10)?),
            ("size", Some(v)) if kind == MountType::Tmpfs => m.size = Some(v.to_string()),
            ("env", Some(v)) if kind == MountType::Secret => m.env = Some(v.to_string()),
            ("sharing" | "size" | "env", Some(_)) => return Err(unexpected()),
            _ => return Err(format!("unexpected key '{key}' in '{f}'")),
        }
    }
    let file_info = matches!(kind, MountType::Cache | MountType::Secret | MountType::Ssh);
    if !file_info && (m.mode.is_some() || m.uid.is_some() || m.gid.is_some()) {
        return Err(format!(
            "mode, uid and gid are not allowed for mount type '{type_name}'"
        ));
    }
    if secretish && m.from.is_some() {
        return Err(format!("{type_name} mount should not have a from"));
    }
    if matches!(kind, MountType::Cache | MountType::Tmpfs) && m.target.is_none() {
        return Err(format!("{type_name} mount needs a target (target=/path)"));
    }
    m.readonly = ro.unwrap_or(matches!(
        kind,
        MountType::Bind | MountType::Secret | MountType::Ssh
    ));
    if kind == MountType::Secret && m.id.is_none() {
        m.id = m
            .target
            .as_deref()
            .and_then(|t| t.rsplit('/').next())
            .filter(|s| !s.is_empty())
            .map(String::from);
    }
    if kind == MountType::Secret && m.target.is_none() && m.env.is_none() {
        m.target = m.id.as_ref().map(|id| format!("/run/secrets/{id}"));
    }
    if kind == MountType::Ssh && m.target.is_none() {
        m.target = Some("/run/buildkit/ssh_agent.0".into());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_defaults_and_keys() {
        let m = parse("type=cache,target=/root/.cache,sharing=locked,id=go").expect("valid");
        assert_eq!(
            (m.kind, m.sharing, m.readonly),
            (MountType::Cache, Sharing::Locked, false)
        );
        assert_eq!(m.id.as_deref(), Some("go"));
        let b = parse("from=build,source=/out,target=/in").expect("valid");
        assert_eq!(
            (b.kind, b.readonly, b.from.as_deref()),
            (MountType::Bind, true, Some("build"))
        );
    }

    #[test]
    fn secret_target_defaults_from_id() {
        let m = parse("type=secret,id=npmrc,required").expect("valid");
        assert_eq!(m.target.as_deref(), Some("/run/secrets/npmrc"));
        assert!(m.required);
    }

    #[test]
    fn rejects_unknown_keys_and_types() {
        assert!(parse("type=cache,target=/x,bogus=1").is_err());
        assert!(parse("type=nfs,target=/x").is_err());
        assert!(parse("type=bind,target=/x,mode=0755").is_err());
    }
}
