//! `stagecraft explain [IMAGE | --last]`: layer sizes, dive's efficiency and wasted bytes, the
//! largest files, files deleted or overwritten later, duplicates, secrets and hints.

use std::fmt::Write as _;
use std::process::ExitCode;

use miette::{IntoDiagnostic, Result, miette};
use serde::Serialize;

use super::args::{ExplainArgs, Format};
use super::ci::{failed, render as render_ci};
use crate::analyze::ci::RuleResult;
use crate::analyze::dive_export::dive_export;
use crate::analyze::layers::index_layers;
use crate::analyze::stages::stage_shares;
use crate::analyze::{Report, explain, layer_steps};
use crate::cli::Global;
use crate::engine::lookup::resolve_target;
use crate::store::BuildRecord;
use crate::store::Store;
use crate::ui::progress::human_bytes;

#[derive(Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    ci: Option<&'a [RuleResult]>,
}

/// What to explain: an image of the store, or the last build's target or one of its stages
/// (`builder`, `builder/3`), with the build record when it is one of the build's.
fn choose(store: &Store, args: &ExplainArgs) -> Result<(String, Option<BuildRecord>)> {
    let named = args.stage.clone().or_else(|| args.image.clone());
    let record = store.last_build()?;
    let Some(name) = named else {
        let r =
            record.ok_or_else(|| miette!("no build recorded in {} yet", store.root().display()))?;
        let image = r
            .image
            .clone()
            .ok_or_else(|| miette!("the last build failed: it made no image"))?;
        return Ok((image, Some(r)));
    };
    let stage = name.rsplit_once('/').map_or(name.as_str(), |(s, _)| s);
    let record = record.filter(|r| r.stages.iter().any(|s| s.label == stage));
    Ok((name, record))
}

/// Ties each layer to its build step and adds the per-stage cost table.
fn add_build(
    store: &Store,
    r: &BuildRecord,
    stage: Option<&str>,
    report: &mut Report,
) -> Result<()> {
    let steps = layer_steps(store, r, stage)?;
    for (layer, step) in report.layers.iter_mut().zip(steps) {
        layer.step = Some(step);
    }
    report.stages = Some(match stage {
        Some(s) if s != r.target => {
            let image = r.image.as_deref().unwrap_or_default();
            let target = resolve_target(store, image)?;
            let layers = index_layers(store, &target.layers, &target.config)?;
            stage_shares(store, r, &layers)?
        }
        _ => stage_shares(store, r, &report.layers)?,
    });
    Ok(())
}

