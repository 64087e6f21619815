// No console window for the teller on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    match issuance_desk_lib::run(started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Issuance Desk could not start: {error}");
            ExitCode::FAILURE
        }
    }
}
