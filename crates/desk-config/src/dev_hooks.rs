//! The environment variables that tests and development use to steer the app: another machine
//! file, another data or log directory, a fixed sandbox port, crash points, …
//!
//! They exist in debug builds only. In a release build every function here returns `None`
//! without reading the environment, so a teller cannot point the shipped app at their own
//! machine file (and name themselves supervisor), move its data, or change its log level with a
//! variable. `tests/release_hooks.rs`, run with `cargo test --release`, proves it.
//!
//! Every `ISSUANCE_DESK_*` hook is read here and nowhere else.

use std::ffi::OsString;
use std::path::PathBuf;

/// Whether this build honours the hooks (debug builds only).
pub const ENABLED: bool = cfg!(debug_assertions);

/// Replaces the machine-wide file's path (empty: no machine file).
pub const MACHINE_CONFIG: &str = "ISSUANCE_DESK_MACHINE_CONFIG";
/// Replaces the per-user file's path (empty: no user file).
pub const USER_CONFIG: &str = "ISSUANCE_DESK_USER_CONFIG";
/// Replaces the app's data directory (each test runs the app in a fresh one).
pub const DATA_DIR: &str = "ISSUANCE_DESK_DATA_DIR";
/// Replaces the log directory (wins over `log.directory`).
pub const LOG_DIR: &str = "ISSUANCE_DESK_LOG_DIR";
/// Fixes the training sandbox's loopback port (the e2e tests drive its control API).
pub const SANDBOX_PORT: &str = "ISSUANCE_DESK_SANDBOX_PORT";
/// Time per production step in training, in milliseconds.
pub const TRAINING_STEP_MS: &str = "ISSUANCE_DESK_TRAINING_STEP_MS";
/// The crash point at which the desk stops and waits to be killed.
pub const CRASH_AT: &str = "ISSUANCE_DESK_CRASH_AT";
/// The file the desk writes its process id to when it reaches the crash point.
pub const CRASH_MARKER: &str = "ISSUANCE_DESK_CRASH_MARKER";
/// The file the start-up benchmark reads the "UI ready" moment from.
pub const READY_FILE: &str = "ISSUANCE_DESK_READY_FILE";
/// The first N journal writes of D1's acceptance fail (the e2e fault matrix).
pub const FAIL_ACCEPTANCE_WRITES: &str = "ISSUANCE_DESK_FAIL_ACCEPTANCE_WRITES";
/// A scope added to the keychain namespace, so that several test desks run by one OS user keep
/// their credentials apart.
pub const KEYCHAIN_SCOPE: &str = "ISSUANCE_DESK_KEYCHAIN_SCOPE";
/// Plays another OS user (name and groups, comma-separated after a colon: `ana:tellers`), so
/// that the e2e tests can have two operators on one machine account.
pub const OS_USER: &str = "ISSUANCE_DESK_OS_USER";
/// `tracing`'s filter; in a release build only `log.level` of the machine file counts.
pub const RUST_LOG: &str = "RUST_LOG";

/// Every hook name, for documentation and the release-build test.
pub const ALL: &[&str] = &[
    MACHINE_CONFIG,
    USER_CONFIG,
    DATA_DIR,
    LOG_DIR,
    SANDBOX_PORT,
    TRAINING_STEP_MS,
    CRASH_AT,
    CRASH_MARKER,
    READY_FILE,
    FAIL_ACCEPTANCE_WRITES,
    KEYCHAIN_SCOPE,
    OS_USER,
    RUST_LOG,
];

/// The raw value of a hook in the process environment (set, possibly empty), debug builds only.
#[cfg(debug_assertions)]
pub fn raw(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Release build: hooks are never read.
#[cfg(not(debug_assertions))]
pub fn raw(_name: &str) -> Option<OsString> {
    None
}

/// The value of a hook from an explicit list of variables (what [`crate::ConfigSources::from_vars`]
/// gets), debug builds only.
pub fn lookup(vars: &[(String, String)], name: &str) -> Option<String> {
    if !ENABLED {
        return None;
    }
    vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn non_empty_path(name: &str) -> Option<PathBuf> {
    raw(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn text(name: &str) -> Option<String> {
    raw(name).and_then(|v| v.into_string().ok())
}

fn number<T: std::str::FromStr>(name: &str) -> Option<T> {
    text(name).and_then(|v| v.trim().parse().ok())
}

/// `ISSUANCE_DESK_DATA_DIR`, when set and not empty.
pub fn data_dir() -> Option<PathBuf> {
    non_empty_path(DATA_DIR)
}

/// `ISSUANCE_DESK_LOG_DIR`, when set and not empty.
pub fn log_dir() -> Option<PathBuf> {
    non_empty_path(LOG_DIR)
}

/// `ISSUANCE_DESK_SANDBOX_PORT`, when it is a port number.
pub fn sandbox_port() -> Option<u16> {
    number(SANDBOX_PORT)
}

/// `ISSUANCE_DESK_TRAINING_STEP_MS`, when it is a number.
pub fn training_step_ms() -> Option<u64> {
    number(TRAINING_STEP_MS)
}

/// `ISSUANCE_DESK_CRASH_AT`: the crash point's name.
pub fn crash_at() -> Option<String> {
    text(CRASH_AT)
}

/// `ISSUANCE_DESK_CRASH_MARKER`, when set and not empty.
pub fn crash_marker() -> Option<PathBuf> {
    non_empty_path(CRASH_MARKER)
}

/// `ISSUANCE_DESK_FAIL_ACCEPTANCE_WRITES`, when it is a number.
pub fn failing_acceptance_writes() -> Option<u32> {
    number(FAIL_ACCEPTANCE_WRITES)
}

/// `ISSUANCE_DESK_KEYCHAIN_SCOPE`, when set: letters, digits and `-` only.
pub fn keychain_scope() -> Option<String> {
    text(KEYCHAIN_SCOPE)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// `ISSUANCE_DESK_OS_USER`: `(user, groups)`, when set and not empty.
pub fn os_user() -> Option<(String, Vec<String>)> {
    let value = text(OS_USER).filter(|s| !s.trim().is_empty())?;
    let (user, groups) = value.split_once(':').unwrap_or((&value, ""));
    Some((
        user.trim().to_owned(),
        groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

/// `ISSUANCE_DESK_READY_FILE`, when set and not empty.
pub fn ready_file() -> Option<PathBuf> {
    non_empty_path(READY_FILE)
}

/// `RUST_LOG`, when set and not blank.
pub fn rust_log() -> Option<String> {
    text(RUST_LOG).filter(|v| !v.trim().is_empty())
}
