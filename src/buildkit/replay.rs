//! A recorded BuildKit build (rawjson) as the events a live one would have produced: what
//! `tui --replay` shows for BuildKit's own progress from CI or another machine.

use super::mapping::Mapper;
use super::status::SolveStatus;
use crate::engine::Record;
use crate::engine::event::Timestamp;
use crate::frontend::plan::BuildPlan;

/// Every event of a whole recorded build: what `tui --replay` shows for a rawjson file.
pub fn map_all(plan: BuildPlan, build_id: &str, statuses: &[SolveStatus]) -> Vec<Record> {
    let first = statuses
        .iter()
        .flat_map(|s| s.vertexes.iter().filter_map(|v| v.started))
        .min()
        .unwrap_or_else(Timestamp::now);
    let (mut mapper, mut out) = Mapper::new(plan, build_id, first);
    let mut last = first;
    let mut error = None;
    let mut image = None;
    for s in statuses {
        if let Some(id) = s
            .statuses
            .iter()
            .find_map(|st| st.id.strip_prefix("writing image "))
        {
            image = Some(id.to_string());
        }
        for v in &s.vertexes {
            last = last.max(v.completed.or(v.started).unwrap_or(last));
            if !v.error.is_empty() && error.is_none() {
                error = Some(format!("{}: {}", v.name, v.error));
            }
        }
        out.extend(mapper.update(s));
    }
    let image = image.filter(|_| error.is_none());
    out.extend(mapper.finish(image, error, last));
    out
}
