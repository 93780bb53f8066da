//! Python distributions installed by pip (any site-packages or venv): `NAME-VERSION.dist-info/RECORD`
//! lists every file, relative to the directory holding the dist-info (`../../../bin/pip` for
//! scripts). Debian's own python3-* packages carry no RECORD; dpkg owns their files.

use super::{Db, Installed, Manager};

pub fn wanted(path: &str) -> bool {
    path.ends_with(".dist-info/RECORD")
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

pub fn read(db: &Db) -> Vec<Installed> {
    let mut out = Vec::new();
    for (path, content) in db.iter().filter(|(p, _)| wanted(p)) {
        let Some(dist_info) = path.strip_suffix("/RECORD") else {
            continue;
        };
        let (site, dir) = dist_info.rsplit_once('/').unwrap_or(("", dist_info));
        let stem = dir.strip_suffix(".dist-info").unwrap_or(dir);
        let (name, version) = stem.split_once('-').unwrap_or((stem, ""));
        let files = String::from_utf8_lossy(content)
            .lines()
            .map(record_path)
            .filter(|f| !f.is_empty())
            .filter_map(|f| normalize(&format!("{site}/{f}")))
            .collect();
        out.push(Installed {
            name: name.to_string(),
            version: version.to_string(),
            manager: Manager::Python,
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
}
