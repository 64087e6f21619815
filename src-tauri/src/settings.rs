//! The machine configuration, loaded once at start. An invalid configuration is not a crash:
//! the window shows what is wrong, key by key.

use std::sync::Arc;

use desk_config::{Config, ConfigSources, LoadedConfig};

use order_workflow::WorkflowError;

use crate::IpcError;

/// Says what was read, or how many problems there are (once logging is set up).
pub fn log_loaded(config: &Result<Arc<LoadedConfig>, IpcError>) {
    match config {
        Ok(loaded) => {
            for file in loaded.files.iter().filter(|f| f.read) {
                tracing::info!(layer = ?file.layer, path = %file.path.display(), "configuration read");
            }
        }
        Err(error) => tracing::error!(
            problems = error.config_problems.len(),
            "the configuration is invalid"
        ),
    }
}

pub fn load() -> Result<Arc<LoadedConfig>, IpcError> {
    match Config::load(&ConfigSources::from_process()) {
        Ok(loaded) => Ok(Arc::new(loaded)),
        Err(error) => {
            // The reasons, in English, are for IT: here in the log and in
            // `issuance-desk-admin config check`; the window names the keys.
            for problem in error.problems() {
                tracing::error!(%problem, "configuration problem");
            }
            Err(WorkflowError::ConfigInvalid(error.problems().to_vec()).into())
        }
    }
}
