//! Go `time.ParseDuration` syntax (`1m30s`, `500ms`, `1.5h`), as HEALTHCHECK flags use it.

use std::time::Duration;

pub fn parse(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (examples: 30s, 1m30s, 500ms)");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * nanos;
    }
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_durations() {
        assert_eq!(super::parse("1m30s").expect("valid").as_secs(), 90);
        assert_eq!(super::parse("0s").expect("valid").as_secs(), 0);
        assert_eq!(super::parse("1.5h").expect("valid").as_secs(), 5400);
        assert!(super::parse("5").is_err());
    }
}
