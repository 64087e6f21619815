//! The card-data JWE (our aws-lc-rs ECDH-ES encrypter inside josekit's compact JWE) read back by
//! others: josekit's own `EcdhEsJweDecrypter` (OpenSSL, an independent key agreement and Concat
//! KDF) for many tokens with varied card data, and the D1 sandbox over HTTPS + mTLS, which
//! decrypts every order's `encryptedData` and checks the card data (Luhn, BIN range, length,
//! expiry) before it accepts the order. Python jwcrypto reads the same tokens in
//! `scripts/bench-all.sh` (`crates/d1-client/benches/jwe_check.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use d1_client::{
    CardData, CardDataInput, D1Client, D1Config, IssuerId, OrderIds, OrderOutcome, PreparedOrder,
    ProductRules, RetryPolicy, SigningKey, encrypt_card_data, luhn_valid,
};
use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{ProductionClock, Sandbox, SandboxConfig};
use josekit::jwe::ECDH_ES;
use zeroize::Zeroizing;

/// A Luhn-valid 16-digit PAN in the sandbox's `DEMO_DEBIT` BIN range (400000–499999), one per `i`.
fn pan(i: u32) -> String {
    let body = format!("4{:014}", u64::from(i) * 7_919 + 1_234_567);
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|p| luhn_valid(p))
        .unwrap()
}

fn card_input(i: u32) -> CardDataInput {
    let mut input = CardDataInput::new(
        pan(i),
        format!("{:02}/{}", 1 + i % 12, 35 + i % 4),
        format!("HOLDER {} O'NEIL-SMITH", i % 1000),
    );
    input.cvv2 = i
        .is_multiple_of(2)
        .then(|| format!("{:03}", i % 1000).into());
    input.pan_sequence_number = Some(format!("{:02}", i % 100).into());
    input.second_name = i.is_multiple_of(3).then(|| "ACME LTD".into());
    input
}

#[test]
fn josekit_decrypts_a_thousand_tokens_to_their_exact_card_data() {
    let (key, private) = encryption_pair();
    let decrypter = ECDH_ES.decrypter_from_jwk(&private).unwrap();
    for i in 0..1000 {
        let input = card_input(i);
        let card = CardData::from_input(&input, &ProductRules::default()).unwrap();
        let jwe = encrypt_card_data(&card, &key).unwrap();
        let (plain, header) = josekit::jwe::deserialize_compact(jwe.as_str(), &decrypter)
            .unwrap_or_else(|e| panic!("token {i} does not decrypt: {e}"));
        assert_eq!(header.algorithm(), Some("ECDH-ES"));
        assert_eq!(header.content_encryption(), Some("A256GCM"));
        assert_eq!(header.key_id(), Some("enc-1"));
        let plain: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(plain["pan"], input.pan.expose(), "token {i}");
        assert_eq!(plain["name"], input.name.expose(), "token {i}");
        assert_eq!(
            plain["cvv2"].as_str(),
            input.cvv2.as_ref().map(|c| c.expose()),
            "token {i}"
        );
        assert_eq!(
            plain["secondName"].as_str(),
            input.second_name.as_ref().map(|n| n.expose()),
            "token {i}"
        );
        let (mm, yy) = input.exp.expose().split_once('/').unwrap();
        assert_eq!(plain["exp"], format!("{yy}{mm}"), "token {i}");
    }
}

#[test]
fn a_token_for_another_key_does_not_decrypt() {
    let (key, _) = encryption_pair();
    let (_, other_private) = encryption_pair();
    let decrypter = ECDH_ES.decrypter_from_jwk(&other_private).unwrap();
    let card = CardData::from_input(&card_input(1), &ProductRules::default()).unwrap();
    let jwe = encrypt_card_data(&card, &key).unwrap();
    assert!(josekit::jwe::deserialize_compact(jwe.as_str(), &decrypter).is_err());
}

#[tokio::test]
async fn the_sandbox_decrypts_and_accepts_two_hundred_orders() {
    let capture = Capture::default();
    let _guard = capture.install();
    let keys = TestKeys::generate();
    let pki = TestPki::generate();
    let sandbox = Sandbox::start(
        SandboxConfig::training()
            .with_keys(&keys)
            .with_clock(ProductionClock::Stepped)
            .with_tls(pki.server_tls(true)),
    )
    .await
    .unwrap();
    let mut config = D1Config::new(
        sandbox.auth_base_url(),
        sandbox.banking_base_url(),
        IssuerId::parse(&keys.issuer_id).unwrap(),
    );
    config.client_identity = Some(d1_client::ClientIdentity::from_pem(
        &pki.client_cert_pem,
        &pki.client_key_pem,
    ));
    config.extra_ca_pem = Some(pki.ca_cert_pem.clone());
    config.trust_only_extra_ca = true;
    config.retry = RetryPolicy::none();
    let signing =
        SigningKey::from_jwk_json(Zeroizing::new(keys.signing_private_jwk.to_string())).unwrap();
    let client = D1Client::new(config, signing).unwrap();
    let key = d1_client::EncryptionKey::from_jwk_value(&keys.encryption_public_jwk).unwrap();
    for i in 0..200 {
        let card = CardData::from_input(&card_input(i), &ProductRules::default()).unwrap();
        let order = PreparedOrder::prepare(
            request("BRANCH-PS-01", "DEMO_DEBIT", "VIS_163"),
            card,
            &key,
            OrderIds::generate(),
        )
        .unwrap();
        match client.order_card(&order).await {
            Ok(OrderOutcome::Accepted { .. }) => {}
            other => panic!("order {i} not accepted: {other:?}"),
        }
    }
    assert_eq!(sandbox.control().orders_accepted(), 200);
    sandbox.stop().await;
    assert_no_secrets(&capture, &[]);
}
