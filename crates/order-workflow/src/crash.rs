//! Crash-injection points for the end-to-end tests (debug builds only; nothing in release).
//!
//! With `ISSUANCE_DESK_CRASH_AT=<point>`, the desk stops at that point of an order, writes its
//! process id to the file named by `ISSUANCE_DESK_CRASH_MARKER` (atomically: a temporary file
//! renamed into place, so a reader never sees it half written), and waits there for the test
//! to kill it with SIGKILL: a real crash at a known moment, not a simulated one.

/// After the intent is journalled, before anything is sent.
pub const INTENT_RECORDED: &str = "intent_recorded";
/// After the journal says "sending", before the request leaves.
pub const SENDING: &str = "sending";
/// After D1 answered 202, before the journal records it.
pub const ACCEPTED_UNRECORDED: &str = "accepted_unrecorded";

#[cfg(debug_assertions)]
pub(crate) fn point(name: &str) {
    if desk_config::dev_hooks::crash_at().as_deref() != Some(name) {
        return;
    }
    tracing::warn!(point = name, "crash point reached: waiting to be killed");
    if let Some(marker) = desk_config::dev_hooks::crash_marker() {
        let mut partial = marker.clone().into_os_string();
        partial.push(".partial");
        if std::fs::write(&partial, std::process::id().to_string()).is_ok() {
            let _ = std::fs::rename(&partial, &marker);
        }
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[cfg(not(debug_assertions))]
pub(crate) fn point(_name: &str) {}
