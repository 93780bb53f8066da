//! rpm databases: found and named, not read yet. Their files count as unowned, and the report
//! says so instead of pretending the image has no packages.

use std::collections::BTreeMap;

use crate::analyze::stack::Live;

/// Where rpm keeps its database, and in which format.
const DATABASES: &[(&str, &str)] = &[
    ("var/lib/rpm/rpmdb.sqlite", "sqlite"),
    ("usr/lib/sysimage/rpm/rpmdb.sqlite", "sqlite"),
    ("var/lib/rpm/Packages", "Berkeley DB"),
    ("var/lib/rpm/Packages.db", "ndb"),
    ("usr/lib/sysimage/rpm/Packages.db", "ndb"),
];

pub fn notes(live: &BTreeMap<String, Live>) -> Vec<String> {
    DATABASES
        .iter()
        .filter(|(path, _)| live.contains_key(*path))
        .map(|(path, format)| {
            format!(
                "rpm database /{path} ({format}) is not read: rpm packages are not supported \
                 yet, their files are listed as unowned"
            )
        })
        .collect()
}
