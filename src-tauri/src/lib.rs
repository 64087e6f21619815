//! The Issuance Desk shell: builds the Tauri app, manages state and exposes the
//! typed commands. The work itself lives in the Tauri-free crates under `crates/`.

// `IpcError` carries everything the window shows about a failure (~150 bytes); it is made
// at most once per command call, so its size on the stack does not matter.
#![allow(clippy::result_large_err)]

mod command_names;
mod commands;
mod desk;
mod error;
mod events;
mod identity;
pub mod ipc;
#[cfg(test)]
mod ipc_tests;
mod logging;
mod rendering;
mod settings;
mod single_instance;
mod state;

use std::time::Instant;

pub use command_names::COMMAND_NAMES;
pub use desk_config::Environment;
pub use error::{ErrorKind, IpcError};

use state::AppState;

/// Why the app could not run.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the window system could not start the app: {0}")]
    Tauri(#[from] tauri::Error),
}

/// Starts the app and blocks until its last window closes.
pub fn run(started: Instant) -> Result<(), StartError> {
    let config = settings::load();
    let _log_files = logging::init(config.as_ref().ok().map(|loaded| &loaded.config.log));
    settings::log_loaded(&config);
    let ipc = ipc::builder();
    let mut context = tauri::generate_context!();
    // Development builds get their own identifier, so their data directory and keychain
    // entries never touch a real profile's (the admin CLI uses the same rule).
    context.config_mut().identifier = order_workflow::Installation::this_build().identifier();
    let single_instance = single_instance::plugin(context.config().identifier.as_str());
    tauri::Builder::default()
        .plugin(single_instance)
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            if let Some(window) = tauri::Manager::get_webview_window(app, "main") {
                rendering::without_gpu_compositing(&window);
            }
            ipc.mount_events(app);
            let state = AppState::new(config, started);
            events::listen(app.handle(), state.clone());
            desk::start(app.handle(), state.clone());
            tauri::Manager::manage(app, state);
            Ok(())
        })
        .run(context)?;
    Ok(())
}
