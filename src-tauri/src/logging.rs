//! Rolling JSON log files (desk-logging) from the configuration's `[log]`; human-readable
//! stderr too in development builds. If the log directory cannot be used, the app still starts
//! and logs to stderr, and says why.

use desk_config::LogConfig;
use tracing_subscriber::EnvFilter;

pub fn init(log: Option<&LogConfig>) -> Option<desk_logging::LogGuard> {
    let mut options = desk_logging::LogOptions::app();
    if let Some(log) = log {
        options = options.with_config(log);
    }
    let level = options.level;
    match desk_logging::init(options) {
        Ok(guard) => Some(guard),
        Err(error) => {
            let filter = desk_config::dev_hooks::rust_log()
                .and_then(|v| EnvFilter::try_new(v).ok())
                .unwrap_or_else(|| EnvFilter::new(desk_logging::default_filter(level)));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
            tracing::warn!(%error, "log files are off; logging to standard error only");
            None
        }
    }
}
