//! Training mode: an in-process D1 sandbox over loopback TLS, with keys generated on first
//! run and kept in the app's data directory. Training keys only: they never leave training.

use std::path::Path;
use std::time::Duration;

use d1_client::{D1Client, D1Config, EncryptionKey, IssuerId, RetryPolicy, SigningKey};
use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{ProductionClock, Sandbox, SandboxConfig, SandboxHandle};
use zeroize::Zeroizing;

use crate::catalog::Catalog;
use crate::error::WorkflowError;

const KEYS_FILE: &str = "training-keys.json";

/// The issuer id of the training D1 (and of its journal).
pub const TRAINING_ISSUER_ID: &str = "TRAINING01";

/// How the training D1 behaves.
#[derive(Clone, Debug)]
pub struct TrainingOptions {
    /// Loopback port of the sandbox; 0 picks a free one.
    pub port: u16,
    /// Time per production step (requested → ready → done).
    pub production_step: Duration,
    /// Retries of the training desk's D1 client: as configured, like any other D1.
    pub retry: RetryPolicy,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            port: 0,
            production_step: Duration::from_secs(3),
            retry: RetryPolicy::default(),
        }
    }
}

/// A running training D1 and a client set up for it.
pub struct TrainingD1 {
    pub sandbox: SandboxHandle,
    pub client: D1Client,
    pub encryption_key: EncryptionKey,
}

/// Starts the training D1 for `catalog`, with the keys in `data_dir` (made on first run).
pub async fn start(
    data_dir: &Path,
    catalog: &Catalog,
    options: &TrainingOptions,
) -> Result<TrainingD1, WorkflowError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| WorkflowError::Training(format!("{what}: {e}"));
    let keys = load_or_create_keys(data_dir)?;
    let pki = TestPki::try_generate().map_err(|e| failed("certificates", &e))?;

    let mut config = SandboxConfig::training()
        .with_keys(&keys)
        .with_tls(pki.server_tls(false))
        .with_clock(ProductionClock::Interval(options.production_step));
    config.port = options.port;
    // The training D1 knows exactly what this desk's configuration offers.
    config.products = catalog.products.iter().map(sandbox_product).collect();
    config.stations = catalog.stations.iter().map(|s| s.id.clone()).collect();
    config.services.priority = catalog.priorities.clone();
    // D1's own defaults stay known, as they are at a real D1.
    for (known, offered, default) in [
        (
            &mut config.services.delivery,
            &catalog.options.delivery,
            "NO_SHIPMENT",
        ),
        (
            &mut config.services.packaging,
            &catalog.options.packaging,
            "NO_PACK",
        ),
        (
            &mut config.services.card_carrier,
            &catalog.options.card_carrier,
            "NO_CARRIER",
        ),
    ] {
        *known = offered.clone();
        if !known.iter().any(|k| k == default) {
            known.push(default.to_owned());
        }
    }
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| failed("sandbox", &e))?;

    let issuer_id = IssuerId::parse(keys.issuer_id.clone()).map_err(|e| failed("issuer id", &e))?;
    let mut d1 = D1Config::new(
        sandbox.auth_base_url(),
        sandbox.banking_base_url(),
        issuer_id,
    );
    d1.extra_ca_pem = Some(pki.ca_cert_pem.clone());
    d1.trust_only_extra_ca = true;
    d1.retry = options.retry.clone();
    let signing_key =
        SigningKey::from_jwk_json(Zeroizing::new(keys.signing_private_jwk.to_string()))
            .map_err(|e| failed("signing key", &e))?;
    let client = D1Client::new(d1, signing_key).map_err(|e| failed("client", &e))?;
    let encryption_key = EncryptionKey::from_jwk_value(&keys.encryption_public_jwk)
        .map_err(|e| failed("encryption key", &e))?;
    Ok(TrainingD1 {
        sandbox,
        client,
        encryption_key,
    })
}

fn sandbox_product(product: &crate::catalog::Product) -> d1_sandbox::ProductConfig {
    d1_sandbox::ProductConfig {
        id: product.id.clone(),
        bin_ranges: product
            .rules
            .bin_ranges
            .iter()
            .map(|r| d1_sandbox::BinRange {
                low: r.from_prefix(),
                high: r.to_prefix(),
            })
            .collect(),
        pan_lengths: product
            .rules
            .pan_lengths
            .iter()
            .filter_map(|l| usize::try_from(*l).ok())
            .collect(),
        exp_format: match product.rules.exp_format {
            d1_client::ExpFormat::Yymm => d1_sandbox::ExpFormat::Yymm,
            d1_client::ExpFormat::Mmyy => d1_sandbox::ExpFormat::Mmyy,
        },
        issuance: product.issuance_types.clone(),
        payment_application_configs: vec![product.payment_application.config.clone()],
    }
}

fn load_or_create_keys(data_dir: &Path) -> Result<TestKeys, WorkflowError> {
    let path = data_dir.join(KEYS_FILE);
    let failed = |e: &dyn std::fmt::Display| {
        WorkflowError::Training(format!("training keys at {}: {e}", path.display()))
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            // A keys file left readable by others (an older version, a copy) is narrowed.
            desk_config::private_fs::make_file_private(&path).map_err(|e| failed(&e))?;
            serde_json::from_slice(&bytes).map_err(|e| failed(&e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = TestKeys::try_generate_for(TRAINING_ISSUER_ID).map_err(|e| failed(&e))?;
            desk_config::private_fs::create_private_dir(data_dir).map_err(|e| failed(&e))?;
            let json = Zeroizing::new(serde_json::to_vec_pretty(&keys).map_err(|e| failed(&e))?);
            write_private(&path, &json).map_err(|e| failed(&e))?;
            Ok(keys)
        }
        Err(e) => Err(failed(&e)),
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    desk_config::private_fs::create_new_private_file()
        .open(path)?
        .write_all(bytes)
}
