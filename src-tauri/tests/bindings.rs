//! The committed TypeScript bindings must match the Rust commands, events and types.

use std::fs;

#[test]
fn committed_bindings_match_the_rust_commands() {
    let committed_path = issuance_desk_lib::ipc::bindings_path();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        issuance_desk_lib::ipc::export_bindings(&committed_path).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("issuance-desk-bindings-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let fresh_path = dir.join("bindings.ts");
    issuance_desk_lib::ipc::export_bindings(&fresh_path).unwrap();
    let fresh = fs::read_to_string(&fresh_path).unwrap();
    let committed = fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        fresh == committed,
        "ui/src/ipc/bindings.ts is stale: a command, event or IPC type changed.\n\
         Regenerate with: UPDATE_BINDINGS=1 cargo test -p issuance-desk --test bindings"
    );
}
