//! The ID maps of our user namespace: container 0 is the user, 1…N the user's subordinate range
//! from `/etc/subuid` / `/etc/subgid` (as podman and rootlesskit map them).

use std::path::Path;

/// One line of a map: `inside` … `inside + count` are `outside` … in the parent namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The uid or gid map of the namespace, and where its range came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    pub extents: Vec<Extent>,
    /// `/etc/subuid` or `/etc/subgid`: named in errors about IDs outside the map.
    pub file: &'static str,
}

impl IdMap {
    /// The user's own ID as 0, then the subordinate range from 1 when there is one.
    pub fn new(own: u32, range: Option<(u32, u32)>, file: &'static str) -> Self {
        let mut extents = vec![Extent {
            inside: 0,
            outside: own,
            count: 1,
        }];
        if let Some((start, count)) = range {
            extents.push(Extent {
                inside: 1,
                outside: start,
                count,
            });
        }
        Self { extents, file }
    }

    /// Whether `id` (a container ID) has a host ID behind it.
    pub fn contains(&self, id: u32) -> bool {
        self.extents
            .iter()
            .any(|e| id >= e.inside && id - e.inside < e.count)
    }

    /// Only the user's own ID: no subordinate range.
    pub fn is_single(&self) -> bool {
        self.extents.len() == 1
    }

    /// The arguments `newuidmap PID` / `newgidmap PID` take after the pid.
    pub fn helper_args(&self) -> Vec<String> {
        self.extents
            .iter()
            .flat_map(|e| [e.inside, e.outside, e.count])
            .map(|n| n.to_string())
            .collect()
    }

    /// The text written to `/proc/PID/uid_map` when no helper is needed (single ID).
    pub fn proc_text(&self) -> String {
        self.extents
            .iter()
            .map(|e| format!("{} {} {}\n", e.inside, e.outside, e.count))
            .collect()
    }
}

/// The first range of `name` (or of the numeric `id`) in a subid file's `text`, as
/// `(start, count)`; `None` when the user has none. Malformed lines are skipped, as shadow does.
pub fn subordinate_range(text: &str, name: &str, id: u32) -> Option<(u32, u32)> {
    let id = id.to_string();
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let owner = fields.next()?;
        if owner != name && owner != id {
            return None;
        }
        let start = fields.next()?.parse().ok()?;
        let count: u32 = fields.next()?.parse().ok()?;
        (count > 0).then_some((start, count))
    })
}

/// Reads `file` (missing = no range) and looks up the user's range in it.
pub fn read_range(file: &Path, name: &str, id: u32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    subordinate_range(&text, name, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_range_by_name_or_id_and_skips_junk() {
        let text = "other:100000:65536\nbad line\nme:200000:65536\n";
        assert_eq!(subordinate_range(text, "me", 1000), Some((200000, 65536)));
        assert_eq!(
            subordinate_range("1000:300000:10\n", "me", 1000),
            Some((300000, 10))
        );
        assert_eq!(subordinate_range(text, "nobody", 7), None);
        assert_eq!(subordinate_range("me:1:0\n", "me", 7), None);
    }

    #[test]
    fn map_puts_the_user_at_zero_and_the_range_above() {
        let map = IdMap::new(1000, Some((200000, 65536)), "/etc/subuid");
        assert_eq!(
            map.helper_args(),
            ["0", "1000", "1", "1", "200000", "65536"]
        );
        assert!(map.contains(0) && map.contains(1) && map.contains(65536));
        assert!(!map.contains(65537));
        let single = IdMap::new(1000, None, "/etc/subuid");
        assert!(single.is_single() && !single.contains(1));
        assert_eq!(single.proc_text(), "0 1000 1\n");
    }
}
