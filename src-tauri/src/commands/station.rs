//! The chosen station's recent outcome, for the status bar.

use order_workflow::StationState;
use tauri::State;

use crate::IpcError;
use crate::state::AppState;

/// The last card the station made, its last exception, and whether its last order failed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn station_state(
    state: State<'_, AppState>,
    station_id: String,
) -> Result<StationState, IpcError> {
    Ok(state.desk().await?.station_state(&station_id).await?)
}
