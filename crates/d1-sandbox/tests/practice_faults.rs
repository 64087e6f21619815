//! The faults training's practice mode uses: a station exception for the next order(s) and a
//! refused field, in process and over the control API.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn station_exception_next_fails_only_the_next_order_at_its_station() {
    let env = Env::start().await;
    let token = env.token().await;
    let control = env.sandbox.control();
    control.station_exception_next(1, "PRINTER_JAM");
    let (jammed, next) = (card_id(), card_id());
    assert_eq!(
        env.order(&token, &jammed, &body(&env.keys)).await.status,
        202
    );
    assert_eq!(env.order(&token, &next, &body(&env.keys)).await.status, 202);
    control.advance_production();
    // The data went to the station: the exception comes from the station step.
    assert_eq!(env.detail(&token, &jammed).await.1, "CARD_PROD_READY");
    control.advance_production();
    let s = env.status(&token, &jammed).await;
    let op = &s.body["operations"][0];
    assert_eq!(op["status"], "FAILED");
    assert_eq!(op["details"]["status"], "CARD_PROD_EXCEPTION");
    assert_eq!(op["details"]["reason"], "PRINTER_JAM");
    assert_eq!(env.detail(&token, &next).await.1, "CARD_PROD_DONE");
}

#[tokio::test]
async fn refuse_next_answers_field_invalid_value_and_records_nothing() {
    let env = Env::start().await;
    let token = env.token().await;
    env.sandbox.control().refuse_next(1, "consumerId");
    let card = card_id();
    let refused = env.order(&token, &card, &body(&env.keys)).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.code(), Some("FIELD_INVALID_VALUE"));
    assert!(refused.error().unwrap_or_default().contains("consumerId"));
    assert_eq!(env.sandbox.control().orders_accepted(), 0);
    assert_eq!(env.status(&token, &card).await.status, 404);
    // Only the next one: the same order goes through afterwards.
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
}

#[tokio::test]
async fn the_control_api_arms_both_faults_and_clear_disarms_them() {
    let env = Env::start().await;
    let token = env.token().await;
    let post = |path: &'static str, body: serde_json::Value| {
        let url = format!("{}/{path}", env.sandbox.control_base_url());
        let http = env.http.clone();
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post(
            "faults/refuse-field",
            json!({"count": 1, "field": "persoStation"})
        )
        .await,
        204
    );
    assert_eq!(post("faults/refuse-field", json!({"count": 1})).await, 422);
    assert_eq!(
        post(
            "faults/station-exception",
            json!({"count": 1, "reason": "OUT_OF_CARDS"})
        )
        .await,
        204
    );
    assert_eq!(post("faults/clear", json!({})).await, 204);
    let card = card_id();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
    env.sandbox.control().advance_production();
    env.sandbox.control().advance_production();
    assert_eq!(env.detail(&token, &card).await.1, "CARD_PROD_DONE");
}
