//! Practice mode (training only): the trigger values and demo card numbers of the help panel.

use order_workflow::PracticeGuide;
use tauri::State;

use crate::IpcError;
use crate::state::AppState;

/// The practice guide; none outside training (there is no practice there).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn practice_guide(state: State<'_, AppState>) -> Result<Option<PracticeGuide>, IpcError> {
    // The practice switch is set once the training desk has started.
    state.desk().await?;
    Ok(state.practice().map(|p| p.guide().clone()))
}
