//! One Issuance Desk per user: a second launch hands over to the running window (focused,
//! restored) and exits before it opens anything. The journal's own lock is the second guard:
//! even a process that got past this could not open the journal for writing.

use tauri::{AppHandle, Manager, Runtime};

/// The plugin, for the app `identifier`. Development builds started on their own data directory
/// (the tests' `ISSUANCE_DESK_DATA_DIR`) count as a separate app, so that several test desks can
/// run side by side; release builds never read that variable.
pub fn plugin<R: Runtime>(identifier: &str) -> tauri::plugin::TauriPlugin<R> {
    let builder = tauri_plugin_single_instance::Builder::new().callback(|app, _argv, _cwd| {
        tracing::info!("a second launch was handed over to this window");
        focus_main(app);
    });
    match instance_name(identifier) {
        Some(name) => builder.dbus_id(name).build(),
        None => builder.build(),
    }
}

fn focus_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

fn instance_name(identifier: &str) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let dir = desk_config::dev_hooks::data_dir()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    Some(format!("{identifier}.d{:016x}", hasher.finish()))
}
