//! The times records and image configs are stamped with (RFC 3339, seconds).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, for records (`created` of builds and cache records).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// For image configs and their history: `SOURCE_DATE_EPOCH` when given (so a rebuild, cached or
/// not, and another machine make the same digest), else now.
pub fn created(source_date_epoch: Option<u64>) -> String {
    let t = match source_date_epoch {
        Some(s) => UNIX_EPOCH + Duration::from_secs(s),
        None => SystemTime::now(),
    };
    humantime::format_rfc3339_seconds(t).to_string()
}
