//! Issuance Desk logging, shared by the app and the admin CLI (no Tauri here).
//!
//! * Rolling JSON files (one JSON object per line, daily, at most [`DEFAULT_MAX_FILES`] files per
//!   program, or `log.keep_days`) in the OS log directory — [`default_log_dir`] — or the
//!   configured `log.directory`, or `ISSUANCE_DESK_LOG_DIR` ([`LOG_DIR_ENV`], debug builds only),
//!   in that order of increasing precedence. The directory is 0700 and the files 0600 on Unix.
//! * Optionally every event to the system journal too (`log.journald`, Linux), from where the
//!   bank's log shipper takes it to the SIEM.
//! * Level from the configuration's `log.level`; `RUST_LOG` replaces the whole filter when set
//!   (debug builds only).
//!   `hyper`, `reqwest`, `rustls`, `h2` and friends are held at `warn`.
//! * Human-readable stderr when asked ([`LogOptions::stderr`]: development builds, the CLI's `-v`).
//! * Structured fields stay structured: `tracing::info!(card_id = %id, duration_ms = 12, "…")`
//!   becomes `{"card_id":"…","duration_ms":12,"message":"…",…}`.
//! * A panic hook ([`install_panic_hook`]) that logs where the panic happened under a fixed
//!   message, never the panic payload.
//!
//! Nothing here filters strings after the fact: secrets stay out of the logs because their types
//! print `<redacted>` (`d1_client::CardDataInput`, `desk_secrets::SecretBytes`, …). The tests
//! prove it for each of them by scanning every file this crate wrote.
//!
//! ```no_run
//! let config = desk_config::Config::training_defaults();
//! let options = desk_logging::LogOptions::app().with_config(&config.log);
//! let _guard = desk_logging::init(options)?; // keep it alive until the program ends
//! tracing::info!(card_id = "c-1", "order accepted");
//! # Ok::<(), desk_logging::LoggingError>(())
//! ```

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use desk_config::{LogConfig, LogLevel};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod journald;
mod private;

/// Environment variable that replaces the log directory (wins over `log.directory`); read in
/// debug builds only (`desk_config::dev_hooks`).
pub const LOG_DIR_ENV: &str = desk_config::dev_hooks::LOG_DIR;
/// Files kept per program by default (14 days of daily files).
pub const DEFAULT_MAX_FILES: usize = 14;
/// File name prefix of the desktop app: `issuance-desk-app.YYYY-MM-DD.jsonl`.
pub const APP_FILE_PREFIX: &str = "issuance-desk-app";
/// File name prefix of the admin CLI: `issuance-desk-admin.YYYY-MM-DD.jsonl`.
pub const ADMIN_FILE_PREFIX: &str = "issuance-desk-admin";
/// File name suffix of every log file.
pub const FILE_SUFFIX: &str = "jsonl";
/// Crates held at `warn` (their debug output is noise, and may echo request details).
pub const QUIET_TARGETS: &[&str] = &[
    "hyper",
    "hyper_util",
    "reqwest",
    "rustls",
    "h2",
    "tower",
    "tower_http",
    "axum",
];
/// The fixed message of a logged panic (target `panic`).
pub const PANIC_MESSAGE: &str =
    "internal error (panic); the panic message is withheld because it may carry data";

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The OS gives no log directory and none was configured.
    #[error(
        "no log directory: set `log.directory` in the configuration or {LOG_DIR_ENV} to an absolute path"
    )]
    NoLogDirectory,
    /// The log directory cannot be created or a file cannot be opened in it.
    #[error(
        "the log directory {path} cannot be used ({detail}): check its permissions, or set `log.directory` / {LOG_DIR_ENV}"
    )]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The OS's words.
        detail: String,
    },
    /// A global logger is already installed in this process.
    #[error("logging is already set up in this process")]
    AlreadyInitialized,
}

/// How to log. Start from [`LogOptions::app`] or [`LogOptions::admin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// File name prefix (one per program, so their rotations do not count each other's files).
    pub file_prefix: String,
    /// `log.directory` from the configuration (`ISSUANCE_DESK_LOG_DIR` still wins).
    pub directory: Option<PathBuf>,
    /// `log.level` from the configuration (`RUST_LOG` still wins).
    pub level: LogLevel,
    /// Also write human-readable lines to stderr.
    pub stderr: bool,
    /// Files kept (the oldest are deleted when a new one starts); at least 1.
    pub max_files: usize,
    /// Install [`install_panic_hook`].
    pub panic_hook: bool,
    /// Also send every event to the system journal (systemd-journald; Linux only).
    pub journald: bool,
}

