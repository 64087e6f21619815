//! From the machine configuration (and the OS keychain) to what the desk runs on: the
//! catalog the form offers and the D1 client. Shared by the app and the admin CLI.

use std::path::{Path, PathBuf};
use std::time::Duration;

use d1_client::{D1Client, D1Config, EncryptionKey, IssuerId, RetryPolicy};
use desk_config::Config;
use desk_secrets::{Namespace, SecretStore};
use zeroize::Zeroizing;

use crate::catalog::{Artwork, Catalog, OrderOptions, Product, Station};
use crate::desk::DeskSettings;
use crate::error::WorkflowError;
use order_journal::{Journal, JournalIdentity};

/// The keychain namespace prefix of release builds; development builds use their own (with the
/// debug-only keychain scope of a test desk, when one is set).
pub fn secrets_prefix(development: bool) -> String {
    if !development {
        return desk_secrets::RELEASE_PREFIX.to_owned();
    }
    match desk_config::dev_hooks::keychain_scope() {
        Some(scope) => format!("{}-{scope}", desk_secrets::DEVELOPMENT_PREFIX),
        None => desk_secrets::DEVELOPMENT_PREFIX.to_owned(),
    }
}

/// What the form offers, from the configuration.
pub fn catalog(config: &Config) -> Catalog {
    let default_station = config.default_station().map(|s| s.id.clone());
    let mut priorities = config.services.priorities.clone();
    if let Some(default) = &config.services.default_priority {
        // The form preselects the first priority.
        priorities.retain(|p| p != default);
        priorities.insert(0, default.clone());
    }
    Catalog {
        products: config
            .products
            .iter()
            .map(|p| Product {
                id: p.id.clone(),
                display_name: p.display_name.clone(),
                display_name_es: p.display_name_es.clone(),
                payment_application: d1_client::PaymentApplication {
                    config: p.payment_application.config.clone(),
                    oda_key_index: p.payment_application.oda_key_index.clone(),
                    derivation_key_index: p.payment_application.derivation_key_index.clone(),
                    pv_key_index: p.payment_application.pv_key_index.clone(),
                    cv_key_index: p.payment_application.cv_key_index.clone(),
                },
                // Documented rule of the configuration: none listed means all configured.
                issuance_types: if p.issuance_types.is_empty() {
                    config.services.issuance.clone()
                } else {
                    p.issuance_types.clone()
                },
                rules: p.rules(),
                supplies_cvv2: p.supplies_cvv2,
                artworks: p
                    .artworks
                    .iter()
                    .map(|a| Artwork {
                        id: a.id.clone(),
                        name: a.display_name.clone().unwrap_or_else(|| a.id.clone()),
                    })
                    .collect(),
            })
            .collect(),
        stations: config
            .stations
            .iter()
            .map(|s| Station {
                id: s.id.clone(),
                name: s.name.clone(),
                is_default: Some(&s.id) == default_station.as_ref(),
            })
            .collect(),
        priorities,
        options: OrderOptions {
            delivery: config.services.delivery.clone(),
            packaging: config.services.packaging.clone(),
            card_carrier: config.services.card_carrier.clone(),
            pin_mailer: config.services.pin_mailer,
            alpha_card: config.environment != desk_config::Environment::Production,
            design_images: config.services.design_images.clone(),
            carrier_images: config.services.carrier_images.clone(),
        },
    }
}

/// The file name of the one-file journal of earlier versions, shared by every D1.
pub const LEGACY_JOURNAL_FILE: &str = "journal.sqlite3";

/// The D1 a configuration orders from, which is also its journal's identity.
pub fn journal_identity(config: &Config) -> JournalIdentity {
    let issuer_id = match config.environment {
        desk_config::Environment::Training => crate::training::TRAINING_ISSUER_ID.to_owned(),
        _ => config.d1.issuer_id.clone().unwrap_or_default(),
    };
    JournalIdentity {
        environment: config.environment.as_str().to_owned(),
        issuer_id,
    }
}

/// `<data dir>/journals/<environment>-<issuer>.sqlite3`: one journal per D1.
pub fn journal_path(data_dir: &Path, identity: &JournalIdentity) -> PathBuf {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    data_dir.join("journals").join(format!(
        "{}-{}.sqlite3",
        safe(&identity.environment),
        safe(&identity.issuer_id)
    ))
}

