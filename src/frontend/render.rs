//! Human renderings of a `BuildPlan`: a text tree for people learning multi-stage builds, and
//! Graphviz dot.

use std::fmt::Write as _;

use super::instruction::{Heredoc, Instruction, Op, Source};
use super::plan::{BuildPlan, DepSource, Stage, StageBase};

fn base_text(s: &Stage) -> String {
    match &s.base {
        StageBase::Image(r) => format!("FROM {r} (image)"),
        StageBase::Stage(n) => format!("FROM {n} (stage)"),
        StageBase::Scratch(_) => "FROM scratch (empty)".into(),
    }
}

fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= max && !text.contains('\n') {
        return line.to_string();
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Edges as (from, to stage index, how): from the typed deps when present, else `depends_on`.
fn edges(plan: &BuildPlan) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for s in &plan.stages {
        if let StageBase::Image(r) = &s.base {
            out.push((format!("image:{r}"), s.index, "FROM".to_string()));
        }
        if s.deps.is_empty() {
            for d in &s.depends_on {
                out.push((d.clone(), s.index, String::new()));
            }
            continue;
        }
        for d in &s.deps {
            let from = match &d.source {
                DepSource::Stage(i) => plan
                    .stages
                    .get(*i)
                    .map_or_else(|| i.to_string(), Stage::label),
                DepSource::Image(r) => format!("image:{r}"),
            };
            let step = s.steps.get(d.step);
            let how = match step {
                Some(st) if d.step == 0 => format!("FROM, line {}", st.line),
                Some(st) if st.instruction == "RUN" => {
                    format!("RUN --mount=from, step {}, line {}", d.step, st.line)
                }
                Some(st) => format!(
                    "{} --from, step {}, line {}",
                    st.instruction, d.step, st.line
                ),
                None => String::new(),
            };
            out.push((from, s.index, how));
        }
    }
    out
}

pub fn text(plan: &BuildPlan) -> String {
    let mut o = String::new();
    let needed = plan.stages.iter().filter(|s| s.needed).count();
    let _ = writeln!(
        o,
        "target: {}  (builds {needed} of {} stages)",
        plan.target,
        plan.stages.len()
    );
    if !plan.args.global_names.is_empty() {
        let globals: Vec<String> = plan
            .args
            .global_names
            .iter()
            .map(|n| match plan.args.meta.get(n) {
                Some(v) => format!("{n}={v}"),
                None => format!("{n} (unset)"),
            })
            .collect();
        let _ = writeln!(
            o,
            "global ARGs (seen by FROM lines; re-declare inside a stage to use): {}",
            globals.join(" ")
        );
    }
    for s in &plan.stages {
        let name = s
            .name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        let status = match &s.skip_reason {
            Some(r) => format!("  -- skipped: {r}"),
            None if s.label() == plan.target => "  <- target".to_string(),
            None => String::new(),
        };
        let _ = writeln!(o, "\nstage {}{name}: {}{status}", s.index, base_text(s));
        for st in &s.steps {
            let feeds: Vec<String> = s
                .deps
                .iter()
                .filter(|d| d.step == st.index && st.index > 0)
                .map(|d| match &d.source {
                    DepSource::Stage(i) => plan
                        .stages
                        .get(*i)
                        .map_or_else(|| i.to_string(), Stage::label),
                    DepSource::Image(r) => format!("image {r}"),
                })
                .collect();
            let from = if feeds.is_empty() {
                String::new()
            } else {
                format!("  <- reads {}", feeds.join(", "))
            };
            let _ = writeln!(
                o,
                "  {:>2}  {:<60} line {}{from}",
                st.index,
                short(&st.text, 60),
                st.line
            );
            if let Some(i) = s.instructions.get(st.index) {
                for (name, lines) in heredocs(i) {
                    let _ = writeln!(o, "      + heredoc {name}: {lines} line(s)");
                }
            }
        }
    }
    let _ = writeln!(o, "\nwho feeds whom:");
    for (from, to, how) in edges(plan) {
        let to_stage = &plan.stages[to];
        let how = if how.is_empty() {
            String::new()
        } else {
            format!("  ({how})")
        };
        let skipped = if to_stage.needed { "" } else { "  [skipped]" };
        let _ = writeln!(o, "  {from} -> {}{how}{skipped}", to_stage.label());
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(o, "\nwarnings:");
        for w in &plan.warnings {
            let _ = writeln!(o, "  {w}");
        }
    }
    o
}

/// Heredoc bodies an instruction carries: (delimiter, line count).
fn heredocs(i: &Instruction) -> Vec<(String, usize)> {
    let docs: Vec<&Heredoc> = match &i.op {
        Op::Run(r) => r.heredocs.iter().collect(),
        Op::Copy(c) | Op::Add(c) => c
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Heredoc(h) => Some(h),
                Source::Path(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    docs.into_iter()
        .map(|h| (h.name.clone(), h.content.lines().count()))
        .collect()
}

fn quote(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

pub fn dot(plan: &BuildPlan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "digraph plan {{");
    let _ = writeln!(o, "  rankdir=LR;");
    let _ = writeln!(
        o,
        "  node [shape=box, style=rounded, fontname=\"monospace\"];"
    );
    let mut images: Vec<String> = Vec::new();
    for s in &plan.stages {
        let label = format!("{}\n{}\n{} steps", s.label(), base_text(s), s.steps.len());
        let mut attrs = format!("label={}", quote(&label));
        if !s.needed {
            attrs.push_str(", style=\"rounded,dashed\", color=gray, fontcolor=gray");
        }
        if s.label() == plan.target {
            attrs.push_str(", penwidth=2");
        }
        let _ = writeln!(o, "  {} [{attrs}];", quote(&format!("stage:{}", s.label())));
    }
    for (from, to, how) in edges(plan) {
        let src = if from.starts_with("image:") {
            if !images.contains(&from) {
                images.push(from.clone());
            }
            from
        } else {
            format!("stage:{from}")
        };
        let label = how.split(',').next().unwrap_or_default();
        let _ = writeln!(
            o,
            "  {} -> {} [label={}];",
            quote(&src),
            quote(&format!("stage:{}", plan.stages[to].label())),
            quote(label)
        );
    }
    for img in images {
        let label = img.trim_start_matches("image:");
        let _ = writeln!(
            o,
            "  {} [label={}, shape=cylinder];",
            quote(&img),
            quote(label)
        );
    }
    let _ = writeln!(o, "}}");
    o
}
