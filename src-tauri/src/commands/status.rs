//! Is this desk able to reach D1 right now?

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
