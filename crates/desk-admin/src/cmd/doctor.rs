//! `doctor`: configuration, keychain, TLS and a real token fetch, and optionally a card's
//! production status. In training it starts the in-process training D1 in a temporary
//! directory and checks against it, so it works on a fresh machine.

use clap::Args;
use d1_client::{CorrelationId, D1Client, D1Error, Endpoint};
use desk_config::{Config, Environment};
use order_workflow::{setup, training};

use crate::cmd::{card_id, load_config, secret_store};
use crate::error::{AdminError, Outcome};
use crate::output::line;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also show D1's production status of this cardId (from the journal export).
    #[arg(long, value_name = "ID")]
    pub card_id: Option<String>,
}

fn ok(what: &str, detail: impl std::fmt::Display) {
    line(format!("[ok]   {what:<14} {detail}"));
}

fn fail(what: &str, error: AdminError) -> AdminError {
    line(format!("[FAIL] {what:<14} {error}"));
    error
}

pub fn run(args: &DoctorArgs, dev: bool) -> Outcome {
    // The card id is checked before anything else: a usage error is not a failed check.
    let card = args.card_id.as_deref().map(card_id).transpose()?;
    let loaded = load_config().map_err(|e| fail("configuration", e))?;
    let config = &loaded.config;
    let read: Vec<String> = loaded
        .files
        .iter()
        .filter(|f| f.read)
        .map(|f| f.path.display().to_string())
        .collect();
    ok(
        "configuration",
        format!(
            "valid; environment {}; files: {}",
            config.environment,
            if read.is_empty() {
                "none (built-in defaults)".into()
            } else {
                read.join(", ")
            }
        ),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| AdminError::Failed(format!("cannot start the async runtime: {e}")))?;
    let d1 = if config.environment == Environment::Training {
        runtime.block_on(training_checks(config, card))
    } else {
        let client = keychain_and_client(config, dev).map_err(|e| fail("keychain", e))?;
        runtime.block_on(d1_checks(&client, "D1", card))
    };
    let ledger = runtime.block_on(ledger_check(config, dev));
    d1.and(ledger)
}

/// The branch ledger, when one is configured: this desk's certificate from the keychain, a real
/// TLS connection, its registration, and how far its changes have reached.
async fn ledger_check(config: &Config, dev: bool) -> Outcome {
    if !config.ledger.is_configured() {
        ok(
            "ledger",
            "not configured: this desk works alone on its journal",
        );
        return Ok(());
    }
    let options = secret_store(config, dev)
        .and_then(|store| {
            setup::ledger_options(config, &store).map_err(|e| AdminError::Config(e.to_string()))
        })
        .map_err(|e| fail("ledger", e))?;
    let Some(options) = options else {
        return Ok(());
    };
    let unreachable = |e: branch_ledger::LedgerError| {
        fail("ledger", AdminError::Ledger(format!("{e} ({})", e.kind())))
    };
    let ledger = branch_ledger::Ledger::connect(&options)
        .await
        .map_err(unreachable)?;
    let held = ledger.last_seq().await.map_err(unreachable)?;
    let identity = ledger.identity();
    ok(
        "ledger",
        format!(
            "connected as desk {} of branch {} (TLS, certificate); it holds this desk's changes up to #{held}",
            identity.desk_id, identity.branch_id
        ),
    );
    Ok(())
}

async fn training_checks(config: &Config, card: Option<d1_client::CardId>) -> Outcome {
    let dir = tempfile::tempdir()
        .map_err(|e| AdminError::Failed(format!("cannot create a temporary directory: {e}")))?;
    let catalog = setup::catalog(config);
    let d1 = training::start(dir.path(), &catalog, &training::TrainingOptions::default())
        .await
        .map_err(|e| fail("training D1", AdminError::Failed(e.to_string())))?;
    ok(
        "training D1",
        format!(
            "started at {} (no keychain needed)",
            d1.sandbox.banking_base_url()
        ),
    );
    let result = d1_checks(&d1.client, "training D1", card).await;
    d1.sandbox.stop().await;
    result
}

