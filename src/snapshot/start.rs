//! What `main` does first, before any thread: the user namespace (rootless), the private mount
//! namespace, then the snapshotter this process will use.

use super::backend::choose_at_start;
use super::namespace::{enter_private_mount_namespace, record_at_start};

/// Called first thing in `main`. A regular user first enters a user namespace of its own
/// (`rootless`). Failing here is not fatal: commands that never mount still work, and
/// [`ensure_private`] reports this cause when something wants to mount. Returns warnings for
/// the user (a rootless run without a subordinate ID range).
pub fn enter_at_process_start() -> Vec<String> {
    let mut warnings = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        match crate::rootless::enter_user_namespace() {
            Ok(w) => warnings = w,
            Err(e) => {
                record_at_start(e.to_string());
                return warnings;
            }
        }
    }
    let outcome = match enter_private_mount_namespace() {
        Ok(()) => {
            warnings.extend(choose_at_start());
            "entered".to_string()
        }
        Err(e) => e.to_string(),
    };
    record_at_start(outcome);
    warnings
}