/// Opens this desk's journal for the configured D1 as its one writer (see
/// [`Journal::open_for`]), creating the folder. The one-file journal of earlier versions
/// (`journal.sqlite3`, which did not say which D1 it belonged to) is adopted by the first start
/// that is not training — training never touches it.
pub fn open_journal(data_dir: &Path, config: &Config) -> Result<Journal, WorkflowError> {
    let identity = journal_identity(config);
    let path = journal_path(data_dir, &identity);
    let folder = path.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(folder).map_err(|e| {
        WorkflowError::Setup(format!(
            "the journal folder {} cannot be created: {e}",
            folder.display()
        ))
    })?;
    let legacy = data_dir.join(LEGACY_JOURNAL_FILE);
    if config.environment != desk_config::Environment::Training
        && legacy.is_file()
        && !path.exists()
    {
        adopt_legacy(&legacy, &path)?;
    }
    Ok(Journal::open_for(&path, &identity)?)
}

fn adopt_legacy(legacy: &Path, path: &Path) -> Result<(), WorkflowError> {
    let probe = Journal::open(legacy)?;
    if probe.identity()?.is_some() {
        return Ok(());
    }
    drop(probe);
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", legacy.display()));
        let to = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            std::fs::rename(&from, &to).map_err(|e| {
                WorkflowError::Setup(format!(
                    "the journal {} could not be moved to {}: {e}",
                    from.display(),
                    to.display()
                ))
            })?;
        }
    }
    tracing::info!(from = %legacy.display(), to = %path.display(), "adopted the journal of an earlier version");
    Ok(())
}

/// The retries of D1 calls, as `[retry]` configures them.
pub fn retry_policy(config: &Config) -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(u64::from(config.retry.base_delay_ms)),
        budget: Duration::from_secs(u64::from(config.retry.budget_seconds)),
        ..RetryPolicy::default()
    }
}

/// How the desk treats orders whose outcome it does not know yet.
pub fn desk_settings(config: &Config) -> DeskSettings {
    DeskSettings {
        no_record_after: Duration::from_secs(u64::from(config.retry.no_record_after_seconds)),
        approvals: config.approvals.clone(),
        spoiled: config.spoiled.clone(),
        ..DeskSettings::default()
    }
}

/// How this desk connects to the branch ledger: the configured server and CA, and the desk's
/// client certificate and key from the keychain. `None` when no ledger is configured.
pub fn ledger_options(
    config: &Config,
    secrets: &SecretStore,
) -> Result<Option<branch_ledger::ConnectOptions>, WorkflowError> {
    let ledger = &config.ledger;
    let Some(host) = &ledger.host else {
        return Ok(None);
    };
    let setup = |what: String| WorkflowError::Setup(what);
    let ca_path = ledger
        .ca_bundle
        .as_ref()
        .ok_or_else(|| setup("ledger.ca_bundle is not set".to_owned()))?;
    let ca_pem = std::fs::read_to_string(ca_path)
        .map_err(|e| setup(format!("ledger.ca_bundle {}: {e}", ca_path.display())))?;
    let identity = secrets
        .ledger_identity()
        .map_err(|e| setup(format!("the ledger client identity: {e}")))?;
    let key = identity
        .key_pem
        .expose_str()
        .ok_or_else(|| setup("the ledger key in the keychain is not PEM text".to_owned()))?;
    let role = ledger
        .role()
        .ok_or_else(|| setup("ledger.desk_id is not set".to_owned()))?;
    let mut options = branch_ledger::ConnectOptions::new(
        host.clone(),
        u16::try_from(ledger.port).unwrap_or(5432),
        ledger.dbname.clone(),
        role,
        ca_pem,
        branch_ledger::ClientIdentity::new(
            identity.cert_chain_pem.clone(),
            Zeroizing::new(key.to_owned()),
        ),
    );
    options.connect_timeout = Duration::from_secs(u64::from(ledger.connect_timeout_seconds));
    Ok(Some(options))
}

