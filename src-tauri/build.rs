fn main() {
    // Declaring the app's commands makes each one need an explicit permission in a
    // capability: the window gets exactly what `capabilities/main-window.json` lists.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(issuance_desk_commands()));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri build script failed: {error:#}");
        std::process::exit(1);
    }
}

/// Every command the shell exposes. Keep in step with `src/ipc.rs`.
fn issuance_desk_commands() -> &'static [&'static str] {
    &[
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
        "request_approval",
        "await_approval",
        "cancel_approval",
        "pending_approvals",
        "decide_approval",
        "spoiled_reasons",
        "report_spoiled",
        "reissue_form",
        "exception_cases",
        "take_exception",
        "comment_exception",
        "resolve_exception",
        "counter_time",
        "day_balance",
        "export_day_balance",
    ]
}
