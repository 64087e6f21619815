//! The machine configuration, loaded once at start. An invalid configuration is not a crash:
//! the window shows what is wrong, key by key.

use std::sync::Arc;

use desk_config::{Config, ConfigSources, LoadedConfig};

use crate::{ErrorKind, IpcError};

/// Says what was read, or how many problems there are (once logging is set up).
pub fn log_loaded(config: &Result<Arc<LoadedConfig>, IpcError>) {
    match config {
        Ok(loaded) => {
            for file in loaded.files.iter().filter(|f| f.read) {
                tracing::info!(layer = ?file.layer, path = %file.path.display(), "configuration read");
            }
        }
        Err(error) => tracing::error!(message = %error.message, "the configuration is invalid"),
    }
}

pub fn load() -> Result<Arc<LoadedConfig>, IpcError> {
    match Config::load(&ConfigSources::from_process()) {
        Ok(loaded) => Ok(Arc::new(loaded)),
        Err(error) => {
            let problems: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
            Err(IpcError {
                code: Some("config_invalid".to_owned()),
                what_to_do: Some(
                    "Ask IT to correct the configuration; `issuance-desk-admin config check` shows the same list."
                        .to_owned(),
                ),
                ..IpcError::new(
                    ErrorKind::Setup,
                    format!("The configuration is invalid:\n{}", problems.join("\n")),
                )
            })
        }
    }
}
