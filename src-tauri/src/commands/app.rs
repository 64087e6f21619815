use serde::Serialize;
use tauri::State;

use crate::state::AppState;
use crate::{Environment, IpcError};

/// PRODUCT.md: sensitive fields clear after 2 minutes by default.
const DEFAULT_IDLE_CLEAR_SECONDS: u32 = 120;

/// What the window shows about this installation.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub product_name: String,
    pub version: String,
    pub environment: Environment,
    /// Sensitive form fields clear themselves after this much idle time.
    pub idle_clear_seconds: u32,
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub fn app_info(state: State<'_, AppState>) -> Result<AppInfo, IpcError> {
    Ok(AppInfo {
        product_name: "Issuance Desk".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: state.environment(),
        idle_clear_seconds: DEFAULT_IDLE_CLEAR_SECONDS,
    })
}
