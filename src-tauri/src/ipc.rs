//! The typed IPC surface: every command and event, and the TypeScript bindings
//! generated from them (`ui/src/ipc/bindings.ts`, committed and drift-checked).

use std::path::{Path, PathBuf};

use specta_typescript::Typescript;
use tauri_specta::{collect_commands, collect_events};

use crate::commands;
use crate::events::{CounterChanged, LedgerChanged, OrderChanged, UiReady};

/// Every command and event, for the runtime `$runtime`: the app's (`tauri::Wry`) or, in the
/// wiring tests, Tauri's mock runtime. One list, so the tests exercise what the app registers.
macro_rules! desk_builder {
    ($runtime:ty) => {
        tauri_specta::Builder::<$runtime>::new()
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
                commands::journal::export_orders::<$runtime>,
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
                commands::counter::export_day_balance::<$runtime>,
            ])
            .events(collect_events![
                UiReady,
                OrderChanged,
                LedgerChanged,
                CounterChanged
            ])
            // One TypeScript type per Rust type: no `_Serialize`/`_Deserialize` pairs.
            .disable_serde_phases()
    };
}

/// Every command and event of the app.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    desk_builder!(tauri::Wry)
}

/// The same commands and events on Tauri's mock runtime (wiring tests).
#[cfg(test)]
pub(crate) fn mock_builder() -> tauri_specta::Builder<tauri::test::MockRuntime> {
    desk_builder!(tauri::test::MockRuntime)
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
