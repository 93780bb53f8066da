//! Human-readable numbers for a narrow terminal: sizes, durations, counts.

use std::time::Duration;

/// `12.3 MB`, `512 B`: decimal units, three significant digits, like `docker images`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value >= 99.95 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `0.4s`, `12.3s`, `2m05s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let whole = d.as_secs();
    if whole < 3600 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h{:02}m", whole / 3600, (whole % 3600) / 60)
    }
}

/// Seconds as reported by events (may be negative or NaN in a corrupt log) to a `Duration`.
pub fn seconds(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs)
    } else {
        Duration::ZERO
    }
}

/// Cut `text` to at most `width` columns, ending with `…` when something was cut.
pub fn truncate(text: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_234), "1.2 kB");
        assert_eq!(size(12_345_678), "12.3 MB");
        assert_eq!(size(812_000_000), "812 MB");
        assert_eq!(size(999_990_000), "1.0 GB");
    }

    #[test]
    fn durations_stay_short() {
        assert_eq!(duration(Duration::from_millis(420)), "0.4s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("builder", 10), "builder");
        assert_eq!(truncate("builder-stage", 8), "builder…");
        assert_eq!(truncate("x", 0), "");
    }
}