fn keychain_and_client(config: &Config, dev: bool) -> Result<D1Client, AdminError> {
    let store = secret_store(config, dev)?;
    let status = store.status().map_err(|e| AdminError::from_secrets(&e))?;
    let token = crate::cmd::token::open(&store, config)?;
    let mtls_key_present = match &token {
        None => {
            let Some(key) = &status.signing_key else {
                return Err(AdminError::Failed(format!(
                    "no signing key in {}: import it with `issuance-desk-admin secrets import --signing-key FILE`",
                    status.service
                )));
            };
            ok(
                "keychain",
                format!("{}: signing key {}", status.service, key.fingerprint),
            );
            status.mtls_key_present
        }
        Some((token, labels)) => {
            let label = labels.signing()?;
            let fingerprint = token.fingerprint(label).map_err(|e| {
                AdminError::Failed(format!(
                    "{e} (import the signing key with `secrets import --signing-key FILE`, or generate one with `secrets generate --signing`)"
                ))
            })?;
            ok(
                "PKCS#11 token",
                format!(
                    "{:?}: signing key {label:?} {fingerprint} (signs on the token)",
                    token.label()
                ),
            );
            config.d1.use_mtls && token.fingerprint(labels.tls()?).is_ok()
        }
    };
    if config.d1.use_mtls {
        match (&status.mtls_certificate, mtls_key_present) {
            (Some(cert), true) if !cert.expired => ok(
                "mTLS identity",
                format!(
                    "{} (expires {}){}",
                    cert.subject,
                    cert.not_after,
                    if token.is_some() {
                        ", key on the token"
                    } else {
                        ""
                    }
                ),
            ),
            (Some(cert), true) => {
                return Err(AdminError::Failed(format!(
                    "the mTLS certificate {} expired on {}: import a new one",
                    cert.subject, cert.not_after
                )));
            }
            _ => {
                return Err(AdminError::Failed(
                    "d1.use_mtls is true but the mTLS identity is not complete: import it with --mtls-cert and --mtls-key".into(),
                ));
            }
        }
    }
    // The desk's own set-up: with a token, the assertion and the TLS handshake sign there.
    let (client, _encryption_key) =
        setup::d1_client(config, &store).map_err(|e| AdminError::Config(e.to_string()))?;
    Ok(client)
}

/// A D1 error as an exit code: settings → 3, our key → 1, anything on the way to D1 → 5. The
/// message is for IT (`it_advice`), with D1's reason when it gave one.
fn d1_failure(error: &D1Error) -> AdminError {
    let message = crate::cmd::it_advice::explain(error);
    match error {
        D1Error::Config { .. } => AdminError::Config(message),
        D1Error::Signing => AdminError::Failed(message),
        D1Error::NotFound {
            endpoint: Endpoint::Status,
            ..
        } => AdminError::Failed(message),
        _ => AdminError::D1(message),
    }
}

async fn d1_checks(client: &D1Client, name: &str, card: Option<d1_client::CardId>) -> Outcome {
    client
        .ensure_token()
        .await
        .map_err(|e| fail("TLS + token", d1_failure(&e)))?;
    tracing::info!(
        tokens_fetched = client.tokens_fetched(),
        "doctor fetched a token"
    );
    ok("TLS + token", format!("{name} issued an access token"));
    if let Some(card) = card {
        let correlation_id = CorrelationId::generate();
        let op = client
            .production_status(&card, &correlation_id)
            .await
            .map_err(|e| fail("card status", d1_failure(&e)))?;
        ok(
            "card status",
            format!(
                "{}: {} {} ({}){}",
                card.as_str(),
                op.operation,
                op.status.as_str(),
                op.details.status.as_str(),
                op.details
                    .reason
                    .map(|r| format!(", reason {r}"))
                    .unwrap_or_default()
            ),
        );
    }
    line("All checks passed.");
    Ok(())
}
