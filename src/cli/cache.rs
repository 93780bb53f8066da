//! `stagecraft cache du|ls|prune`: what the build cache holds and garbage collection.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use miette::Result;

use super::Global;
use super::image::human;
use crate::store::{GcOptions, Store};

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Disk usage per kind: blobs, snapshots, cache mounts, records
    Du,
    /// Step-cache records: step text, age, layer size, last use
    Ls,
    /// Remove cache records, then every blob, snapshot and cache mount nothing kept uses.
    /// Tagged images and the last build's images are always kept (the last build's unless
    /// --all). Waits until no other stagecraft process has the store open.
    Prune {
        /// Remove every cache record, build record and cache mount (tagged images stay)
        #[arg(long)]
        all: bool,
        /// Remove least-recently-used records until blobs, snapshots and mounts fit (e.g. 2GB)
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        keep_storage: Option<u64>,
        /// `until=DURATION`: only what was last used at least DURATION ago (e.g. until=24h)
        #[arg(long, value_name = "FILTER", value_parser = parse_filter)]
        filter: Option<Duration>,
    },
}

/// `123`, `10kB`, `1.5GB`, `2GiB`, `512M` (k/M/G/T are powers of 1000, KiB… of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 500MB or 2GiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    Ok((n * mult as f64) as u64)
}

fn parse_filter(s: &str) -> Result<Duration, String> {
    let value = s
        .strip_prefix("until=")
        .ok_or_else(|| format!("unknown filter {s:?}: the only filter is until=DURATION"))?;
    humantime::parse_duration(value).map_err(|e| format!("until={value}: {e}"))
}

fn ago(t: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(t)
        .unwrap_or_default()
        .as_secs();
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        s.chars().take(n - 3).collect::<String>() + "..."
    } else {
        s.to_string()
    }
}

pub fn run(global: &Global, cmd: CacheCommand) -> Result<ExitCode> {
    let store = Store::open(&global.store_root())?;
    match cmd {
        CacheCommand::Du => {
            let du = store.disk_usage()?;
            for (kind, bytes) in [
                ("blobs", du.blobs),
                ("snapshots", du.snapshots),
                ("cache mounts", du.mounts),
                ("records", du.records),
                ("total", du.total()),
            ] {
                println!("{kind:<14} {:>10}", human(bytes));
            }
        }
        CacheCommand::Ls => {
            println!(
                "{:<14} {:<12} {:<50} {:>10} {:>10} {:>10}",
                "KEY", "STEP", "TEXT", "SIZE", "CREATED", "LAST USE"
            );
            let mut entries = store.cache_entries()?;
            entries.reverse();
            for e in entries {
                let key = e.key.trim_start_matches("sha256:");
                let created = humantime::parse_rfc3339_weak(&e.record.created)
                    .map(ago)
                    .unwrap_or_else(|_| e.record.created.clone());
                println!(
                    "{:<14} {:<12} {:<50} {:>10} {:>10} {:>10}",
                    truncate(key, 12),
                    truncate(&e.record.step, 12),
                    crate::ui::visible::visible_line(&truncate(&e.record.text, 50)),
                    human(e.size()),
                    created,
                    ago(e.last_used)
                );
            }
        }
        CacheCommand::Prune {
            all,
            keep_storage,
            filter,
        } => {
            let opts = GcOptions {
                all,
                keep_storage,
                until: filter,
                wait: false,
            };
            let report = match store.gc(&opts) {
                Err(crate::store::StoreError::Busy) => {
                    eprintln!("waiting for other stagecraft processes to close the store…");
                    store.gc(&GcOptions { wait: true, ..opts })?
                }
                other => other?,
            };
            println!(
                "removed {} cache records, {} build records, {} cache mounts, {} blobs, {} snapshots; freed {}",
                report.records_removed,
                report.builds_removed,
                report.mounts_removed,
                report.blobs_removed,
                report.snapshots_removed,
                human(report.bytes_freed)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_filters_parse() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_filter("until=24h"), Ok(Duration::from_secs(86400)));
        assert!(parse_filter("label=x").is_err());
    }
}
