//! The HTTP layer against a small local mock of D1 (plain HTTP on loopback): every documented
//! error body maps to its typed error, the wire format of the token request and the order, the
//! 401 refresh, timeouts and unreachable hosts. The real sandbox (HTTPS + mTLS) is covered in
//! `sandbox.rs`; this mock covers answers the sandbox never gives to a well-behaved client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::*;
use d1_client::{
    CardId, CorrelationId, D1Client, D1Config, D1Error, DetailsStatus, IssuerId, OperationStatus,
    OrderIds, OrderOutcome, PreparedOrder, RetryPolicy, UnknownReason,
};
use josekit::jwk::Jwk;

#[derive(Default)]
struct Seen {
    tokens: usize,
    form: Vec<HashMap<String, String>>,
    order_headers: Vec<HeaderMap>,
    order_bodies: Vec<Bytes>,
    auth_headers: Vec<String>,
    expires_in: u64,
}

type Shared = Arc<Mutex<Seen>>;

async fn token(State(s): State<Shared>, body: Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    let mut seen = s.lock().unwrap();
    seen.tokens += 1;
    seen.form.push(form);
    let n = seen.tokens;
    let expires_in = seen.expires_in;
    axum::Json(serde_json::json!({"access_token": format!("tok-{n}"), "expires_in": expires_in, "scope": "banking", "token_type": "Bearer"}))
        .into_response()
}