impl LogOptions {
    /// For a program whose files start with `file_prefix`: level `info`, stderr in development
    /// builds (`debug_assertions`) only, [`DEFAULT_MAX_FILES`] files, the panic hook installed.
    pub fn new(file_prefix: impl Into<String>) -> Self {
        LogOptions {
            file_prefix: file_prefix.into(),
            directory: None,
            level: LogLevel::Info,
            stderr: cfg!(debug_assertions),
            max_files: DEFAULT_MAX_FILES,
            panic_hook: true,
            journald: false,
        }
    }

    /// The desktop app ([`APP_FILE_PREFIX`]).
    pub fn app() -> Self {
        Self::new(APP_FILE_PREFIX)
    }

    /// The admin CLI ([`ADMIN_FILE_PREFIX`]); no stderr unless asked (`-v`).
    pub fn admin() -> Self {
        LogOptions {
            stderr: false,
            ..Self::new(ADMIN_FILE_PREFIX)
        }
    }

    /// Takes `log.level`, `log.directory`, `log.keep_days` and `log.journald` from the
    /// configuration.
    pub fn with_config(mut self, log: &LogConfig) -> Self {
        self.level = log.level;
        self.directory = log.directory.clone();
        self.max_files = usize::try_from(log.keep_days).unwrap_or(DEFAULT_MAX_FILES);
        self.journald = log.journald;
        self
    }
}

/// What [`init`] returns. Keep it alive for the life of the program: dropping it flushes and
/// closes the log file (lines logged afterwards are lost).
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    directory: PathBuf,
    _worker: WorkerGuard,
}

impl LogGuard {
    /// The directory the files go to (for "logs are in …" messages).
    pub fn directory(&self) -> &Path {
        &self.directory
    }
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

/// The OS log directory: Linux `$XDG_STATE_HOME/issuance-desk/logs` (or
/// `~/.local/state/issuance-desk/logs`), Windows `%LOCALAPPDATA%\IssuanceDesk\logs`, macOS
/// `~/Library/Logs/IssuanceDesk`. `None` when the OS gives no home directory.
pub fn default_log_dir() -> Option<PathBuf> {
    if cfg!(windows) {
        dirs::data_local_dir().map(|d| d.join("IssuanceDesk").join("logs"))
    } else if cfg!(target_os = "macos") {
        dirs::home_dir().map(|d| d.join("Library").join("Logs").join("IssuanceDesk"))
    } else {
        dirs::state_dir()
            .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
            .map(|d| d.join("issuance-desk").join("logs"))
    }
}

/// The directory [`init`] uses: `ISSUANCE_DESK_LOG_DIR` (debug builds, when set and not empty)
/// > `configured` > [`default_log_dir`].
pub fn log_dir(configured: Option<&Path>) -> Result<PathBuf, LoggingError> {
    choose_dir(
        desk_config::dev_hooks::log_dir().map(OsString::from),
        configured,
        default_log_dir(),
    )
}

fn choose_dir(
    env: Option<OsString>,
    configured: Option<&Path>,
    default: Option<PathBuf>,
) -> Result<PathBuf, LoggingError> {
    env.filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| configured.map(Path::to_path_buf))
        .or(default)
        .ok_or(LoggingError::NoLogDirectory)
}

/// The filter used when `RUST_LOG` is not set: `level`, with [`QUIET_TARGETS`] at `warn` (or
/// `error` when `level` is `error`).
pub fn default_filter(level: LogLevel) -> String {
    let quiet = if level == LogLevel::Error {
        "error"
    } else {
        "warn"
    };
    let mut out = level.as_str().to_string();
    for target in QUIET_TARGETS {
        out.push_str(&format!(",{target}={quiet}"));
    }
    out
}

