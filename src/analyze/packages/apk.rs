//! Alpine's apk database, `/lib/apk/db/installed`: one paragraph per package, `P:` name, `V:`
//! version, `F:` a directory and the `R:` files in it.

use super::{Db, Installed, Manager};

pub use super::capture::apk::INSTALLED;

pub fn read(db: &Db) -> Vec<Installed> {
    let Some(text) = db.file(INSTALLED) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    for paragraph in text.split("\n\n") {
        let (mut name, mut version, mut size) = ("", "", None);
        let (mut dir, mut files) = (String::new(), Vec::new());
        for line in paragraph.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "P" => name = value,
                "V" => version = value,
                "I" => size = value.parse::<u64>().ok(),
                "F" => dir = value.trim_matches('/').to_string(),
                "R" if dir.is_empty() => files.push(value.to_string()),
                "R" => files.push(format!("{dir}/{value}")),
                _ => {}
            }
        }
        if !name.is_empty() {
            out.push(Installed {
                declared_size: size,
                ..Installed::new(name, version, Manager::Apk, files)
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packages_and_their_files() {
        let mut db = Db::default();
        db.insert(
            INSTALLED,
            b"C:Q1x=\nP:musl\nV:1.2.4-r2\nI:622592\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r5\nF:bin\nR:busybox\nF:etc\nR:securetty\n",
        );
        let found = read(&db);
        let names: Vec<(&str, usize)> = found
            .iter()
            .map(|p| (p.name.as_str(), p.files.len()))
            .collect();
        assert_eq!(names, [("musl", 2), ("busybox", 2)]);
        assert_eq!(found[1].files, ["bin/busybox", "etc/securetty"]);
        assert_eq!(found[0].declared_size, Some(622_592));
    }
}
