//! Building image configs step by step: what the engine does to its stage's config as it
//! commits layers and metadata-only steps.

use oci_spec::image::{
    Arch, Digest, History, HistoryBuilder, ImageConfiguration, ImageConfigurationBuilder, Os,
};

use super::platform;

/// The config of `FROM scratch` for `os/arch` (default: linux and the host's arch).
pub fn scratch(os: Option<Os>, arch: Option<Arch>) -> ImageConfiguration {
    let mut config = ImageConfiguration::default();
    config.set_os(os.unwrap_or(Os::Linux));
    config.set_architecture(arch.unwrap_or_else(platform::host_arch));
    config
}

fn entry(created: &str, created_by: &str, empty: bool) -> History {
    let mut h = HistoryBuilder::default()
        .created(created.to_string())
        .created_by(created_by.to_string())
        .build()
        .unwrap_or_default();
    if empty {
        h.set_empty_layer(Some(true));
    }
    h
}

/// Records a step that produced a layer: its diff_id goes to `rootfs.diff_ids` and a history
/// entry (`created`: RFC 3339) to `history`.
pub fn push_layer(
    config: &mut ImageConfiguration,
    diff_id: &Digest,
    created: &str,
    created_by: &str,
) {
    config.rootfs_mut().diff_ids_mut().push(diff_id.to_string());
    config
        .history_mut()
        .get_or_insert_with(Vec::new)
        .push(entry(created, created_by, false));
    config.set_created(Some(created.to_string()));
}

/// Records a step that only changed metadata (ENV, CMD, …): a history entry with `empty_layer`.
pub fn push_empty(config: &mut ImageConfiguration, created: &str, created_by: &str) {
    config
        .history_mut()
        .get_or_insert_with(Vec::new)
        .push(entry(created, created_by, true));
    config.set_created(Some(created.to_string()));
}

/// A config for a new image built on `parent` (a copy; `created` is updated by the pushes).
pub fn derive(parent: &ImageConfiguration) -> ImageConfiguration {
    let mut c = parent.clone();
    if c.rootfs().typ().is_empty() {
        c.rootfs_mut().set_typ("layers".to_string());
    }
    c
}

/// A builder preset for the host platform, for callers that want to set more fields.
pub fn builder() -> ImageConfigurationBuilder {
    ImageConfigurationBuilder::default()
        .os(Os::Linux)
        .architecture(platform::host_arch())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest::of_bytes;

    #[test]
    fn layers_and_empty_steps_line_up() {
        let mut c = scratch(None, Some(Arch::ARM64));
        push_layer(&mut c, &of_bytes(b"l1"), "2024-01-01T00:00:00Z", "COPY . /");
        push_empty(&mut c, "2024-01-01T00:00:01Z", "ENV A=1");
        push_layer(&mut c, &of_bytes(b"l2"), "2024-01-01T00:00:02Z", "RUN make");
        assert_eq!(c.rootfs().diff_ids().len(), 2);
        let h = c.history().clone().unwrap_or_default();
        assert_eq!(h.len(), 3);
        assert_eq!(h[1].empty_layer(), Some(true));
        assert_eq!(h[2].empty_layer(), None);
        assert_eq!(c.created().as_deref(), Some("2024-01-01T00:00:02Z"));
        assert_eq!(c.architecture(), &Arch::ARM64);
        let json = serde_json::to_string(&c).expect("serialize");
        assert!(json.contains(r#""type":"layers""#), "{json}");
    }
}
