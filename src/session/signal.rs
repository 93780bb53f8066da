//! The signals that end a session.

/// Waits for SIGINT, SIGTERM or SIGHUP; true when one came. Each cancels the build so the running
/// container is killed and deleted and mounts are undone (the default SIGTERM action would leave
/// the runtime's container running).
pub async fn cancel_signal() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return tokio::signal::ctrl_c().await.is_ok();
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.is_ok(),
        _ = term.recv() => true,
        _ = hup.recv() => true,
    }
}
