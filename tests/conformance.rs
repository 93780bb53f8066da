//! Runs the external conformance data (BuildKit's parser and shell-expansion cases and 70
//! real-world Dockerfiles with BuildKit's own parse) and prints one summary line:
//! `conformance: parser 33/33, negative 4/4, shell N/N, real-world 70/70`.
//!
//! Data: `tests/data/conformance/` (vendored; see its SOURCE.md files), or the directory in
//! `STAGECRAFT_CONFORMANCE_DIR`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use stagecraft::frontend::shell::{Lexer, Vars};
use stagecraft::frontend::{self, PlanOptions, syntax};

fn data_dir() -> PathBuf {
    match std::env::var_os("STAGECRAFT_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance"),
    }
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn dump(source: &str) -> Result<String, String> {
    let ast = syntax::parse(source).map_err(|e| e.message)?;
    Ok(ast
        .instructions
        .iter()
        .map(|p| p.node.dump() + "\n")
        .collect())
}

struct Tally {
    name: &'static str,
    pass: usize,
    total: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            pass: 0,
            total: 0,
            failures: Vec::new(),
        }
    }
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.total += 1;
        if ok {
            self.pass += 1;
        } else {
            self.failures.push(what());
        }
    }
}

fn parser_positive(root: &Path) -> Tally {
    let mut t = Tally::new("parser");
    for case in sorted_dirs(&root.join("buildkit-parser/testfiles")) {
        let source = fs::read_to_string(case.join("Dockerfile")).unwrap();
        let expected = fs::read_to_string(case.join("result")).unwrap();
        let got = dump(&source);
        t.check(got.as_deref() == Ok(expected.as_str()), || {
            format!(
                "{}:\n  expected:\n{expected}  got:\n{got:?}",
                case.display()
            )
        });
    }
    t
}

fn parser_negative(root: &Path) -> Tally {
    let mut t = Tally::new("negative");
    for case in sorted_dirs(&root.join("buildkit-parser/testfiles-negative")) {
        let source = fs::read_to_string(case.join("Dockerfile")).unwrap();
        let got = dump(&source);
        t.check(got.is_err(), || {
            format!("{}: accepted: {got:?}", case.display())
        });
    }
    t
}

fn shell(root: &Path) -> Tally {
    let mut t = Tally::new("shell");
    let dir = root.join("buildkit-shell");
    let lex = Lexer::new('\\');

    let env: BTreeMap<String, String> = [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for line in fs::read_to_string(dir.join("envVarTest")).unwrap().lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(fields.len(), 3, "bad envVarTest line {line:?}");
        if fields[0] == "W" {
            continue;
        }
        let got = lex.process(fields[1], &env).map(|e| e.word);
        let ok = match fields[2] {
            "error" => got.is_err(),
            want => got.as_deref() == Ok(want),
        };
        t.check(ok, || {
            format!(
                "envVarTest {:?}: expected {:?}, got {got:?}",
                fields[1], fields[2]
            )
        });
    }

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for line in fs::read_to_string(dir.join("wordsTest")).unwrap().lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(kv) = line.strip_prefix("ENV ") {
            let (k, v) = kv.split_once('=').unwrap();
            env.insert(k.to_string(), v.to_string());
            continue;
        }
        let (input, expected) = line.split_once('|').unwrap();
        let input = input.trim();
        let expected = expected.trim_start_matches(' ');
        let got = lex.process(input, &env).map(|e| e.words);
        let ok = match expected {
            "error" => got.is_err(),
            want => got.as_ref().is_ok_and(|w| w.join(",") == want),
        };
        t.check(ok, || {
            format!("wordsTest {input:?}: expected {expected:?}, got {got:?}")
        });
    }

    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(dir.join("processWordWithMatches.json")).unwrap())
            .unwrap();
    for c in cases {
        let input = c["input"].as_str().unwrap();
        let envs: BTreeMap<String, String> = c["envs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let got = lex.process(input, &envs as &dyn Vars);
        let names = |key: &str| -> Option<Vec<String>> {
            c.get(key).map(|v| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            })
        };
        let ok = if c["expectedErr"].as_bool().unwrap() {
            match (&got, c.get("expectedErrContains").and_then(|v| v.as_str())) {
                (Err(e), Some(part)) => e.to_string().contains(part),
                (Err(_), None) => true,
                (Ok(_), _) => false,
            }
        } else {
            got.as_ref().is_ok_and(|e| {
                e.word == c["expected"].as_str().unwrap()
                    && names("matches")
                        .is_none_or(|m| m == e.matched.iter().cloned().collect::<Vec<_>>())
                    && names("unmatched")
                        .is_none_or(|m| m == e.unmatched.iter().cloned().collect::<Vec<_>>())
            })
        };
        t.check(ok, || {
            format!("processWordWithMatches {input:?} {c}: got {got:?}")
        });
    }
    t
}

