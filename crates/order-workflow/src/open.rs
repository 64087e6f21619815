//! The one composition root: where this installation keeps its data and keychain entries, and
//! how a desk is opened from a configuration — the journal of the configured D1, then D1 itself
//! (the in-process training sandbox, or the configured D1 with the keychain's or the token's
//! keys). The app (`src-tauri/src/desk.rs`) and the admin CLI (`doctor`, `journal export`) both
//! go through here, so they cannot disagree on a path, a file name or an identifier.

use std::path::PathBuf;
use std::time::Duration;

use d1_sandbox::SandboxHandle;
use desk_config::{Config, Environment};
use desk_secrets::SecretStore;
use order_journal::Journal;

use crate::desk::OrderDesk;
use crate::error::WorkflowError;
use crate::practice::Practice;
use crate::setup;
use crate::training::{self, TrainingOptions};

/// The app's identifier (`tauri.conf.json`): its data directory name under the OS data
/// directory. Development builds append `.dev`.
pub const APP_IDENTIFIER: &str = "com.issuancedesk.desk";

/// A release or a development installation: they never share data or keychain entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Installation {
    pub development: bool,
}

impl Installation {
    /// This build: a debug build is a development installation.
    pub fn this_build() -> Self {
        Self {
            development: cfg!(debug_assertions),
        }
    }

    /// `com.issuancedesk.desk`, or `com.issuancedesk.desk.dev` for a development installation.
    pub fn identifier(self) -> String {
        if self.development {
            format!("{APP_IDENTIFIER}.dev")
        } else {
            APP_IDENTIFIER.to_owned()
        }
    }

    /// `<OS data dir>/<identifier>` (what Tauri's `app_data_dir` is), or the test hook's
    /// directory in debug builds. `None` when the OS has no data directory for this user.
    pub fn data_dir(self) -> Option<PathBuf> {
        desk_config::dev_hooks::data_dir()
            .or_else(|| dirs::data_dir().map(|d| d.join(self.identifier())))
    }

    /// The journal of the D1 `config` orders from, in this installation's data directory.
    pub fn journal_path(self, config: &Config) -> Option<PathBuf> {
        let identity = setup::journal_identity(config);
        Some(setup::journal_path(&self.data_dir()?, &identity))
    }

    /// The keychain entries of `config`'s environment and issuer for this installation.
    pub fn secret_store(self, config: &Config) -> Result<SecretStore, WorkflowError> {
        setup::secret_store(config, self.development)
    }
}

/// What opening a desk needs.
#[derive(Clone, Debug)]
pub struct DeskOptions {
    pub config: Config,
    pub installation: Installation,
    /// The data directory (journals, training keys); made private (0700) if new.
    pub data_dir: PathBuf,
    /// The OS user at the desk (recorded with every order).
    pub operator: String,
}

impl DeskOptions {
    /// The options of this installation: its data directory (see [`Installation::data_dir`]).
    pub fn new(
        config: Config,
        installation: Installation,
        operator: String,
    ) -> Result<Self, WorkflowError> {
        let data_dir = installation.data_dir().ok_or_else(|| {
            WorkflowError::Setup("this user has no data directory on this computer".to_owned())
        })?;
        Ok(Self {
            config,
            installation,
            data_dir,
            operator,
        })
    }
}

/// An open desk, and the training D1 it orders from when in training (keep it running as long
/// as the desk is used) with its practice switch.
pub struct OpenedDesk {
    pub desk: OrderDesk,
    pub training_d1: Option<SandboxHandle>,
    pub practice: Option<Practice>,
}

impl OrderDesk {
    /// Opens the desk `options` describe: the data directory, the journal of the configured D1
    /// (its one writer), then D1 — the training sandbox, or the configured D1 with the keys from
    /// the keychain or the PKCS#11 token (off the async workers: the keychain may block).
    pub async fn open(options: DeskOptions) -> Result<OpenedDesk, WorkflowError> {
        let DeskOptions {
            config,
            installation,
            data_dir,
            operator,
        } = options;
        desk_config::private_fs::create_private_dir(&data_dir).map_err(|e| {
            WorkflowError::Setup(format!(
                "the data directory {} cannot be created: {e}",
                data_dir.display()
            ))
        })?;
        let journal = blocking({
            let (data_dir, config) = (data_dir.clone(), config.clone());
            move || setup::open_journal(&data_dir, &config)
        })
        .await?;
        let mut settings = setup::desk_settings(&config);
        settings.failing_acceptance_writes =
            desk_config::dev_hooks::failing_acceptance_writes().unwrap_or(0);
        let catalog = setup::catalog(&config);
        if config.environment == Environment::Training {
            let options = TrainingOptions {
                port: desk_config::dev_hooks::sandbox_port().unwrap_or(0),
                production_step: Duration::from_millis(
                    desk_config::dev_hooks::training_step_ms().unwrap_or(3000),
                ),
                retry: setup::retry_policy(&config),
            };
            let d1 = training::start(&data_dir.join("training"), &catalog, &options).await?;
            tracing::info!(banking = %d1.sandbox.banking_base_url(), "training D1 sandbox started");
            let practice = Practice::new(d1.sandbox.control(), options.retry.clone(), &catalog);
            let desk = OrderDesk::new(
                d1.client,
                d1.encryption_key,
                journal,
                catalog,
                operator,
                settings,
            );
            return Ok(OpenedDesk {
                desk,
                training_d1: Some(d1.sandbox),
                practice: Some(practice),
            });
        }
        let (client, encryption_key) = blocking(move || {
            let secrets = installation.secret_store(&config)?;
            setup::d1_client(&config, &secrets)
        })
        .await?;
        let desk = OrderDesk::new(client, encryption_key, journal, catalog, operator, settings);
        Ok(OpenedDesk {
            desk,
            training_d1: None,
            practice: None,
        })
    }
}

/// Opens the journal of `config`'s D1 in `installation`'s data directory for reading (the
/// admin CLI's export), without taking the desk's writer lock.
pub fn open_journal_for_reading(
    installation: Installation,
    config: &Config,
) -> Result<(PathBuf, Journal), WorkflowError> {
    let path = installation.journal_path(config).ok_or_else(|| {
        WorkflowError::Setup("this user has no data directory on this computer".to_owned())
    })?;
    let journal = Journal::open(&path)?;
    Ok((path, journal))
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, WorkflowError> + Send + 'static,
) -> Result<T, WorkflowError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| WorkflowError::Task(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_and_development_installations_never_share_a_directory() {
        let release = Installation { development: false };
        let dev = Installation { development: true };
        assert_eq!(release.identifier(), "com.issuancedesk.desk");
        assert_eq!(dev.identifier(), "com.issuancedesk.desk.dev");
        let config = Config::training_defaults();
        if desk_config::dev_hooks::data_dir().is_none()
            && let (Some(a), Some(b)) = (release.journal_path(&config), dev.journal_path(&config))
        {
            assert_ne!(a, b);
            assert!(a.ends_with("com.issuancedesk.desk/journals/training-TRAINING01.sqlite3"));
        }
    }
}
