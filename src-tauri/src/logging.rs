use tracing_subscriber::EnvFilter;

/// Human-readable logs on stderr; `RUST_LOG` overrides the level.
pub fn init() {
    let default = if cfg!(debug_assertions) {
        "info,issuance_desk=debug"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