/// Each real-world file must dump exactly like BuildKit, with the same line ranges and heredoc
/// bodies, and must pass our instruction rules and planning (BuildKit builds all of them).
fn real_world(root: &Path) -> Tally {
    let mut t = Tally::new("real-world");
    let dir = root.join("real-world");
    let mut asts: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for line in fs::read_to_string(dir.join("expected/buildkit-ast.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        asts.insert(v["file"].as_str().unwrap().to_string(), v);
    }
    for path in sorted_dirs(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".Dockerfile") && !name.ends_with(".dockerfile") || path.is_dir() {
            continue;
        }
        let source = fs::read_to_string(&path).unwrap();
        let expected =
            fs::read_to_string(dir.join("expected").join(format!("{name}.result"))).unwrap();
        let problem = check_real_world(&source, &expected, asts.get(&name), &path);
        t.check(problem.is_none(), || {
            format!("{name}: {}", problem.unwrap_or_default())
        });
    }
    t
}

fn check_real_world(
    source: &str,
    expected: &str,
    ast: Option<&serde_json::Value>,
    path: &Path,
) -> Option<String> {
    match dump(source) {
        Err(e) => return Some(format!("parse error: {e}")),
        Ok(got) if got != expected => {
            let diff: Vec<String> = got
                .lines()
                .zip(expected.lines())
                .filter(|(a, b)| a != b)
                .take(2)
                .map(|(a, b)| format!("\n  got      {a}\n  expected {b}"))
                .collect();
            return Some(format!(
                "dump differs ({} vs {} lines){}",
                got.lines().count(),
                expected.lines().count(),
                diff.concat()
            ));
        }
        Ok(_) => {}
    }
    let parsed = syntax::parse(source).unwrap();
    if let Some(ast) = ast {
        for (i, (p, want)) in parsed
            .instructions
            .iter()
            .zip(ast["instructions"].as_array().unwrap())
            .enumerate()
        {
            let lines = (p.raw.start_line as u64, p.raw.end_line as u64);
            if lines
                != (
                    want["start"].as_u64().unwrap(),
                    want["end"].as_u64().unwrap(),
                )
            {
                return Some(format!(
                    "instruction {i}: lines {lines:?}, BuildKit {}-{}",
                    want["start"], want["end"]
                ));
            }
            let bodies = want
                .get("heredoc_bodies")
                .and_then(|b| b.as_array())
                .cloned()
                .unwrap_or_default();
            if bodies.len() != p.raw.heredocs.len() {
                return Some(format!(
                    "instruction {i}: {} heredocs, BuildKit {}",
                    p.raw.heredocs.len(),
                    bodies.len()
                ));
            }
            for (h, b) in p.raw.heredocs.iter().zip(&bodies) {
                if h.header.name != b["name"].as_str().unwrap_or_default()
                    || h.content != b["content"].as_str().unwrap_or_default()
                    || h.header.expand != b["expand"].as_bool().unwrap_or_default()
                    || h.header.chomp != b["chomp"].as_bool().unwrap_or_default()
                {
                    return Some(format!(
                        "instruction {i}: heredoc {:?} differs from BuildKit's {b}",
                        h.header.name
                    ));
                }
            }
        }
    }
    let dockerfile = match frontend::parse_dockerfile(source, path) {
        Ok(d) => d,
        Err(e) => return Some(format!("instruction rules: {e}")),
    };
    if let Err(e) = frontend::plan(&dockerfile, &PlanOptions::default()) {
        return Some(format!("plan: {e}"));
    }
    None
}

#[test]
fn conformance() {
    let root = data_dir();
    let tallies = [
        parser_positive(&root),
        parser_negative(&root),
        shell(&root),
        real_world(&root),
    ];
    let line: Vec<String> = tallies
        .iter()
        .map(|t| format!("{} {}/{}", t.name, t.pass, t.total))
        .collect();
    // Written to the process's stderr directly, so the line shows even when the harness captures output.
    let summary = format!("conformance: {}\n", line.join(", "));
    let _ = std::io::Write::write_all(&mut std::io::stderr(), summary.as_bytes());
    let failures: Vec<&String> = tallies.iter().flat_map(|t| &t.failures).collect();
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        tallies.iter().all(|t| t.total > 0),
        "no conformance data found in {}",
        root.display()
    );
    assert!(
        failures.is_empty(),
        "{} conformance failures (see above)",
        failures.len()
    );
}