fn json(status: u16, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn order(
    State(s): State<Shared>,
    Path((_issuer, card, op)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    assert_eq!(op, "operations:production");
    {
        let mut seen = s.lock().unwrap();
        seen.auth_headers.push(
            headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string(),
        );
        seen.order_headers.push(headers);
        seen.order_bodies.push(body);
    }
    match card.as_str() {
        "c-ok" => json(202, r#"{"operationId":"op-1"}"#),
        "c-fmt" => json(
            400,
            r#"{"errorCode":"FIELD_INVALID_FORMAT","error":"persoStation"}"#,
        ),
        "c-value" => json(
            400,
            r#"{"errorCode":"FIELD_INVALID_VALUE","error":"services.issuance"}"#,
        ),
        "c-crypto" => json(400, r#"{"errorCode":"CRYPTO_ERROR"}"#),
        "c-parse" => json(
            400,
            r#"{"errorCode":"PARSING_ERROR","error":"encryptedData"}"#,
        ),
        "c-400" => json(400, "{}"),
        "c-401" => json(
            401,
            r#"{"errorCode":"AUTHORIZER_UNAUTHORIZED","error":"Unauthorized"}"#,
        ),
        "c-forbid" => json(
            403,
            r#"{"errorCode":"AUTHORIZER_FORBIDDEN","error":"not_authorized"}"#,
        ),
        "c-notallowed" => json(
            403,
            r#"{"errorCode":"OPERATION_NOT_ALLOWED","error":"cardId"}"#,
        ),
        "c-404" => json(404, r#"{"error":"issuerId not found"}"#),
        "c-500" => json(500, r#"{"errorCode":"INTERNAL_ERROR"}"#),
        "c-502" => (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").into_response(),
        "c-202-garbage" => (StatusCode::ACCEPTED, "<html>accepted</html>").into_response(),
        "c-slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(202, r#"{"operationId":"late"}"#)
        }
        _ => json(404, "{}"),
    }
}

async fn status(Path((_issuer, card)): Path<(String, String)>) -> Response {
    match card.as_str() {
        "c-ok" => json(
            200,
            r#"{"operations":[
              {"operationId":"op-0","operation":"PRODUCE","status":"FAILED","startTime":"2026-01-01T10:00:00.000Z",
               "endTime":"2026-01-01T10:01:00.000Z","cardId":"c-ok","details":{"status":"DATA_EXCEPTION","reason":"bad data"}},
              {"operationId":"op-1","operation":"PRODUCE","status":"PAUSED","startTime":"2026-01-02T10:00:00.000Z",
               "cardId":"c-ok","issuerRequestId":"r1","details":{"status":"CARD_PROD_PAUSED","reason":"lid open"}}]}"#,
        ),
        "c-html" => (StatusCode::OK, "<html>oops</html>").into_response(),
        "c-empty" => json(200, r#"{"operations":[]}"#),
        "c-slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(200, r#"{"operations":[]}"#)
        }
        _ => json(404, r#"{"error":"no operation"}"#),
    }
}

struct Mock {
    seen: Shared,
    origin: String,
}

async fn mock() -> Mock {
    mock_with_token_lifetime(900).await
}

async fn mock_with_token_lifetime(expires_in: u64) -> Mock {
    let seen: Shared = Arc::new(Mutex::new(Seen {
        expires_in,
        ..Seen::default()
    }));
    let app = Router::new()
        .route("/authz/v1/oauth2/token", post(token))
        .route(
            "/banking/v1/issuers/{issuer}/physicalCards/{card}/{op}",
            post(order),
        )
        .route(
            "/banking/v1/issuers/{issuer}/physicalCards/{card}/productionStatus",
            get(status),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Mock { seen, origin }
}

fn config(origin: &str) -> D1Config {
    let mut c = D1Config::new(
        format!("{origin}/authz/v1"),
        format!("{origin}/banking/v1"),
        IssuerId::parse("ISSUER0001").unwrap(),
    );
    c.allow_plain_http_loopback = true;
    c.read_timeout = Duration::from_millis(300);
    c.retry = RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        budget: Duration::from_millis(60),
    };
    c
}

fn client(origin: &str) -> (D1Client, Jwk) {
    let (key, public) = signing_pair();
    (D1Client::new(config(origin), key).unwrap(), public)
}

fn prepared(card_id: &str) -> PreparedOrder {
    let (enc, _) = encryption_pair();
    let ids = OrderIds {
        card_id: CardId::parse(card_id).unwrap(),
        issuer_request_id: d1_client::IssuerRequestId::generate(),
        correlation_id: CorrelationId::generate(),
    };
    PreparedOrder::prepare(
        request("BRANCH-PS-01", "DEMO_DEBIT", "VIS_163"),
        card(),
        &enc,
        ids,
    )
    .unwrap()
}

#[tokio::test]
async fn wire_format_of_token_request_and_order() {
    let m = mock().await;
    let (client, public) = client(&m.origin);
    let order = prepared("c-ok");
    let outcome = client.order_card(&order).await.unwrap();
    assert_eq!(
        outcome,
        OrderOutcome::Accepted {
            operation_id: d1_client::OperationId::parse("op-1").unwrap(),
            correlation_id: order.correlation_id().clone(),
            attempts: 1
        }
    );
    let seen = m.seen.lock().unwrap();
    // Token request: JWT-bearer grant with an ES256 assertion signed by our key.
    let form = &seen.form[0];
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let verifier = josekit::jws::ES256.verifier_from_jwk(&public).unwrap();
    let (claims, header) =
        josekit::jwt::decode_with_verifier(&form["assertion"], &verifier).unwrap();
    assert_eq!(header.key_id(), Some("sig-1"));
    assert_eq!(claims.issuer(), Some("ISSUER0001"));
    assert_eq!(claims.subject(), Some("ISSUER0001"));
    let lifetime = claims
        .expires_at()
        .unwrap()
        .duration_since(claims.issued_at().unwrap())
        .unwrap();
    assert_eq!(lifetime, Duration::from_secs(300));
    // Order: bearer token, correlation id, user agent, JSON body with the JWE.
    let h = &seen.order_headers[0];
    assert_eq!(h["authorization"], "Bearer tok-1");
    assert_eq!(h["x-correlation-id"], order.correlation_id().as_str());
    assert_eq!(
        h["user-agent"],
        concat!("IssuanceDesk/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(h["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&seen.order_bodies[0]).unwrap();
    assert_eq!(body["distributionChannel"], "INSTANT");
    assert_eq!(body["issuerRequestId"], order.issuer_request_id().as_str());
    assert_eq!(
        body["encryptedData"].as_str().unwrap().split('.').count(),
        5
    );
    assert!(body.get("state").is_none() && body.get("oldCardId").is_none());
}

#[tokio::test]
async fn every_documented_error_maps_to_its_kind() {
    let capture = Capture::default();
    let _guard = capture.install();
    let m = mock().await;
    let (client, _) = client(&m.origin);
    let mut rendered = Vec::new();
    for (card, kind) in [
        ("c-fmt", "field_invalid_format"),
        ("c-value", "field_invalid_value"),
        ("c-crypto", "crypto_error"),
        ("c-parse", "parsing_error"),
        ("c-400", "bad_request"),
        ("c-forbid", "forbidden"),
        ("c-notallowed", "operation_not_allowed"),
        ("c-404", "not_found"),
        ("c-500", "internal_error"),
        ("c-502", "unexpected_status"),
    ] {
        let order = prepared(card);
        let e = client.order_card(&order).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{card}");
        assert_eq!(e.correlation_id(), Some(order.correlation_id()), "{card}");
        assert!(e.to_string().contains(order.correlation_id().as_str()));
        assert!(!e.user_message().is_empty() && !e.what_to_do().is_empty());
        rendered.push(render(&e));
    }
    // D1's free-text detail is kept for IT but not shown in the message.
    let e = client.order_card(&prepared("c-fmt")).await.unwrap_err();
    assert_eq!(e.detail(), Some("persoStation"));
    assert!(!e.user_message().contains("persoStation"));
    assert_eq!(m.seen.lock().unwrap().tokens, 1, "one token for all orders");
    assert_eq!(
        m.seen.lock().unwrap().order_bodies.len(),
        11,
        "4xx/5xx are never retried"
    );
    assert_no_secrets(&capture, &rendered);
}

#[tokio::test]
async fn a_401_refreshes_once_then_gives_up() {
    let m = mock().await;
    let (client, _) = client(&m.origin);
    let e = client.order_card(&prepared("c-401")).await.unwrap_err();
    assert_eq!(e.kind(), "unauthorized");
    let seen = m.seen.lock().unwrap();
    assert_eq!(seen.tokens, 2, "exactly one refresh");
    assert_eq!(
        seen.auth_headers,
        ["Bearer tok-1", "Bearer tok-2"],
        "retried once with the new token"
    );
}

#[tokio::test]
async fn accepted_with_an_unreadable_body_is_an_unknown_outcome() {
    let m = mock().await;
    let (client, _) = client(&m.origin);
    let order = prepared("c-202-garbage");
    match client.order_card(&order).await.unwrap() {
        OrderOutcome::Unknown {
            card_id, reason, ..
        } => {
            assert_eq!(&card_id, order.card_id());
            assert_eq!(reason, UnknownReason::UnreadableAcceptance);
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_read_timeout_after_sending_is_unknown_and_not_resent() {
    let m = mock().await;
    let (client, _) = client(&m.origin);
    let order = prepared("c-slow");
    match client.order_card(&order).await.unwrap() {
        OrderOutcome::Unknown {
            reason,
            correlation_id,
            ..
        } => {
            assert_eq!(reason, UnknownReason::Timeout);
            assert_eq!(&correlation_id, order.correlation_id());
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(m.seen.lock().unwrap().order_bodies.len(), 1, "never resent");
    // The status call is idempotent: it is retried, then reports a timeout.
    let e = client
        .production_status(
            &CardId::parse("c-slow").unwrap(),
            &CorrelationId::generate(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "timeout");
}

#[tokio::test]
async fn production_status_picks_the_latest_and_keeps_unknown_values() {
    let m = mock().await;
    let (client, _) = client(&m.origin);
    let cid = CorrelationId::generate();
    let op = client
        .production_status(&CardId::parse("c-ok").unwrap(), &cid)
        .await
        .unwrap();
    assert_eq!(op.operation_id, "op-1");
    assert_eq!(op.status, OperationStatus::Other("PAUSED".into()));
    assert_eq!(
        op.details.status,
        DetailsStatus::Other("CARD_PROD_PAUSED".into())
    );
    assert_eq!(op.details.reason.as_deref(), Some("lid open"));
    let e = client
        .production_status(&CardId::parse("c-html").unwrap(), &cid)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_response");
    let e = client
        .production_status(&CardId::parse("c-empty").unwrap(), &cid)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "not_found");
    let e = client
        .production_status(&CardId::parse("nothing").unwrap(), &cid)
        .await
        .unwrap_err();
    assert!(matches!(e, D1Error::NotFound { .. }));
    assert!(e.what_to_do().contains("did not reach D1"));
}

#[tokio::test]
async fn an_unreachable_host_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (client, _) = client(&origin);
    let e = client.ensure_token().await.unwrap_err();
    assert!(
        matches!(e, D1Error::Connection { attempts, .. } if attempts >= 3),
        "retried within the budget: {e:?}"
    );
    let e = client.order_card(&prepared("c-ok")).await.unwrap_err();
    assert_eq!(e.kind(), "connection");
}

#[tokio::test]
async fn the_token_is_reused_until_shortly_before_it_expires() {
    // expires_in = 4 s; refreshed at most half the lifetime early, i.e. after 2 s.
    let m = mock_with_token_lifetime(4).await;
    let (client, _) = client(&m.origin);
    client.ensure_token().await.unwrap();
    client.ensure_token().await.unwrap();
    assert_eq!(m.seen.lock().unwrap().tokens, 1, "reused while fresh");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    client.ensure_token().await.unwrap();
    assert_eq!(
        m.seen.lock().unwrap().tokens,
        2,
        "refreshed before expires_in ends"
    );
    assert_eq!(client.tokens_fetched(), 2);
}

#[test]
fn the_leak_scanner_catches_a_planted_leak() {
    // Proves the canary checks above can fail: a log line with the PAN is found.
    let capture = Capture::default();
    {
        let _guard = capture.install();
        tracing::info!(pan = CANARY_PAN, "leak");
    }
    let result = std::panic::catch_unwind(|| assert_no_secrets(&capture, &[]));
    assert!(result.is_err());
    let clean = Capture::default();
    {
        let _guard = clean.install();
        tracing::info!("fine");
    }
    let result =
        std::panic::catch_unwind(|| assert_no_secrets(&clean, &[format!("card {CANARY_PAN}")]));
    assert!(result.is_err(), "an error text with the PAN is caught too");
}
