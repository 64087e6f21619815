include!("src/command_names.rs");

fn main() {
    // Declaring the app's commands makes each one need an explicit permission in a
    // capability: the window gets exactly what `capabilities/main-window.json` lists.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMAND_NAMES));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri build script failed: {error:#}");
        std::process::exit(1);
    }
}
