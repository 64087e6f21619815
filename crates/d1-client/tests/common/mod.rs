//! Shared test helpers: key material, a valid request and card, and a tracing capture.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use d1_client::{
    CardData, CardDataInput, CardRequestInstant, EncryptionKey, PaymentApplication, ProductRules,
    Services, SigningKey,
};
use josekit::jwe::ECDH_ES;
use josekit::jwk::Jwk;
use josekit::jws::ES256;
use zeroize::Zeroizing;

/// A Luhn-valid PAN that must never show up in any log line or error text.
pub const CANARY_PAN: &str = "4000056655665556";

pub fn signing_pair() -> (SigningKey, Jwk) {
    let pair = ES256.generate_key_pair().unwrap();
    let mut private = pair.to_jwk_private_key();
    private.set_key_id("sig-1");
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("sig-1");
    (
        SigningKey::from_jwk_json(Zeroizing::new(private.to_string())).unwrap(),
        public,
    )
}

pub fn encryption_pair() -> (EncryptionKey, Jwk) {
    let pair = ECDH_ES
        .generate_ec_key_pair(josekit::jwk::alg::ec::EcCurve::P256)
        .unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("enc-1");
    let mut private = pair.to_jwk_private_key();
    private.set_key_id("enc-1");
    (
        EncryptionKey::from_jwk_json(&public.to_string()).unwrap(),
        private,
    )
}

pub fn card() -> CardData {
    let input = CardDataInput::new(CANARY_PAN, "12/39", "JANE Q DOE");
    CardData::from_input(&input, &ProductRules::default()).unwrap()
}

pub fn request(station: &str, product: &str, config: &str) -> CardRequestInstant {
    CardRequestInstant {
        card_product_id: Some(product.into()),
        perso_station: station.into(),
        services: Services {
            issuance: "CREATION".into(),
            ..Default::default()
        },
        payment_application: PaymentApplication {
            config: config.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Collects every formatted tracing event (all targets, TRACE level) into a buffer.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Installs the capture for the current thread (use a current-thread runtime).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts that no error text and no captured log line holds card data or a JOSE token.
pub fn assert_no_secrets(capture: &Capture, errors: &[String]) {
    let logs = capture.text();
    assert!(!logs.is_empty(), "the capture saw no log lines at all");
    for (what, text) in std::iter::once(("logs", &logs)).chain(errors.iter().map(|e| ("error", e)))
    {
        assert!(!text.contains(CANARY_PAN), "canary PAN in {what}");
        assert!(!text.contains("5665566555"), "PAN fragment in {what}");
        assert!(
            !text.contains("eyJ"),
            "a JOSE token (JWE/assertion) in {what}"
        );
    }
}

/// Every human-facing rendering of an error.
pub fn render(e: &d1_client::D1Error) -> String {
    format!("{e} | {e:?} | {} | {}", e.user_message(), e.what_to_do())
}
