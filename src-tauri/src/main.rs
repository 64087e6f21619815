// No console window for the teller on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // Started as `issuance-desk-admin` (the package's link to this binary) or `issuance-desk
    // admin …`: the IT command line, no window.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(admin_args) = desk_admin::invoked_as_admin(&args) {
        return desk_admin::run(admin_args);
    }
    match issuance_desk_lib::run(started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Issuance Desk could not start: {error}");
            ExitCode::FAILURE
        }
    }
}
