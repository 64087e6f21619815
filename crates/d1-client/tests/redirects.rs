//! No redirect is ever followed: a 307/308 from "D1" pointing at another host is an error
//! answer, and the assertion, the token and the JWE body never reach that host. Also the
//! assertion's wire form: integer `iat`/`exp`, `aud` only when configured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use common::*;
use d1_client::{
    CardId, CorrelationId, D1Client, D1Config, D1Error, IssuerId, OrderIds, PreparedOrder,
    RetryPolicy,
};

/// Everything the "other host" received: (path, body).
type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

async fn other_host() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .fallback(any(
            |State(r): State<Received>, uri: Uri, body: Bytes| async move {
                r.lock().unwrap().push((uri.path().to_string(), body));
                (
                    StatusCode::OK,
                    r#"{"access_token":"stolen","expires_in":900}"#,
                )
            },
        ))
        .with_state(received.clone());
    // Another loopback address: another host as far as the client can tell.
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (origin, received)
}

#[derive(Clone)]
struct D1 {
    elsewhere: String,
    redirect_token: bool,
    forms: Arc<Mutex<Vec<String>>>,
}

fn redirect(status: u16, to: String) -> Response {
    (StatusCode::from_u16(status).unwrap(), [("location", to)]).into_response()
}

async fn start_d1(elsewhere: &str, redirect_token: bool) -> (String, D1) {
    let d1 = D1 {
        elsewhere: elsewhere.to_string(),
        redirect_token,
        forms: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/authz/v1/oauth2/token",
            post(|State(d): State<D1>, body: Bytes| async move {
                d.forms
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).to_string());
                if d.redirect_token {
                    redirect(307, format!("{}/authz/v1/oauth2/token", d.elsewhere))
                } else {
                    axum::Json(serde_json::json!({"access_token": "tok", "expires_in": 900}))
                        .into_response()
                }
            }),
        )
        .fallback(any(|State(d): State<D1>, uri: Uri| async move {
            redirect(308, format!("{}{}", d.elsewhere, uri.path()))
        }))
        .with_state(d1.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (origin, d1)
}

fn client(origin: &str, audience: Option<&str>) -> D1Client {
    let mut c = D1Config::new(
        format!("{origin}/authz/v1"),
        format!("{origin}/banking/v1"),
        IssuerId::parse("ISSUER0001").unwrap(),
    );
    c.allow_plain_http_loopback = true;
    c.assertion_audience = audience.map(str::to_string);
    c.retry = RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
        budget: Duration::from_millis(20),
    };
    D1Client::new(c, signing_pair().0).unwrap()
}

#[tokio::test]
async fn a_307_on_the_token_request_is_not_followed_and_the_assertion_stays_home() {
    let (elsewhere, received) = other_host().await;
    let (origin, d1) = start_d1(&elsewhere, true).await;
    let err = client(&origin, None).ensure_token().await.unwrap_err();
    assert!(
        matches!(err, D1Error::UnexpectedStatus { status: 307, .. }),
        "{err:?}"
    );
    assert_eq!(d1.forms.lock().unwrap().len(), 1, "sent once, not retried");
    assert!(
        received.lock().unwrap().is_empty(),
        "the other host received {:?}",
        received.lock().unwrap()
    );
}

#[tokio::test]
async fn a_308_on_the_order_is_not_followed_and_the_jwe_is_not_resent() {
    let (elsewhere, received) = other_host().await;
    let (origin, _d1) = start_d1(&elsewhere, false).await;
    let (enc, _) = encryption_pair();
    let order = PreparedOrder::prepare(
        request("BRANCH-PS-01", "DEMO_DEBIT", "VIS_163"),
        card(),
        &enc,
        OrderIds {
            card_id: CardId::parse("c-redirect").unwrap(),
            issuer_request_id: d1_client::IssuerRequestId::generate(),
            correlation_id: CorrelationId::generate(),
        },
    )
    .unwrap();
    let client = client(&origin, None);
    let err = client.order_card(&order).await.unwrap_err();
    assert!(
        matches!(err, D1Error::UnexpectedStatus { status: 308, .. }),
        "{err:?}"
    );
    let err = client
        .production_status(order.card_id(), order.correlation_id())
        .await
        .unwrap_err();
    assert!(
        matches!(err, D1Error::UnexpectedStatus { status: 308, .. }),
        "{err:?}"
    );
    assert!(received.lock().unwrap().is_empty());
}

fn claims(form: &str) -> serde_json::Value {
    use base64::Engine;
    let form: std::collections::HashMap<String, String> = serde_urlencoded::from_str(form).unwrap();
    let payload = form["assertion"].split('.').nth(1).unwrap().to_string();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn the_assertion_has_integer_times_and_aud_only_when_configured() {
    let (elsewhere, _) = other_host().await;
    let (origin, d1) = start_d1(&elsewhere, false).await;
    client(&origin, None).ensure_token().await.unwrap();
    client(&origin, Some("https://api.d1.thalescloud.io"))
        .ensure_token()
        .await
        .unwrap();
    let forms = d1.forms.lock().unwrap().clone();
    let without = claims(&forms[0]);
    assert!(without["iat"].is_u64(), "{without}");
    assert!(without["exp"].is_u64(), "{without}");
    assert_eq!(
        without["exp"].as_u64().unwrap() - without["iat"].as_u64().unwrap(),
        300
    );
    assert!(without.get("aud").is_none(), "{without}");
    let with = claims(&forms[1]);
    assert_eq!(with["aud"], "https://api.d1.thalescloud.io");
}

#[test]
fn plain_http_needs_the_loopback_allowance() {
    let mut c = D1Config::new(
        "http://127.0.0.1:1/authz/v1",
        "http://127.0.0.1:1/banking/v1",
        IssuerId::parse("ISSUER0001").unwrap(),
    );
    let e = D1Client::new(c.clone(), signing_pair().0).unwrap_err();
    assert!(e.to_string().contains("https://"), "{e}");
    c.allow_plain_http_loopback = true;
    assert!(D1Client::new(c, signing_pair().0).is_ok());
}