/// Sets up the process-wide logger: JSON files (and stderr when asked) and, unless
/// `options.panic_hook` is false, the panic hook. Call once, early in `main`, and keep the guard.
///
/// A `RUST_LOG` that does not parse is ignored (the configured level is used) and a warning
/// saying so is logged.
pub fn init(options: LogOptions) -> Result<LogGuard, LoggingError> {
    let directory = log_dir(options.directory.as_deref())?;
    let dir_error = |e: &dyn std::fmt::Display| LoggingError::Directory {
        path: directory.clone(),
        detail: e.to_string(),
    };
    desk_config::private_fs::create_private_dir(&directory).map_err(|e| dir_error(&e))?;
    private::narrow_existing(&directory, &options.file_prefix).map_err(|e| dir_error(&e))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(&options.file_prefix)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(options.max_files.max(1))
        .build(&directory)
        .map_err(|e| dir_error(&e))?;
    let appender = private::PrivateFiles::new(appender, &directory, &options.file_prefix)
        .map_err(|e| dir_error(&e))?;
    let (writer, worker) = tracing_appender::non_blocking(appender);

    let (filter, bad_rust_log) = match desk_config::dev_hooks::rust_log() {
        Some(value) => match EnvFilter::try_new(&value) {
            Ok(filter) => (filter, false),
            Err(_) => (EnvFilter::new(default_filter(options.level)), true),
        },
        None => (EnvFilter::new(default_filter(options.level)), false),
    };

    let file_layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_thread_names(true)
        .with_writer(writer);
    let stderr_layer = options.stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(true)
    });
    let (journald_layer, journald_error) = if options.journald {
        match journald::layer(&options.file_prefix) {
            Ok(layer) => (Some(layer), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer)
        .with(journald_layer)
        .try_init()
        .map_err(|_| LoggingError::AlreadyInitialized)?;
    if let Some(error) = journald_error {
        tracing::warn!(%error, "log.journald is on but the system journal cannot be reached; logging to files only");
    }

    if options.panic_hook {
        install_panic_hook();
    }
    if bad_rust_log {
        tracing::warn!(
            level = options.level.as_str(),
            "RUST_LOG could not be parsed; the configured level is used"
        );
    }
    Ok(LogGuard {
        directory,
        _worker: worker,
    })
}

/// Replaces the panic hook with one that logs (target `panic`, level `error`) the panic's
/// location, the thread name and the fixed [`PANIC_MESSAGE`], and prints the same on stderr.
///
/// The payload (`panic!("…{x}…")`'s text, or an `expect` message with a value in it) is never
/// logged nor printed: a panic can happen anywhere, including while a PAN, a token or a key is
/// being formatted, and its payload is a free string that no type can redact. The location is
/// enough to find the bug; reproducing it is the developer's job, not the log's. The default
/// hook is not chained for the same reason (it prints the payload to stderr).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "unknown".to_string());
        let current = std::thread::current();
        let thread = current.name().unwrap_or("<unnamed>");
        tracing::error!(
            target: "panic",
            category = "panic",
            location = %location,
            thread = %thread,
            "{PANIC_MESSAGE}"
        );
        eprintln!("issuance-desk: {PANIC_MESSAGE} (at {location}, thread {thread})");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_configuration_which_wins_over_the_os_default() {
        let env = Some(OsString::from("/env/logs"));
        let configured = Path::new("/configured/logs");
        let default = Some(PathBuf::from("/default/logs"));
        assert_eq!(
            choose_dir(env, Some(configured), default.clone()).unwrap(),
            PathBuf::from("/env/logs")
        );
        assert_eq!(
            choose_dir(None, Some(configured), default.clone()).unwrap(),
            PathBuf::from("/configured/logs")
        );
        assert_eq!(
            choose_dir(Some(OsString::new()), None, default).unwrap(),
            PathBuf::from("/default/logs"),
            "an empty variable means not set"
        );
        assert!(matches!(
            choose_dir(None, None, None),
            Err(LoggingError::NoLogDirectory)
        ));
    }

    #[test]
    fn the_default_filter_keeps_network_crates_quiet() {
        let debug = default_filter(LogLevel::Debug);
        assert!(debug.starts_with("debug,"));
        for target in ["hyper=warn", "reqwest=warn", "rustls=warn", "h2=warn"] {
            assert!(debug.contains(target), "{debug}");
        }
        let error = default_filter(LogLevel::Error);
        assert!(error.contains("hyper=error") && !error.contains("=warn"));
        assert!(EnvFilter::try_new(&debug).is_ok());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_linux_default_is_under_the_state_directory() {
        let dir = default_log_dir().unwrap();
        assert!(dir.ends_with("issuance-desk/logs"), "{}", dir.display());
    }

    #[test]
    fn options_take_the_configured_level_and_directory() {
        let log = LogConfig {
            level: LogLevel::Debug,
            directory: Some(PathBuf::from("/var/log/desk")),
            keep_days: 400,
            journald: true,
        };
        let options = LogOptions::admin().with_config(&log);
        assert_eq!(options.level, LogLevel::Debug);
        assert_eq!(options.max_files, 400);
        assert!(options.journald);
        assert!(!LogOptions::app().journald, "off unless configured");
        assert_eq!(options.directory, Some(PathBuf::from("/var/log/desk")));
        assert_eq!(options.file_prefix, ADMIN_FILE_PREFIX);
        assert!(!options.stderr);
        assert!(
            !APP_FILE_PREFIX.starts_with(ADMIN_FILE_PREFIX)
                && !ADMIN_FILE_PREFIX.starts_with(APP_FILE_PREFIX),
            "one program's rotation must not delete the other's files"
        );
    }
}
