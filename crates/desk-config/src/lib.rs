//! Issuance Desk configuration: layered TOML (built-in training defaults < machine-wide file
//! pushed by IT < per-user file < `ISSUANCE_DESK__SECTION__KEY` environment variables), merged
//! with figment and validated as a whole. Every problem is reported with its key, its source and
//! what is expected.
//!
//! ```no_run
//! use desk_config::{Config, ConfigSources};
//! match Config::load(&ConfigSources::from_process()) {
//!     Ok(loaded) => println!("environment: {}", loaded.config.environment),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```
//!
//! The configuration only holds public material; secrets live in the OS keychain
//! (`desk-secrets`).

mod counter;
pub mod dev_hooks;
mod error;
mod keys;
mod ledger;
mod lenient;
mod load;
mod model;
pub mod private_fs;
mod recover;
mod sources;
mod trust;
mod validate;

pub use counter::{APPROVAL_TIMEOUT_SECONDS, ApprovalsConfig, MAX_SPOILED_REASONS, SpoiledConfig};
pub use error::{ConfigError, Problem};
pub use keys::{MAX_KEY_LABEL, MAX_TOKEN_LABEL};
pub use ledger::{DESK_ROLE_PREFIX, LedgerConfig};
pub use load::{FileReport, LoadedConfig};
pub use model::*;
pub use sources::{
    ConfigFile, ConfigSources, ENV_PREFIX, Layer, MACHINE_CONFIG_ENV, MachineFileOwner,
    USER_CONFIG_ENV, default_machine_config_path, default_user_config_path,
};
pub use validate::TRAINING_ISSUER_ID;

/// The commented example configuration file (`config.example.toml`), for `config example`.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");
