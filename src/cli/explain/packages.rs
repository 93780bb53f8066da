//! `explain`'s package sections: bytes by package with the layer (and Dockerfile line) that
//! installed each, files no package owns by directory, and packages removed later.

use std::fmt::Write as _;

use crate::analyze::Report;
use crate::analyze::hints::user_text;
use crate::ui::progress::human_bytes;

/// `layer 3 (line 7 `RUN apt-get …`)`, or the layer's history text when no build tells.
pub fn layer_label(r: &Report, layer: usize) -> String {
    let Some(l) = r.layers.get(layer) else {
        return format!("layer {layer}");
    };
    let (line, text) = match &l.step {
        Some(s) if s.line > 0 => (format!("line {} ", s.line), s.text.clone()),
        _ => (String::new(), user_text(&l.created_by)),
    };
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("layer {layer} ({line}`{short}`)")
}

pub fn render(out: &mut String, r: &Report, top: usize) {
    let p = &r.packages;
    if p.packages.is_empty() && p.notes.is_empty() {
        return;
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for pkg in &p.packages {
        match counts.iter_mut().find(|(m, _)| m == pkg.manager.name()) {
            Some(c) => c.1 += 1,
            None => counts.push((pkg.manager.name().to_string(), 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(m, n)| format!("{n} {m}")).collect();
    let _ = writeln!(out, "\nPackages ({}), largest first:", counts.join(", "));
    let shown = if top == 0 { p.packages.len() } else { top };
    for pkg in p.packages.iter().take(shown) {
        let changed = pkg
            .changed_in_layer
            .map(|l| format!(", changed by {}", layer_label(r, l)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:>9}  {} {} ({})  {}{changed}",
            human_bytes(pkg.bytes),
            pkg.name,
            pkg.version,
            pkg.manager.name(),
            layer_label(r, pkg.layer)
        );
    }
    if p.packages.len() > shown {
        let rest: u64 = p.packages[shown..].iter().map(|x| x.bytes).sum();
        let _ = writeln!(
            out,
            "  {:>9}  ({} more packages; --top 0 shows all)",
            human_bytes(rest),
            p.packages.len() - shown
        );
    }
    if !p.unowned.is_empty() {
        let _ = writeln!(out, "\nFiles no package owns, by directory:");
        for u in p.unowned.iter().take(shown) {
            let _ = writeln!(
                out,
                "  {:>9}  {} ({} files)",
                human_bytes(u.bytes),
                u.dir,
                u.files
            );
        }
    }
    for removed in &p.removed {
        let _ = writeln!(
            out,
            "  removed later: {} {} ({}), installed by {}, removed by {}: {} still stored",
            removed.name,
            removed.version,
            removed.manager.name(),
            layer_label(r, removed.layer),
            layer_label(r, removed.removed_in_layer),
            human_bytes(removed.bytes)
        );
    }
    for note in &p.notes {
        let _ = writeln!(out, "  note: {note}");
    }
}
