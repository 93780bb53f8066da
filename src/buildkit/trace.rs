//! The daemon's `moby.buildkit.trace` messages, as bollard decodes them, in rawjson's shape.

use std::time::{Duration, SystemTime};

use bollard::moby::buildkit::v1 as pb;

use super::status::{SolveStatus, Vertex, VertexLog, VertexStatus, VertexWarning};
use crate::engine::event::Timestamp;

/// Seconds and nanos of a protobuf Timestamp (its type is private to bollard's proto crate).
fn time(seconds: i64, nanos: i32) -> Option<Timestamp> {
    let secs = u64::try_from(seconds).ok()?;
    let nanos = u32::try_from(nanos).ok()?;
    Some(Timestamp(
        SystemTime::UNIX_EPOCH + Duration::new(secs, nanos),
    ))
}

macro_rules! ts {
    ($t:expr) => {
        $t.as_ref().and_then(|t| time(t.seconds, t.nanos))
    };
}

pub fn solve_status(r: &pb::StatusResponse) -> SolveStatus {
    let now = Timestamp::now();
    SolveStatus {
        vertexes: r
            .vertexes
            .iter()
            .map(|v| Vertex {
                digest: v.digest.clone(),
                inputs: v.inputs.clone(),
                name: v.name.clone(),
                started: ts!(v.started),
                completed: ts!(v.completed),
                cached: v.cached,
                error: v.error.clone(),
            })
            .collect(),
        statuses: r
            .statuses
            .iter()
            .map(|s| VertexStatus {
                id: s.id.clone(),
                vertex: s.vertex.clone(),
                name: s.name.clone(),
                total: s.total,
                current: s.current,
                timestamp: ts!(s.timestamp).unwrap_or(now),
                started: ts!(s.started),
                completed: ts!(s.completed),
            })
            .collect(),
        logs: r
            .logs
            .iter()
            .map(|l| VertexLog {
                vertex: l.vertex.clone(),
                stream: l.stream,
                data: l.msg.clone(),
                timestamp: ts!(l.timestamp).unwrap_or(now),
            })
            .collect(),
        warnings: r
            .warnings
            .iter()
            .map(|w| VertexWarning {
                vertex: w.vertex.clone(),
                short: w.short.clone(),
            })
            .collect(),
    }
}