/// The keychain entries of this configuration's environment and issuer.
pub fn secret_store(config: &Config, development: bool) -> Result<SecretStore, WorkflowError> {
    // A training desk without an issuer id of its own uses the training D1's: it may still hold
    // a ledger identity.
    let identity = journal_identity(config);
    let issuer = config
        .d1
        .issuer_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .unwrap_or(identity.issuer_id.as_str());
    let namespace = Namespace::new(
        &secrets_prefix(development),
        config.environment.as_str(),
        issuer,
    )
    .map_err(|e| WorkflowError::Setup(e.to_string()))?;
    Ok(SecretStore::new(namespace))
}

/// The D1 client and D1's encryption key for a staging, production or custom configuration,
/// with the signing key (and the mTLS identity, when configured) from the keychain, or signing
/// on the PKCS#11 token named by `[keys]`.
pub fn d1_client(
    config: &Config,
    secrets: &SecretStore,
) -> Result<(D1Client, EncryptionKey), WorkflowError> {
    let setup = |what: &str| WorkflowError::Setup(what.to_owned());
    let endpoints = config
        .d1_endpoints()
        .ok_or_else(|| setup("training has no D1 endpoints: it runs the in-process sandbox"))?;
    let issuer_id = IssuerId::parse(config.d1.issuer_id.clone().unwrap_or_default())
        .map_err(|_| setup("d1.issuer_id is not a D1 issuer id"))?;
    let mut d1 = D1Config::new(
        endpoints.auth_base_url,
        endpoints.banking_base_url,
        issuer_id,
    );
    d1.connect_timeout = Duration::from_secs(u64::from(config.d1.timeouts.connect_seconds));
    d1.read_timeout = Duration::from_secs(u64::from(config.d1.timeouts.read_seconds));
    d1.assertion_lifetime = Duration::from_secs(u64::from(config.d1.assertion_lifetime_seconds));
    // Plain http:// to a local D1 is for development builds only; release builds are HTTPS only.
    d1.allow_plain_http_loopback =
        config.environment == desk_config::Environment::Custom && desk_config::dev_hooks::ENABLED;
    d1.assertion_audience = config.d1.assertion_audience.clone();
    d1.retry = retry_policy(config);
    if let Some(path) = &config.d1.extra_ca_bundle {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            WorkflowError::Setup(format!("d1.extra_ca_bundle {}: {e}", path.display()))
        })?;
        d1.extra_ca_pem = Some(pem);
    }
    // The keychain, or the PKCS#11 token named by [keys] (logged in once, PIN from the keychain).
    let keys = crate::key_store::DeskKeys::open(config, secrets)?;
    if config.d1.use_mtls {
        d1.client_identity = Some(keys.client_identity()?);
    }
    let kid = config
        .d1
        .signing_kid
        .as_deref()
        .ok_or_else(|| setup("d1.signing_kid is not set"))?;
    let signing_key = keys.signing_key(kid)?;
    let client =
        D1Client::new(d1, signing_key).map_err(|e| WorkflowError::Setup(e.user_message()))?;
    let encryption = config
        .d1
        .encryption_key
        .as_ref()
        .ok_or_else(|| setup("d1.encryption_key is not set"))?;
    let encryption_key = EncryptionKey::from_jwk_value(&encryption.to_json_value())
        .map_err(|e| WorkflowError::Setup(format!("d1.encryption_key: {}", e.user_message())))?;
    Ok((client, encryption_key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use desk_domain::BinRange;

    #[test]
    fn training_configuration_gives_the_training_catalog() {
        let config = Config::training_defaults();
        let catalog = catalog(&config);
        let training = Catalog::training();
        let ids = |c: &Catalog| c.products.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&catalog), ids(&training));
        let debit = catalog.product("DEMO_DEBIT").unwrap();
        assert_eq!(
            debit.rules.bin_ranges,
            vec![BinRange {
                low: 400_000,
                high: 499_999,
                prefix_len: 6
            }]
        );
        assert_eq!(debit.rules.pan_lengths, vec![16]);
        assert_eq!(catalog.stations.iter().filter(|s| s.is_default).count(), 1);
        assert_eq!(
            catalog.priorities.first().map(String::as_str),
            Some("STANDARD")
        );
    }

    #[test]
    fn training_has_no_d1_client_from_configuration() {
        let config = Config::training_defaults();
        let store = SecretStore::new(
            Namespace::new("issuance-desk-test", "training", "TRAINING01").unwrap(),
        );
        assert!(matches!(
            d1_client(&config, &store),
            Err(WorkflowError::Setup(_))
        ));
    }
}
