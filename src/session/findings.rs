//! What explain finds in a lesson's image, a line each, for the run table and the printed walk.

use std::sync::Arc;

use crate::engine;
use crate::store::Store;

/// Wasted bytes, secrets and the file count of `image`; an error becomes the one line.
pub async fn findings(store: Arc<Store>, image: String) -> Vec<String> {
    let work = tokio::task::spawn_blocking(move || explain_lines(&store, &image));
    match work.await {
        Ok(Ok(lines)) => lines,
        Ok(Err(e)) => vec![format!("explain failed: {e}")],
        Err(e) => vec![format!("explain failed: {e}")],
    }
}

fn explain_lines(store: &Store, image: &str) -> Result<Vec<String>, String> {
    let resolved = engine::lookup::resolve_target(store, image).map_err(|e| e.to_string())?;
    let report = crate::analyze::report::explain(
        store,
        &resolved.label,
        &resolved.layers,
        &resolved.config,
        0,
    )
    .map_err(|e| e.to_string())?;
    let mut out = vec![format!(
        "{} files, {} wasted (explain)",
        report.largest_files.len(),
        crate::ui::tui::format::size(report.efficiency.wasted_bytes)
    )];
    for s in &report.secrets {
        out.push(format!(
            "secret: {} in {} (layer {}{})",
            s.found.kind,
            s.path,
            s.layer,
            if s.in_final_image {
                ""
            } else {
                ", deleted later, still in the layer"
            }
        ));
    }
    if report.secrets.is_empty() {
        out.push("no secrets in any layer".into());
    }
    Ok(out)
}
