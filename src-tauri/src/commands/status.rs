//! Is this desk able to reach D1 right now, and where does its record stand with the ledger?

use tauri::State;

use crate::IpcError;
use crate::state::AppState;

/// Fetches (or reuses) a D1 access token: proves D1 is reachable and accepts this desk.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn check_connection(state: State<'_, AppState>) -> Result<(), IpcError> {
    Ok(state.desk().await?.check_connection().await?)
}

/// Where this desk's record stands with the branch ledger (or that there is none).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn ledger_status(
    state: State<'_, AppState>,
) -> Result<order_workflow::LedgerStatus, IpcError> {
    Ok(state.desk().await?.ledger_status())
}