pub fn run(global: &Global, args: ExplainArgs) -> Result<ExitCode> {
    let store = Store::open(&global.store_root())?;
    let (target, record) = choose(&store, &args)?;
    let resolved = resolve_target(&store, &target)?;
    // dive's export lists every inefficient path.
    let top = if args.format == Format::DiveJson {
        0
    } else {
        args.top
    };
    let mut report = explain(
        &store,
        &resolved.label,
        &resolved.layers,
        &resolved.config,
        top,
    )?;
    args.ci.allow(&mut report)?;
    if let Some(r) = &record {
        let stage = (args.stage.is_some() || args.image.is_some())
            .then(|| target.rsplit_once('/').map_or(target.as_str(), |(s, _)| s));
        add_build(&store, r, stage, &mut report)?;
    }
    let ci = if args.ci.ci {
        Some(args.ci.evaluate(&report)?)
    } else {
        None
    };
    let out = match args.format {
        Format::Json => json(&JsonOut {
            report: &report,
            ci: ci.as_deref(),
        })?,
        Format::DiveJson => json(&dive_export(&report))?,
        Format::Text => {
            let mut s = render(&report, args.top);
            if let Some(results) = &ci {
                let _ = writeln!(s, "\nCI rules:");
                s.push_str(&render_ci(results));
            }
            s
        }
    };
    // Paths, instruction text and findings come from images and Dockerfiles.
    print!("{}", crate::ui::visible::visible(&out));
    Ok(match ci {
        Some(results) if failed(&results) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

fn json(value: &impl Serialize) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value).into_diagnostic()?;
    s.push('\n');
    Ok(s)
}

fn short(created_by: &str, max: usize) -> String {
    let text = crate::analyze::hints::user_text(created_by);
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

pub fn render(r: &Report, top: usize) -> String {
    let e = &r.efficiency;
    let mut out = String::new();
    let compressed: u64 = r.layers.iter().map(|l| l.compressed_size).sum();
    let _ = writeln!(
        out,
        "{}: {} layers, {} of files ({} compressed)",
        r.image,
        r.layers.len(),
        human_bytes(e.size),
        human_bytes(compressed)
    );
    let _ = writeln!(
        out,
        "efficiency {:.2}%, wasted {}, {:.1}% of the {} added above the base layer",
        e.score * 100.0,
        human_bytes(e.wasted_bytes),
        e.user_wasted_percent * 100.0,
        human_bytes(e.user_size)
    );
    let _ = writeln!(out, "\nLayers:");
    let _ = writeln!(
        out,
        "  {:>3}  {:>9}  {:>10}  CREATED BY",
        "#", "SIZE", "COMPRESSED"
    );
    for l in &r.layers {
        let _ = writeln!(
            out,
            "  {:>3}  {:>9}  {:>10}  {}",
            l.index,
            human_bytes(l.size),
            human_bytes(l.compressed_size),
            short(&l.created_by, 70)
        );
    }
    if let Some(stages) = &r.stages {
        let _ = writeln!(out, "\nStages (share of each that reached the image):");
        for s in stages {
            let _ = writeln!(
                out,
                "  {:<16} {:>9}  {:>5.1}% shipped ({})",
                s.stage,
                human_bytes(s.size),
                s.share * 100.0,
                human_bytes(s.shipped_bytes)
            );
        }
    }
    super::packages::render(&mut out, r, top);
    if !r.secrets.is_empty() {
        let _ = writeln!(out, "\nSecrets ({}):", r.secrets.len());
        for s in &r.secrets {
            let gone = if s.in_final_image {
                ""
            } else {
                " (deleted later, still in the layer)"
            };
            let (mark, allowed) = if s.allowed {
                (" ", " (allowed)")
            } else {
                ("!", "")
            };
            let _ = writeln!(
                out,
                "  {mark} {} in {}: {}  {:?} confidence, layer {} `{}`{gone}{allowed}",
                s.found.kind,
                s.path,
                s.found.excerpt,
                s.found.confidence,
                s.layer,
                short(&s.created_by, 50)
            );
        }
    }
    if !r.hints.is_empty() {
        let _ = writeln!(out, "\nHints (bytes to save):");
        for h in &r.hints {
            let _ = writeln!(out, "  {:>9}  {}", human_bytes(h.bytes), h.message);
        }
    }
    if !r.largest_files.is_empty() {
        let _ = writeln!(out, "\nLargest files:");
        for f in &r.largest_files {
            let _ = writeln!(
                out,
                "  {:>9}  {}  (layer {})",
                human_bytes(f.size),
                f.path,
                f.layer
            );
        }
    }
    if !r.shadowed_files.is_empty() {
        let _ = writeln!(out, "\nDeleted or overwritten by a later layer:");
        for s in &r.shadowed_files {
            let how = match s.how {
                crate::analyze::stack::How::Deleted => "deleted",
                crate::analyze::stack::How::Overwritten => "overwritten",
            };
            let _ = writeln!(
                out,
                "  {:>9}  {}  added in layer {}, {how} in layer {}",
                human_bytes(s.size),
                s.path,
                s.layer,
                s.by_layer
            );
        }
    }
    if !r.duplicates.is_empty() {
        let _ = writeln!(out, "\nDuplicated content:");
        for d in &r.duplicates {
            let copies: Vec<String> = d
                .copies
                .iter()
                .map(|c| format!("{} (layer {})", c.path, c.layer))
                .collect();
            let _ = writeln!(
                out,
                "  {:>9}  {}× {}: {}",
                human_bytes(d.wasted_bytes),
                d.copies.len(),
                human_bytes(d.size),
                copies.join(", ")
            );
        }
    }
    if e.inefficiencies.iter().any(|i| i.cumulative_size > 0) {
        let _ = writeln!(out, "\nInefficient paths (dive: in several layers):");
        for i in e.inefficiencies.iter().filter(|i| i.cumulative_size > 0) {
            let _ = writeln!(
                out,
                "  {:>9}  {}×  {}",
                human_bytes(i.cumulative_size),
                i.count,
                i.path
            );
        }
    }
    out
}
