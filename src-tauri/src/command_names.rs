// Every command the shell exposes, by name. Included by `build.rs` (it declares them to Tauri,
// so each needs an explicit permission in `capabilities/main-window.json`) and by the crate,
// whose tests check that this list, the commands registered in `ipc.rs` and the capability
// agree. A new command: add it here, in `ipc.rs` and in the capability.

/// The names of the app's commands, as the window invokes them.
pub const COMMAND_NAMES: &[&str] = &[
    "app_info",
    "check_connection",
    "ledger_status",
    "order_form_options",
    "check_order",
    "review_order",
    "submit_order",
    "resend_order",
    "order_status",
    "interrupted_orders",
    "station_state",
    "practice_guide",
    "supervisor_access",
    "list_orders",
    "order_detail",
    "refresh_orders",
    "order_stats",
    "order_exceptions",
    "export_orders",
    "desk_syncs",
];
