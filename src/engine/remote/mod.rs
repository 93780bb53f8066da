//! `--cache-from`: caches other machines exported, read at the start of a build (manifest and
//! config only) and consulted when a step's key is not in the local store. A hit pulls only that
//! step's layer blob; nothing is extracted until a later step needs the filesystem.

pub mod export;

use std::collections::HashMap;

use super::cache::StepInputs;
use super::event::{Event, StepRef};
use super::sink::EventSink;
use crate::image::registry::RegistryOptions;
use crate::image::remote_cache::{CacheEntry, CacheSpec, LoadedCache};
use crate::store::Store;

/// The caches named by `--cache-from` that could be read, in the order given (the first one
/// holding a key wins).
#[derive(Default)]
pub struct Imported {
    sources: Vec<LoadedCache>,
    /// Cache key → (source, record).
    by_key: HashMap<String, (usize, usize)>,
    /// `stage/index` → (source, record): the exporting build's inputs, for miss reasons.
    by_step: HashMap<String, (usize, usize)>,
}

/// A warning about a cache source or record; the build goes on without it.
pub fn warn(sink: &EventSink, message: String, step: Option<StepRef>) {
    sink.emit(Event::Warning {
        rule: "RemoteCache".into(),
        message,
        url: String::new(),
        file: String::new(),
        line: 0,
        column: 0,
        fix: String::new(),
        step,
    });
}

impl Imported {
    /// Reads every source's manifest and config; one that cannot be read is left out with a
    /// warning.
    pub async fn load(
        store: &Store,
        specs: &[CacheSpec],
        opts: &RegistryOptions,
        sink: &EventSink,
    ) -> Imported {
        let mut imported = Imported::default();
        for spec in specs {
            match LoadedCache::load(store, &spec.location, opts).await {
                Ok(cache) => imported.add(cache),
                Err(e) => warn(
                    sink,
                    format!("cache {} not used: {e}; building without it", spec.location),
                    None,
                ),
            }
        }
        imported
    }

    fn add(&mut self, cache: LoadedCache) {
        let source = self.sources.len();
        for (i, record) in cache.config.records.iter().enumerate() {
            self.by_key.entry(record.key.clone()).or_insert((source, i));
            self.by_step
                .entry(record.step.clone())
                .or_insert((source, i));
        }
        self.sources.push(cache);
    }

    fn get(&self, at: Option<&(usize, usize)>) -> Option<(&LoadedCache, &CacheEntry)> {
        let (source, record) = *at?;
        let cache = self.sources.get(source)?;
        Some((cache, cache.config.records.get(record)?))
    }

    /// The imported record under `key`, with the cache it came from.
    pub fn lookup(&self, key: &str) -> Option<(&LoadedCache, &CacheEntry)> {
        self.get(self.by_key.get(key))
    }

    /// What the exporting build's step at the same place was made of.
    pub fn inputs_for(&self, step: &StepRef) -> Option<StepInputs> {
        let (_, record) = self.get(self.by_step.get(&step.to_string()))?;
        serde_json::from_value(record.inputs.clone()?).ok()
    }
}
