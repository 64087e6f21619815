//! Canary PAN, CVV, token and private key go through every redacting type the app logs (card
//! data input, keychain secret bytes, D1 client errors and the client's own trace output); then
//! every file the logger wrote is scanned. Also: each line is JSON and fields stay structured.
//!
//! Needs an unlocked Secret Service: run under `scripts/with-keyring.sh`.
//! One process-wide logger per test binary, so this file holds one test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use axum::Json;
use axum::routing::{get, post};
use d1_client::{
    CardData, CardDataInput, CardId, CorrelationId, D1Client, D1Config, IssuerId, ProductRules,
    SigningKey,
};
use desk_config::LogLevel;
use desk_logging::{LogOptions, init};
use desk_secrets::{Namespace, SecretStore};
use zeroize::Zeroizing;

const CANARY_PAN: &str = "4000056655665556";
const CANARY_CVV: &str = "938";
const CANARY_TOKEN: &str = "tokCANARYq8ZxV3mW9";

fn all_log_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    out
}

async fn fake_d1() -> String {
    let app = axum::Router::new()
        .route(
            "/authz/v1/oauth2/token",
            post(|| async {
                Json(serde_json::json!({
                    "access_token": CANARY_TOKEN,
                    "expires_in": 300,
                    "token_type": "Bearer",
                    "scope": "x"
                }))
            }),
        )
        .route(
            "/banking/v1/issuers/{issuer}/physicalCards/{card}/productionStatus",
            get(|| async {
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    Json(serde_json::json!({"errorCode": "INTERNAL_ERROR", "error": "boom"})),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_reaches_any_log_file_and_lines_are_structured_json() {
    let dir = tempfile::tempdir().unwrap();
    let guard = init(LogOptions {
        directory: Some(dir.path().to_path_buf()),
        level: LogLevel::Trace,
        stderr: false,
        ..LogOptions::app()
    })
    .unwrap();
    assert_eq!(guard.directory(), dir.path());

    // 1. Card data as the form hands it over.
    let mut input = CardDataInput::new(CANARY_PAN, "12/30", "JANE CANARY");
    input.cvv2 = Some(CANARY_CVV.into());
    tracing::info!(card = ?input, "card data received");
    if let Err(errors) = CardData::from_input(&input, &ProductRules::default()) {
        tracing::warn!(errors = ?errors, "card data refused");
    }

    // 2. A private key read back from the real keychain.
    let keys = d1_sandbox::testkit::TestKeys::generate();
    let private_d = keys.signing_private_jwk["d"].as_str().unwrap().to_string();
    let store =
        SecretStore::new(Namespace::new("issuance-desk-test", "training", "LOGCANARY1").unwrap());
    store
        .import_signing_key(keys.signing_private_jwk.to_string().as_bytes())
        .unwrap();
    let pem = store.signing_key().unwrap();
    let pem_body: String = pem
        .expose_str()
        .unwrap()
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 40)
        .unwrap()
        .to_string();
    let jwk = store.signing_key_jwk("kid-1").unwrap();
    tracing::info!(key = ?pem, jwk = ?jwk, "signing key loaded");
    store.remove_all().unwrap();

    // 3. D1 client errors: a bad key carrying the PAN, then a whole token + status exchange
    //    (the client traces it) that ends in a 500.
    let bad = format!(r#"{{"kty":"EC","crv":"P-256","x":"{CANARY_PAN}","d":"{CANARY_PAN}"}}"#);
    if let Err(e) = SigningKey::from_jwk_json(Zeroizing::new(bad)) {
        tracing::error!(error = %e, debug = ?e, "signing key refused");
    }
    let origin = fake_d1().await;
    let mut config = D1Config::new(
        format!("{origin}/authz/v1"),
        format!("{origin}/banking/v1"),
        IssuerId::parse(keys.issuer_id.clone()).unwrap(),
    );
    config.allow_plain_http_loopback = true;
    config.retry = d1_client::RetryPolicy::none();
    let key =
        SigningKey::from_jwk_json(Zeroizing::new(keys.signing_private_jwk.to_string())).unwrap();
    let client = D1Client::new(config, key).unwrap();
    client.ensure_token().await.unwrap();
    let error = client
        .production_status(
            &CardId::parse("card-canary-1").unwrap(),
            &CorrelationId::generate(),
        )
        .await
        .unwrap_err();
    tracing::error!(error = %error, debug = ?error, report = ?error.report(), "status failed");

    // 4. Structured fields.
    tracing::info!(
        card_id = "card-77",
        operation_id = "op-9",
        duration_ms = 12u64,
        outcome = "accepted",
        "order accepted"
    );
    drop(guard);

    let text = all_log_text(dir.path());
    assert!(
        text.contains("card data received"),
        "the logger wrote nothing"
    );
    assert!(
        text.contains("d1 token fetched"),
        "the client's own logs are captured"
    );
    for (what, canary) in [
        ("PAN", CANARY_PAN),
        ("token", CANARY_TOKEN),
        ("private key (JWK d)", private_d.as_str()),
        ("private key (PEM)", pem_body.as_str()),
        ("cardholder name", "JANE CANARY"),
    ] {
        assert!(!text.contains(canary), "the {what} reached a log file");
    }
    let mut seen = false;
    for line in text.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if value["message"] == "card data received" {
            // The CVV is three digits, too short to scan for: every value in the card data is
            // redacted, so no digit is left once the field names are taken out.
            let card = value["card"].as_str().unwrap_or_default();
            assert!(card.contains("<redacted>"), "{card}");
            let mut rest = card.replace("<redacted>", "");
            for name in ["cvv2", "cvv1", "track1", "track2", "track3"] {
                rest = rest.replace(name, "");
            }
            assert!(!rest.chars().any(|c| c.is_ascii_digit()), "{card}");
        }
        if value["message"] == "order accepted" {
            seen = true;
            assert_eq!(value["card_id"], "card-77");
            assert_eq!(value["operation_id"], "op-9");
            assert_eq!(value["duration_ms"], 12, "numbers stay numbers");
            assert_eq!(value["level"], "INFO");
            assert!(value["timestamp"].is_string());
        }
    }
    assert!(seen, "the structured event is in the file");
}
