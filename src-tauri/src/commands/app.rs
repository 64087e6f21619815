use serde::Serialize;
use tauri::State;

use crate::state::AppState;
use crate::{Environment, IpcError};

/// What the window shows about this installation.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub product_name: String,
    pub version: String,
    pub environment: Environment,
    /// Sensitive form fields clear themselves after this much idle time.
    pub idle_clear_seconds: u32,
    /// The configured UI language (`en`, `es`), or none to follow the OS.
    pub language: Option<String>,
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub fn app_info(state: State<'_, AppState>) -> Result<AppInfo, IpcError> {
    let config = state.config()?;
    Ok(AppInfo {
        product_name: "Issuance Desk".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: config.environment,
        idle_clear_seconds: config.ui.idle_clear_seconds,
        language: match config.ui.language {
            desk_config::Language::Auto => None,
            desk_config::Language::En => Some("en".to_owned()),
            desk_config::Language::Es => Some("es".to_owned()),
        },
    })
}
