//! Plants a canary PAN (and name, token, assertion, JWE, private key) and scans everything the
//! sandbox writes to tracing at TRACE level, plus every answer it gives.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn card_data_tokens_and_assertions_never_reach_logs_or_answers() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .init();

    let env = Env::start().await;
    let canary_name = "CANARY ZQXJ NAME";
    let a = assertion(&env.keys);
    let r = env
        .token_reply(&[("grant_type", GRANT), ("assertion", &a)])
        .await;
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    // The token answer is the one place a token legitimately appears: not scanned.
    let mut answers: Vec<String> = Vec::new();

    let card_data = json!({"pan": CANARY_PAN, "exp": future_yymm(), "name": canary_name, "cvv2": "987", "pvv": "4321"});
    let good = body_with(&env.keys, &card_data);
    let jwe = good["encryptedData"].as_str().unwrap().to_owned();
    let card = card_id();
    // Accepted order.
    answers.push(env.order(&token, &card, &good).await.body.to_string());
    // Refused by the duplicate guard.
    answers.push(env.order(&token, &card, &good).await.body.to_string());
    // Refused for the product (PAN in another product's range), for a bad expiry, for a PAN
    // one digit off the canary, and a plaintext that is not JSON but holds the PAN.
    let mut wrong_product = good.clone();
    wrong_product["cardProductId"] = json!("DEMO_CREDIT");
    wrong_product["paymentApplication"]["config"] = json!("MCA_123");
    answers.push(
        env.order(&token, &card_id(), &wrong_product)
            .await
            .body
            .to_string(),
    );
    let bad_exp = json!({"pan": CANARY_PAN, "exp": "0001", "name": canary_name});
    answers.push(
        env.order(&token, &card_id(), &body_with(&env.keys, &bad_exp))
            .await
            .body
            .to_string(),
    );
    let mut not_json = good.clone();
    not_json["encryptedData"] = json!(jwe_with(
        &env.keys.encryption_public_jwk,
        &env.keys.encryption_kid,
        "A256GCM",
        &format!("pan={CANARY_PAN}")
    ));
    answers.push(
        env.order(&token, &card_id(), &not_json)
            .await
            .body
            .to_string(),
    );
    // The PAN typed into a printed line by mistake (schema-valid): still never logged.
    let mut in_line = body(&env.keys);
    in_line["cardDesign"]["customLines"] = json!([CANARY_PAN]);
    answers.push(
        env.order(&token, &card_id(), &in_line)
            .await
            .body
            .to_string(),
    );
    // Bad assertion and bad token.
    answers.push(
        env.token_reply(&[("grant_type", GRANT), ("assertion", &format!("{a}x"))])
            .await
            .body
            .to_string(),
    );
    answers.push(
        env.status(&format!("{token}x"), &card)
            .await
            .body
            .to_string(),
    );
    // Dropped connection after reading.
    env.sandbox.control().drop_after_read_next(1);
    let _ = env
        .http
        .post(env.card_url(&env.keys.issuer_id, &card_id(), "operations:production"))
        .bearer_auth(&token)
        .json(&body_with(&env.keys, &card_data))
        .send()
        .await;
    answers.push(env.status(&token, &card).await.body.to_string());
    env.sandbox.control().station_offline("BRANCH-PS-01", "jam");
    env.sandbox.control().advance_production();
    env.sandbox.control().advance_production();

    let private_d = env.keys.encryption_private_jwk["d"]
        .as_str()
        .unwrap()
        .to_owned();
    let signing_d = env.keys.signing_private_jwk["d"]
        .as_str()
        .unwrap()
        .to_owned();
    let Env { sandbox, .. } = env;
    sandbox.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("order accepted"),
        "the capture works:\n{logs}"
    );
    assert!(logs.contains("D1 request"));
    let forbidden = [
        ("PAN", CANARY_PAN),
        ("name", canary_name),
        ("access token", token.as_str()),
        ("assertion", a.as_str()),
        ("JWE", jwe.as_str()),
        ("encryption private key", private_d.as_str()),
        ("signing private key", signing_d.as_str()),
    ];
    for (what, secret) in forbidden {
        assert!(!logs.contains(secret), "{what} found in the logs");
        for answer in &answers {
            assert!(
                !answer.contains(secret),
                "{what} found in an answer: {answer}"
            );
        }
    }
    // Not even the last four digits in a PAN-like form.
    assert!(!logs.contains("665556"));
}
