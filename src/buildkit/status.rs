//! BuildKit's progress as `buildctl`/`buildx --progress=rawjson` print it: one `SolveStatus` a
//! line (moby/buildkit `client/graph.go`). The backend converts the daemon's decoded
//! `moby.buildkit.trace` messages into these, so a live build, a recording and a CI log from
//! elsewhere all go through the same mapping.

use serde::{Deserialize, Serialize};

use crate::engine::event::Timestamp;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vertexes: Vec<Vertex>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<VertexStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<VertexLog>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<VertexWarning>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vertex {
    pub digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Progress of one job inside a vertex (`transferring context: 42B`, `writing image sha256:…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VertexStatus {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub vertex: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: i64,
    #[serde(default)]
    pub current: i64,
    pub timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Timestamp>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VertexLog {
    #[serde(default)]
    pub vertex: String,
    /// 1 = stdout, 2 = stderr.
    #[serde(default)]
    pub stream: i64,
    /// Go's `[]byte`: base64 in JSON.
    #[serde(with = "b64")]
    pub data: Vec<u8>,
    pub timestamp: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VertexWarning {
    #[serde(default)]
    pub vertex: String,
    #[serde(default, with = "b64")]
    pub short: Vec<u8>,
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: not a BuildKit SolveStatus: {source}")]
pub struct RawJsonError {
    pub line: usize,
    source: serde_json::Error,
}

/// Parses rawjson progress (one object a line; blank lines skipped).
pub fn parse_rawjson(text: &str) -> Result<Vec<SolveStatus>, RawJsonError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| RawJsonError {
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// True when the first non-blank line looks like a SolveStatus rather than a stagecraft event.
pub fn looks_like_rawjson(text: &str) -> bool {
    let Some(first) = text.lines().find(|l| !l.trim().is_empty()) else {
        return false;
    };
    match serde_json::from_str::<serde_json::Value>(first) {
        Ok(serde_json::Value::Object(map)) => {
            !map.contains_key("type")
                && ["vertexes", "statuses", "logs", "warnings"]
                    .iter()
                    .any(|k| map.contains_key(*k))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_buildctl_rawjson() {
        let line = r#"{"vertexes":[{"digest":"sha256:aa","name":"[2/2] RUN echo hi","started":"2024-01-02T03:04:05.123456Z","cached":true}],"logs":[{"vertex":"sha256:aa","stream":1,"data":"aGkK","timestamp":"2024-01-02T03:04:05.2Z"}]}"#;
        assert!(looks_like_rawjson(line));
        let s = parse_rawjson(line).expect("parse");
        assert_eq!(s[0].vertexes[0].name, "[2/2] RUN echo hi");
        assert!(s[0].vertexes[0].cached);
        assert_eq!(s[0].logs[0].data, b"hi\n");
        let back = serde_json::to_string(&s[0]).expect("serialize");
        assert_eq!(parse_rawjson(&back).expect("again"), s);
    }

    #[test]
    fn local_times_with_offsets_read_as_the_same_instants() {
        let utc = r#"{"vertexes":[{"digest":"sha256:aa","name":"x","started":"2024-01-02T03:04:05.5Z"}]}"#;
        let local = r#"{"vertexes":[{"digest":"sha256:aa","name":"x","started":"2024-01-02T05:04:05.5+02:00"}]}"#;
        assert_eq!(
            parse_rawjson(local).expect("offset"),
            parse_rawjson(utc).expect("utc")
        );
    }

    #[test]
    fn stagecraft_events_are_not_rawjson() {
        assert!(!looks_like_rawjson(
            r#"{"time":"2024-01-02T03:04:05Z","type":"build_started","plan":{}}"#
        ));
        assert!(parse_rawjson("{\"vertexes\": 3}").is_err());
    }
}
