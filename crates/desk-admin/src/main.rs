//! `issuance-desk-admin` on its own (the Linux package links it to the app binary instead).

fn main() -> std::process::ExitCode {
    desk_admin::run(std::env::args_os().collect())
}
