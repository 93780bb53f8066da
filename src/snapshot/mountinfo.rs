//! The calling thread's mount table.
//!
//! `/proc/self` names the thread-group leader, whose mount namespace can differ from the calling
//! thread's (see [`super::namespace::run_isolated`]), so this reads `/proc/thread-self`.

use std::io;
use std::path::{Path, PathBuf};

const MOUNTINFO: &str = "/proc/thread-self/mountinfo";

/// Mount points visible to the calling thread, in mount order.
pub fn mount_points() -> io::Result<Vec<PathBuf>> {
    let table = std::fs::read_to_string(MOUNTINFO)?;
    Ok(table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .collect())
}

/// True when something is mounted at `path` (or below it) in the calling thread's namespace.
pub fn is_mounted_at_or_below(path: &Path) -> io::Result<bool> {
    Ok(mount_points()?.iter().any(|p| p.starts_with(path)))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_octal_sequences() {
        assert_eq!(unescape(r"/a\040b\134c"), "/a b\\c");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn root_is_a_mount_point() {
        assert!(
            mount_points()
                .expect("mountinfo")
                .contains(&PathBuf::from("/"))
        );
    }
}
