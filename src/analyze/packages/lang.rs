//! Language package managers that keep one metadata file per installed package, next to its
//! files: Python distributions (`NAME-VERSION.dist-info/RECORD` in any site-packages or venv,
//! listing every file relative to the directory holding the dist-info, `../../../bin/pip` for
//! scripts; Debian's python3-* ship no RECORD, dpkg owns theirs) and npm
//! (`node_modules/NAME/package.json` or `node_modules/@SCOPE/NAME/…`, owning the files under its
//! directory except nested `node_modules`).

use super::{Db, Installed, Manager};

use super::capture::lang::{manager, npm_dir};

pub fn read(db: &Db) -> Vec<Installed> {
    db.iter()
        .filter_map(|(path, content)| match manager(path)? {
            Manager::Python => pip(path, content),
            _ => npm(db, path, content),
        })
        .collect()
}

fn pip(path: &str, record: &[u8]) -> Option<Installed> {
    let dist_info = path.strip_suffix("/RECORD")?;
    let (site, dir) = dist_info.rsplit_once('/').unwrap_or(("", dist_info));
    let stem = dir.strip_suffix(".dist-info").unwrap_or(dir);
    let (name, version) = stem.split_once('-').unwrap_or((stem, ""));
    let files = String::from_utf8_lossy(record)
        .lines()
        .map(record_path)
        .filter(|f| !f.is_empty())
        .filter_map(|f| normalize(&format!("{site}/{f}")))
        .collect();
    Some(Installed::new(name, version, Manager::Python, files))
}

/// `a/b/../../c` → `c`; `None` when it climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// The path field of a RECORD line (CSV: quoted when it holds a comma).
fn record_path(line: &str) -> &str {
    match line.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or_default(),
        None => line.split(',').next().unwrap_or_default(),
    }
}

fn npm(db: &Db, path: &str, content: &[u8]) -> Option<Installed> {
    let dir = npm_dir(path)?;
    let json = serde_json::from_slice::<serde_json::Value>(content).ok()?;
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
    Some(Installed::new(name, field("version"), Manager::Npm, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_record_paths_relative_to_site_packages() {
        let mut db = Db::default();
        db.insert(
            "opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/RECORD",
            b"six.py,sha256=x,34549\n\"we,ird.py\",sha256=y,1\n../../../bin/six,,\nsix-1.16.0.dist-info/RECORD,,\n",
        );
        let found = read(&db);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].name.as_str(), found[0].version.as_str()),
            ("six", "1.16.0")
        );
        assert_eq!(found[0].manager, Manager::Python);
        assert_eq!(
            found[0].files,
            [
                "opt/venv/lib/python3.11/site-packages/six.py",
                "opt/venv/lib/python3.11/site-packages/we,ird.py",
                "opt/venv/bin/six",
                "opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/RECORD",
            ]
        );
        assert_eq!(normalize("a/../../b"), None);
    }

    #[test]
    fn finds_npm_package_dirs_scoped_or_not() {
        assert_eq!(
            npm_dir("app/node_modules/left-pad/package.json"),
            Some("app/node_modules/left-pad")
        );
        assert_eq!(
            npm_dir("node_modules/@types/node/package.json"),
            Some("node_modules/@types/node")
        );
        assert_eq!(npm_dir("app/package.json"), None);
        assert_eq!(npm_dir("app/node_modules/x/lib/package.json"), None);
        assert_eq!(
            npm_dir("a/node_modules/x/node_modules/y/package.json"),
            Some("a/node_modules/x/node_modules/y")
        );
        assert_eq!(manager("a/node_modules/x/package.json"), Some(Manager::Npm));
        assert_eq!(manager("a/x-1.dist-info/RECORD"), Some(Manager::Python));
    }
}
