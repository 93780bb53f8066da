//! npm packages: every `node_modules/NAME/package.json` (or `node_modules/@SCOPE/NAME/…`) is an
//! installed package owning the files under its directory, except nested `node_modules`.

use super::{Db, Installed, Manager};

/// The package directory of a `package.json` directly inside a `node_modules` entry.
fn package_dir(path: &str) -> Option<&str> {
    let dir = path.strip_suffix("/package.json")?;
    let (parent, _) = dir.rsplit_once('/')?;
    let parent = match parent.rsplit_once('/') {
        Some((grand, scope)) if scope.starts_with('@') => grand,
        _ if parent.starts_with('@') => return None,
        _ => parent,
    };
    (parent == "node_modules" || parent.ends_with("/node_modules")).then_some(dir)
}

pub fn wanted(path: &str) -> bool {
    package_dir(path).is_some()
}

pub fn read(db: &Db) -> Vec<Installed> {
    let mut out = Vec::new();
    for (path, content) in db.iter() {
        let Some(dir) = package_dir(path) else {
            continue;
        };
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(content) else {
            continue;
        };
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let name = match field("name") {
            "" => dir.rsplit('/').next().unwrap_or(dir),
            n => n,
        };
        let prefix = format!("{dir}/");
        let files = db
            .live_under(dir)
            .filter(|p| !p[prefix.len()..].split('/').any(|c| c == "node_modules"))
            .map(str::to_string)
            .collect();
        out.push(Installed {
            name: name.to_string(),
            version: field("version").to_string(),
            manager: Manager::Npm,
            files,
            declared_size: None,
            modules: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_package_dirs_scoped_or_not() {
        assert_eq!(
            package_dir("app/node_modules/left-pad/package.json"),
            Some("app/node_modules/left-pad")
        );
        assert_eq!(
            package_dir("node_modules/@types/node/package.json"),
            Some("node_modules/@types/node")
        );
        assert_eq!(package_dir("app/package.json"), None);
        assert_eq!(package_dir("app/node_modules/x/lib/package.json"), None);
        assert_eq!(
            package_dir("a/node_modules/x/node_modules/y/package.json"),
            Some("a/node_modules/x/node_modules/y")
        );
    }
}
