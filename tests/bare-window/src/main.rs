//! The smallest Tauri v2 app: one window, one page, one command that reports when
//! the page is interactive (same ready-file protocol as Issuance Desk).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[tauri::command]
fn ready() {
    if let Some(path) = std::env::var_os("ISSUANCE_DESK_READY_FILE") {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let _ = std::fs::write(path, now.to_string());
    }
}

fn main() -> std::process::ExitCode {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!());
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bare window failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
