//! Test helpers: JWTs and JWEs are made here with josekit directly (never with d1-client).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use d1_sandbox::testkit::TestKeys;
use d1_sandbox::{ProductionClock, Sandbox, SandboxConfig, SandboxHandle};
use josekit::jwe::{ECDH_ES, JweHeader};
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};

/// Luhn-valid, in DEMO_DEBIT's BIN range, and not a famous test number.
pub const CANARY_PAN: &str = "4000056655665556";
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn jwk(v: &Value) -> Jwk {
    Jwk::from_map(v.as_object().unwrap().clone()).unwrap()
}

/// Claims of an assertion; `None` leaves the claim out.
pub struct Claims {
    pub kid: Option<String>,
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub exp: Option<i64>,
}

impl Claims {
    pub fn valid(keys: &TestKeys) -> Self {
        Self {
            kid: Some(keys.signing_kid.clone()),
            iss: Some(keys.issuer_id.clone()),
            sub: Some(keys.issuer_id.clone()),
            exp: Some(now() + 300),
        }
    }
}

/// ES256 JWT signed with `private_jwk`.
pub fn sign(private_jwk: &Value, claims: &Claims) -> String {
    // josekit copies the JWK's kid into the header: strip it so the header says exactly
    // what the test asks for.
    let mut key = private_jwk.clone();
    key.as_object_mut().unwrap().remove("kid");
    let signer = ES256.signer_from_jwk(&jwk(&key)).unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    if let Some(kid) = &claims.kid {
        header.set_key_id(kid);
    }
    let mut payload = JwtPayload::new();
    if let Some(iss) = &claims.iss {
        payload.set_issuer(iss);
    }
    if let Some(sub) = &claims.sub {
        payload.set_subject(sub);
    }
    if let Some(exp) = claims.exp {
        payload.set_claim("exp", Some(json!(exp))).unwrap();
    }
    payload.set_issued_at(&SystemTime::now());
    payload.set_jwt_id(uuid::Uuid::new_v4().to_string());
    josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
}

pub fn assertion(keys: &TestKeys) -> String {
    sign(&keys.signing_private_jwk, &Claims::valid(keys))
}

/// Compact JWE, ECDH-ES + A256GCM, `kid` in the protected header.
pub fn jwe_with(public_jwk: &Value, kid: &str, enc: &str, plaintext: &str) -> String {
    let mut key = public_jwk.clone();
    key.as_object_mut().unwrap().remove("kid");
    let encrypter = ECDH_ES.encrypter_from_jwk(&jwk(&key)).unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption(enc);
    header.set_key_id(kid);
    josekit::jwe::serialize_compact(plaintext.as_bytes(), &header, &encrypter).unwrap()
}

pub fn jwe(keys: &TestKeys, plaintext: &str) -> String {
    jwe_with(
        &keys.encryption_public_jwk,
        &keys.encryption_kid,
        "A256GCM",
        plaintext,
    )
}

/// An expiry three years ahead, YYMM.
pub fn future_yymm() -> String {
    let year = time::OffsetDateTime::now_utc().year() + 3;
    format!("{:02}12", year % 100)
}

pub fn card(pan: &str) -> Value {
    json!({"pan": pan, "exp": future_yymm(), "name": "ADA LOVELACE"})
}

/// A complete, valid INSTANT order for DEMO_DEBIT with the given card data.
pub fn body_with(keys: &TestKeys, card: &Value) -> Value {
    json!({
        "distributionChannel": "INSTANT",
        "consumerId": "consumer-1",
        "cardProductId": "DEMO_DEBIT",
        "persoStation": "BRANCH-PS-01",
        "issuerRequestId": format!("req-{}", uuid::Uuid::new_v4().simple()),
        "services": {"issuance": "CREATION", "priority": "STANDARD"},
        "encryptedData": jwe(keys, &card.to_string()),
        "paymentApplication": {"config": "VIS_163", "odaKeyIndex": "01", "derivationKeyIndex": "A1"},
        "cardDesign": {"artworkId": "ART-1", "customLines": ["Élodie Ñúñez 42"]}
    })
}

pub fn body(keys: &TestKeys) -> Value {
    body_with(keys, &card(CANARY_PAN))
}

pub fn card_id() -> String {
    format!("card-{}", uuid::Uuid::new_v4().simple())
}

pub struct Env {
    pub sandbox: SandboxHandle,
    pub keys: TestKeys,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub correlation: Option<String>,
}

impl Reply {
    pub fn code(&self) -> Option<&str> {
        self.body.get("errorCode").and_then(Value::as_str)
    }
    pub fn error(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }
    /// (status, errorCode, error)
    pub fn triple(&self) -> (u16, Option<&str>, Option<&str>) {
        (self.status, self.code(), self.error())
    }
}

pub async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let correlation = r
        .headers()
        .get("x-correlation-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        body,
        correlation,
    }
}

impl Env {
    /// Training setup with fresh keys and the stepped clock.
    pub async fn start() -> Env {
        Self::start_with(|c| c.with_clock(ProductionClock::Stepped)).await
    }

    pub async fn start_with(adjust: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Env {
        let keys = TestKeys::generate();
        let config = adjust(SandboxConfig::training().with_keys(&keys));
        let sandbox = Sandbox::start(config).await.unwrap();
        Env {
            sandbox,
            keys,
            http: reqwest::Client::new(),
        }
    }

    pub async fn token_reply(&self, form: &[(&str, &str)]) -> Reply {
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.sandbox.auth_base_url()))
            .form(form)
            .send()
            .await
            .unwrap();
        reply(r).await
    }

    pub async fn token(&self) -> String {
        let a = assertion(&self.keys);
        let r = self
            .token_reply(&[("grant_type", GRANT), ("assertion", &a)])
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub fn card_url(&self, issuer: &str, card_id: &str, tail: &str) -> String {
        format!(
            "{}/issuers/{issuer}/physicalCards/{card_id}/{tail}",
            self.sandbox.banking_base_url()
        )
    }

    pub async fn order_raw(
        &self,
        token: &str,
        issuer: &str,
        card_id: &str,
        body: Vec<u8>,
    ) -> Reply {
        let r = self
            .http
            .post(self.card_url(issuer, card_id, "operations:production"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        reply(r).await
    }

    pub async fn order(&self, token: &str, card_id: &str, body: &Value) -> Reply {
        self.order_raw(
            token,
            &self.keys.issuer_id,
            card_id,
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn status(&self, token: &str, card_id: &str) -> Reply {
        let r = self
            .http
            .get(self.card_url(&self.keys.issuer_id, card_id, "productionStatus"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        reply(r).await
    }

    /// `details.status` of the last operation of a card.
    pub async fn detail(&self, token: &str, card_id: &str) -> (String, String) {
        let r = self.status(token, card_id).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let ops = r.body["operations"].as_array().unwrap();
        let last = ops.last().unwrap();
        (
            last["status"].as_str().unwrap().to_owned(),
            last["details"]["status"].as_str().unwrap().to_owned(),
        )
    }
}
