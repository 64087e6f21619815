//! The typed IPC surface: every command and event, and the TypeScript bindings
//! generated from them (`ui/src/ipc/bindings.ts`, committed and drift-checked).

use std::path::{Path, PathBuf};

use specta_typescript::Typescript;
use tauri_specta::{collect_commands, collect_events};

use crate::commands;
use crate::events::{CounterChanged, LedgerChanged, OrderChanged, UiReady};

pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::app::app_info,
            commands::status::check_connection,
            commands::status::ledger_status,
            commands::orders::order_form_options,
            commands::orders::check_order,
            commands::orders::review_order,
            commands::orders::submit_order,
            commands::orders::resend_order,
            commands::orders::order_status,
            commands::orders::interrupted_orders,
            commands::station::station_state,
            commands::practice::practice_guide,
            commands::journal::supervisor_access,
            commands::journal::list_orders,
            commands::journal::order_detail,
            commands::journal::refresh_orders,
            commands::journal::order_stats,
            commands::journal::order_exceptions,
            commands::journal::export_orders,
            commands::journal::desk_syncs,
            commands::counter::request_approval,
            commands::counter::await_approval,
            commands::counter::cancel_approval,
            commands::counter::pending_approvals,
            commands::counter::decide_approval,
            commands::counter::spoiled_reasons,
            commands::counter::report_spoiled,
            commands::counter::reissue_form,
            commands::counter::exception_cases,
            commands::counter::take_exception,
            commands::counter::comment_exception,
            commands::counter::resolve_exception,
            commands::counter::counter_time,
            commands::counter::day_balance,
            commands::counter::export_day_balance,
        ])
        .events(collect_events![
            UiReady,
            OrderChanged,
            LedgerChanged,
            CounterChanged
        ])
}

/// The committed bindings file.
pub fn bindings_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/bindings.ts")
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &Path) -> Result<(), String> {
    builder()
        .export(
            Typescript::default().header("// Generated from the Rust commands by tauri-specta. Do not edit.\n// Regenerate: UPDATE_BINDINGS=1 cargo test -p issuance-desk --test bindings\n"),
            path,
        )
        .map_err(|error| error.to_string())
}
