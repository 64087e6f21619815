//! Every fault, driven by SandboxControl, by the `/_sandbox/…` HTTP API and by configuration.
#![allow(clippy::unwrap_used, clippy::too_many_arguments)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use d1_sandbox::{DataExceptionConfig, FailNextConfig, ProductionClock, SandboxConfig};
use serde_json::{Value, json};

async fn control_post(env: &Env, path: &str, body: Value) -> u16 {
    env.http
        .post(format!("{}/{path}", env.sandbox.control_base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn fail_next_503_then_recovers_and_records_nothing() {
    let env = Env::start().await;
    let token = env.token().await;
    env.sandbox.control().fail_next(2, 503);
    let card = card_id();
    for _ in 0..2 {
        let r = env.order(&token, &card, &body(&env.keys)).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.body, Value::Null, "503 has no body");
    }
    assert_eq!(env.sandbox.control().orders_accepted(), 0);
    assert_eq!(
        env.status(&token, &card).await.status,
        404,
        "nothing was recorded"
    );
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
}

#[tokio::test]
async fn fail_next_500_applies_to_status_reads_too() {
    let env = Env::start().await;
    let token = env.token().await;
    let card = card_id();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
    env.sandbox.control().fail_next(1, 500);
    let r = env.status(&token, &card).await;
    assert_eq!((r.status, r.code()), (500, Some("INTERNAL_ERROR")));
    assert_eq!(env.status(&token, &card).await.status, 200);
    // The token endpoint is not a banking call.
    env.sandbox.control().fail_next(1, 503);
    env.token().await;
    assert_eq!(env.status(&token, &card).await.status, 503);
}

#[tokio::test]
async fn drop_after_read_records_the_order_but_sends_no_answer() {
    let env = Env::start().await;
    let token = env.token().await;
    let card = card_id();
    let b = body(&env.keys);
    env.sandbox.control().drop_after_read_next(1);
    let sent = env
        .http
        .post(env.card_url(&env.keys.issuer_id, &card, "operations:production"))
        .bearer_auth(&token)
        .json(&b)
        .send()
        .await;
    let err = sent.expect_err("the connection must close without a response");
    assert!(!err.is_status(), "{err}");
    assert_eq!(env.sandbox.control().orders_accepted(), 1);
    // The client reconciles through productionStatus: the order is there.
    let s = env.status(&token, &card).await;
    assert_eq!(s.status, 200);
    assert_eq!(
        s.body["operations"][0]["issuerRequestId"],
        b["issuerRequestId"]
    );
    // A blind resend of the same order is refused by the duplicate guard.
    let r = env.order(&token, &card, &b).await;
    assert_eq!(
        r.triple(),
        (403, Some("OPERATION_NOT_ALLOWED"), Some("cardId"))
    );
}

#[tokio::test]
async fn latency_is_added_before_answers() {
    let env = Env::start().await;
    let token = env.token().await;
    env.sandbox
        .control()
        .set_latency(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(env.status(&token, &card_id()).await.status, 404);
    // A lower bound only: the sleep guarantees it, so this cannot flake.
    assert!(started.elapsed() >= Duration::from_millis(300));
    env.sandbox.control().set_latency(Duration::ZERO);
}

#[tokio::test]
async fn station_offline_fails_at_the_station_with_its_reason_and_comes_back() {
    let env = Env::start().await;
    let token = env.token().await;
    let control = env.sandbox.control();
    control.station_offline("BRANCH-PS-01", "printer ribbon empty");
    let card = card_id();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
    control.advance_production();
    assert_eq!(
        env.detail(&token, &card).await,
        ("PENDING".into(), "CARD_PROD_READY".into())
    );
    control.advance_production();
    let s = env.status(&token, &card).await;
    let op = &s.body["operations"][0];
    assert_eq!(op["status"], "FAILED");
    assert_eq!(op["details"]["status"], "CARD_PROD_EXCEPTION");
    assert_eq!(op["details"]["reason"], "printer ribbon empty");
    assert!(op["endTime"].is_string());

    // Another station is unaffected; after station_online the first works again.
    let mut b = body(&env.keys);
    b["persoStation"] = json!("BRANCH-PS-02");
    let other = card_id();
    assert_eq!(env.order(&token, &other, &b).await.status, 202);
    control.station_online("BRANCH-PS-01");
    let again = card_id();
    assert_eq!(
        env.order(&token, &again, &body(&env.keys)).await.status,
        202
    );
    control.advance_production();
    control.advance_production();
    assert_eq!(env.detail(&token, &other).await.1, "CARD_PROD_DONE");
    assert_eq!(env.detail(&token, &again).await.1, "CARD_PROD_DONE");
}

#[tokio::test]
async fn data_exception_next_n_orders() {
    let env = Env::start().await;
    let token = env.token().await;
    let control = env.sandbox.control();
    control.data_exception_next(1, "EMV profile mismatch");
    let (a, b) = (card_id(), card_id());
    assert_eq!(env.order(&token, &a, &body(&env.keys)).await.status, 202);
    assert_eq!(env.order(&token, &b, &body(&env.keys)).await.status, 202);
    control.advance_production();
    let s = env.status(&token, &a).await;
    let op = &s.body["operations"][0];
    assert_eq!(op["status"], "FAILED");
    assert_eq!(op["details"]["status"], "DATA_EXCEPTION");
    assert_eq!(op["details"]["reason"], "EMV profile mismatch");
    assert_eq!(env.detail(&token, &b).await.1, "CARD_PROD_READY");
}

#[tokio::test]
async fn expire_tokens_gives_401_then_a_new_token_works() {
    let env = Env::start().await;
    let token = env.token().await;
    let card = card_id();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
    env.sandbox.control().expire_tokens();
    let r = env.status(&token, &card).await;
    assert_eq!((r.status, r.code()), (401, Some("AUTHORIZER_UNAUTHORIZED")));
    let fresh = env.token().await;
    assert_eq!(env.status(&fresh, &card).await.status, 200);
}

#[tokio::test]
async fn faults_from_configuration() {
    let env = Env::start_with(|mut c: SandboxConfig| {
        c.production_clock = ProductionClock::Stepped;
        c.faults.fail_next = Some(FailNextConfig {
            count: 1,
            status: 503,
        });
        c.faults.data_exception_next = Some(DataExceptionConfig {
            count: 1,
            reason: "configured data exception".into(),
        });
        c.faults
            .stations_offline
            .insert("BRANCH-PS-02".into(), "configured offline".into());
        c.faults.drop_after_read_next = 1;
        c.faults.latency_ms = 20;
        c
    })
    .await;
    let token = env.token().await;
    let card = card_id();
    let started = Instant::now();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 503);
    assert!(started.elapsed() >= Duration::from_millis(20));
    // The next order is read, recorded (and takes the data exception), then dropped.
    let sent = env
        .http
        .post(env.card_url(&env.keys.issuer_id, &card, "operations:production"))
        .bearer_auth(&token)
        .json(&body(&env.keys))
        .send()
        .await;
    assert!(sent.is_err());
    env.sandbox.control().advance_production();
    assert_eq!(env.detail(&token, &card).await.1, "DATA_EXCEPTION");
    let mut b = body(&env.keys);
    b["persoStation"] = json!("BRANCH-PS-02");
    let card2 = card_id();
    assert_eq!(env.order(&token, &card2, &b).await.status, 202);
    env.sandbox.control().advance_production();
    env.sandbox.control().advance_production();
    let s = env.status(&token, &card2).await;
    assert_eq!(
        s.body["operations"][0]["details"]["reason"],
        "configured offline"
    );
}

#[tokio::test]
async fn early_token_expiry_from_configuration() {
    // Tokens announce 900 s but stop working at once.
    let env = Env::start_with(|mut c: SandboxConfig| {
        c.faults.token_actual_lifetime_secs = Some(0);
        c
    })
    .await;
    let a = assertion(&env.keys);
    let r = env
        .token_reply(&[("grant_type", GRANT), ("assertion", &a)])
        .await;
    assert_eq!(r.body["expires_in"], 900);
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    let r = env.order(&token, &card_id(), &body(&env.keys)).await;
    assert_eq!((r.status, r.code()), (401, Some("AUTHORIZER_UNAUTHORIZED")));
    assert_eq!(r.error(), Some("access token has expired"));
}

#[tokio::test]
async fn http_control_api_drives_every_fault() {
    let env = Env::start().await;
    let token = env.token().await;

    assert_eq!(
        control_post(&env, "faults/fail-next", json!({"count": 1, "status": 503})).await,
        204
    );
    assert_eq!(env.status(&token, &card_id()).await.status, 503);
    assert_eq!(
        control_post(&env, "faults/fail-next", json!({"count": 1, "status": 200})).await,
        400
    );

    assert_eq!(
        control_post(&env, "faults/latency", json!({"millis": 50})).await,
        204
    );
    let started = Instant::now();
    env.status(&token, &card_id()).await;
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(
        control_post(&env, "faults/latency", json!({"millis": 0})).await,
        204
    );

    assert_eq!(
        control_post(
            &env,
            "stations/BRANCH-PS-01/offline",
            json!({"reason": "jam"})
        )
        .await,
        204
    );
    assert_eq!(
        control_post(
            &env,
            "faults/data-exception",
            json!({"count": 1, "reason": "bad data"})
        )
        .await,
        204
    );
    let (a, b) = (card_id(), card_id());
    assert_eq!(env.order(&token, &a, &body(&env.keys)).await.status, 202);
    assert_eq!(env.order(&token, &b, &body(&env.keys)).await.status, 202);
    assert_eq!(
        control_post(&env, "production/advance", json!({})).await,
        204
    );
    assert_eq!(env.detail(&token, &a).await.1, "DATA_EXCEPTION");
    assert_eq!(
        control_post(&env, "production/advance", json!({})).await,
        204
    );
    assert_eq!(env.detail(&token, &b).await.1, "CARD_PROD_EXCEPTION");
    assert_eq!(
        control_post(&env, "stations/BRANCH-PS-01/online", json!({})).await,
        204
    );

    assert_eq!(
        control_post(&env, "faults/drop-after-read", json!({"count": 1})).await,
        204
    );
    let c = card_id();
    let dropped = env
        .http
        .post(env.card_url(&env.keys.issuer_id, &c, "operations:production"))
        .bearer_auth(&token)
        .json(&body(&env.keys))
        .send()
        .await;
    assert!(dropped.is_err());
    assert_eq!(env.status(&token, &c).await.status, 200);

    assert_eq!(control_post(&env, "tokens/expire", json!({})).await, 204);
    assert_eq!(env.status(&token, &c).await.status, 401);

    assert_eq!(
        control_post(&env, "faults/fail-next", json!({"count": 5, "status": 500})).await,
        204
    );
    assert_eq!(control_post(&env, "faults/clear", json!({})).await, 204);
    let token = env.token().await;
    assert_eq!(env.status(&token, &c).await.status, 200);

    let counters: Value = env
        .http
        .get(format!("{}/counters", env.sandbox.control_base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        counters,
        json!({"tokensIssued": 2, "ordersAccepted": 3, "ordersReceived": 3})
    );
}

#[tokio::test]
async fn control_api_can_be_switched_off() {
    let env = Env::start_with(|mut c: SandboxConfig| {
        c.control_api = false;
        c
    })
    .await;
    assert_eq!(control_post(&env, "tokens/expire", json!({})).await, 404);
}

#[tokio::test]
async fn stop_closes_the_port() {
    let env = Env::start().await;
    let origin = env.sandbox.origin();
    let Env { sandbox, http, .. } = env;
    sandbox.stop().await;
    assert!(
        http.get(format!("{origin}/_sandbox/counters"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn fail_next_can_say_when_to_retry() {
    let env = Env::start().await;
    let token = env.token().await;
    env.sandbox.control().fail_next_retry_after(1, 503, 2);
    let card = card_id();
    let r = env
        .http
        .post(env.card_url(&env.keys.issuer_id, &card, "operations:production"))
        .bearer_auth(&token)
        .json(&body(&env.keys))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
    // Over HTTP too; without the field, no header.
    assert_eq!(
        control_post(
            &env,
            "faults/fail-next",
            json!({"count": 1, "status": 503, "retry_after_seconds": 1})
        )
        .await,
        204
    );
    let r = env.order(&token, &card_id(), &body(&env.keys)).await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn a_gateway_can_lose_the_answer_after_d1_recorded_the_order() {
    let env = Env::start().await;
    let token = env.token().await;
    env.sandbox.control().gateway_next(1, 504, true);
    let card = card_id();
    let r = env.order(&token, &card, &body(&env.keys)).await;
    assert_eq!(r.status, 504);
    assert!(
        r.body.as_str().is_some_and(|b| b.contains("<html>")),
        "a gateway's page, not D1's JSON: {:?}",
        r.body
    );
    assert_eq!(
        env.sandbox.control().orders_accepted(),
        1,
        "D1 has the order"
    );
    assert_eq!(env.status(&token, &card).await.status, 200);
}

#[tokio::test]
async fn a_gateway_can_fail_without_forwarding() {
    let env = Env::start().await;
    let token = env.token().await;
    assert_eq!(
        control_post(
            &env,
            "faults/gateway",
            json!({"count": 1, "status": 502, "forwards": false})
        )
        .await,
        204
    );
    let card = card_id();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 502);
    assert_eq!(env.sandbox.control().orders_received(), 1);
    assert_eq!(env.sandbox.control().orders_accepted(), 0);
    assert_eq!(env.status(&token, &card).await.status, 404);
    assert_eq!(
        control_post(
            &env,
            "faults/gateway",
            json!({"count": 1, "status": 200, "forwards": false})
        )
        .await,
        400,
        "a gateway fault is an error status"
    );
}

#[tokio::test]
async fn a_held_order_is_made_even_when_the_caller_gave_up() {
    let env = Env::start().await;
    let token = env.token().await;
    assert_eq!(
        control_post(&env, "faults/hold", json!({"count": 1, "millis": 600})).await,
        204
    );
    let card = card_id();
    let gave_up = env
        .http
        .post(env.card_url(&env.keys.issuer_id, &card, "operations:production"))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(100))
        .json(&body(&env.keys))
        .send()
        .await;
    assert!(gave_up.unwrap_err().is_timeout());
    assert_eq!(env.sandbox.control().orders_received(), 1);
    // While D1 holds it, it has no record yet: a 404 here does not mean "never received".
    assert_eq!(env.status(&token, &card).await.status, 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.sandbox.control().orders_accepted() == 0 {
        assert!(Instant::now() < deadline, "the held order was never made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(env.status(&token, &card).await.status, 200);
}
