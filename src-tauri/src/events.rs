//! Typed events between the window and the shell.

use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::state::AppState;

/// An order changed: its state, its production status, or the journal took a write it had
/// refused. The window asks again about it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct OrderChanged {
    /// `null`: any order may have changed (reload the list once).
    pub card_id: Option<order_workflow::CardId>,
}

/// The branch ledger's state changed (for the status bar).
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct LedgerChanged(pub order_workflow::LedgerStatus);

/// The branch's approvals or exceptions changed (`kind`: `approval` or `exception`): the
/// Approvals view, its badge and the exceptions list read them again.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct CounterChanged {
    pub kind: String,
}

/// Emitted by the UI once the first screen is interactive.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct UiReady;

pub fn listen(app: &AppHandle, state: AppState) {
    UiReady::listen(app, move |_| {
        let Some(after) = state.mark_ui_ready() else {
            return;
        };
        tracing::info!(elapsed_ms = after.as_millis() as u64, "ui ready");
        // Where the start-up benchmark learns the moment the UI became ready (nanoseconds
        // since the Unix epoch); a debug-build hook (desk_config::dev_hooks).
        if let Some(path) = desk_config::dev_hooks::ready_file() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            if let Err(error) = std::fs::write(&path, now.to_string()) {
                tracing::warn!(%error, "could not write the ready file");
            }
        }
    });
}
