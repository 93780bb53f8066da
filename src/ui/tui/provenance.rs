//! Provenance in the layer tree: when the tree shows the final stage's filesystem after a finished
//! build, every file gets the stage/step/line that put it there (following `COPY --from` back, from
//! `analyze::provenance`, read off the UI thread), and `p` (or Enter on a file) opens the full chain.

use super::model::{Layer, Model};
use super::msg::Effect;
use super::state::overlay::Overlay;
use super::tree::EntryKind;
use crate::analyze::Hop;

pub use super::state::provenance::{Origins, ProvenanceKey, ProvenancePopup, ProvenanceState};

/// The build and stage whose provenance the open tree can show: the target stage's last step,
/// once the build has finished (its record holds the layers provenance reads).
pub fn wanted_key(m: &Model) -> Option<ProvenanceKey> {
    let Layer::Ready(view) = &m.layer else {
        return None;
    };
    m.build.finished.as_ref()?;
    let target = m.build.target.as_ref()?;
    let stage = &m.build.stages[m.build.stage_index(target)?];
    let last = stage.steps.last()?;
    (view.step == last.step).then(|| ProvenanceKey {
        build_id: m.build.build_id.clone().unwrap_or_default(),
        stage: target.clone(),
    })
}

/// Asks for the provenance the open tree can show, once per build and stage.
pub fn request(m: &mut Model) -> Option<Effect> {
    let key = wanted_key(m)?;
    if m.provenance.as_ref().is_some_and(|p| *p.key() == key) {
        return None;
    }
    m.provenance = Some(ProvenanceState::Loading(key.clone()));
    Some(Effect::LoadProvenance(key))
}

pub fn loaded(m: &mut Model, key: ProvenanceKey, result: Result<Origins, String>) {
    if !matches!(&m.provenance, Some(ProvenanceState::Loading(k)) if *k == key) {
        return;
    }
    m.provenance = Some(match result {
        Ok(origins) => ProvenanceState::Ready(key, origins),
        Err(e) => ProvenanceState::Failed(key, e),
    });
}

/// The origins for the open tree, when they are this tree's.
pub fn origins(m: &Model) -> Option<&Origins> {
    let key = wanted_key(m)?;
    match &m.provenance {
        Some(ProvenanceState::Ready(k, origins)) if *k == key => Some(origins),
        _ => None,
    }
}

/// The selected row of the tree: its path, if it is not a directory.
fn selected_file(m: &Model) -> Option<String> {
    let Layer::Ready(view) = &m.layer else {
        return None;
    };
    let id = view.selected_node()?;
    (view.tree.node(id).kind != EntryKind::Dir).then(|| view.tree.path(id))
}

/// `p` on a file of the tree: the popup with its chain, or a notice why there is none.
pub fn open_popup(m: &mut Model) -> Vec<Effect> {
    let Some(path) = selected_file(m) else {
        m.notice = Some("p shows where a file came from: select a file in the layer tree".into());
        return Vec::new();
    };
    let Some(key) = wanted_key(m) else {
        m.notice =
            Some("provenance covers the target stage's last step after the build finished".into());
        return Vec::new();
    };
    match &m.provenance {
        Some(ProvenanceState::Ready(k, origins)) if *k == key => {
            m.overlay = Overlay::Provenance(ProvenancePopup {
                hops: origins.get(&path).cloned().unwrap_or_default(),
                path,
            });
        }
        Some(ProvenanceState::Failed(k, e)) if *k == key => {
            m.notice = Some(format!("no provenance: {e}"));
        }
        _ => m.notice = Some("provenance is still being read".into()),
    }
    Vec::new()
}

/// Whether Enter on the tree's selection opens the popup (a file, with provenance shown).
pub fn enter_opens(m: &Model) -> bool {
    selected_file(m).is_some() && origins(m).is_some()
}

/// `stage/step L12` of the file's origin; `⇐` when it came through `COPY --from`.
pub fn column(hops: &[Hop]) -> String {
    match hops.last() {
        None => String::new(),
        Some(origin) => format!(
            "{}{}/{} L{}",
            if hops.len() > 1 { "⇐ " } else { "" },
            origin.stage,
            origin.step,
            origin.line
        ),
    }
}
