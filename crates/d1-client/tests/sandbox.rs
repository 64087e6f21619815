//! Acceptance tests against the real D1 sandbox over HTTPS with mTLS on loopback.
//!
//! Every test captures all tracing output (every target, TRACE) while it runs, plants the canary
//! PAN in its orders and checks that neither the canary nor any JOSE token appears in a log line
//! or in any rendering of an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use d1_client::{
    CardId, CorrelationId, D1Client, D1Config, D1Error, DetailsStatus, EncryptionKey, IssuerId,
    OperationStatus, OrderIds, OrderOutcome, PreparedOrder, RetryPolicy, SigningKey, UnknownReason,
};
use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{ProductionClock, Sandbox, SandboxConfig, SandboxControl, SandboxHandle};
use zeroize::Zeroizing;

struct Env {
    handle: SandboxHandle,
    control: SandboxControl,
    keys: TestKeys,
    pki: TestPki,
    enc: EncryptionKey,
    capture: Capture,
    _guard: tracing::subscriber::DefaultGuard,
}

async fn start_with(tweak: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Env {
    let capture = Capture::default();
    let guard = capture.install();
    let keys = TestKeys::generate();
    let pki = TestPki::generate();
    let config = SandboxConfig::training()
        .with_keys(&keys)
        .with_clock(ProductionClock::Stepped)
        .with_tls(pki.server_tls(true));
    let handle = Sandbox::start(tweak(config)).await.unwrap();
    let control = handle.control();
    let enc = EncryptionKey::from_jwk_value(&keys.encryption_public_jwk).unwrap();
    Env {
        handle,
        control,
        keys,
        pki,
        enc,
        capture,
        _guard: guard,
    }
}

async fn start() -> Env {
    start_with(|c| c).await
}

impl Env {
    fn config(&self) -> D1Config {
        let mut c = D1Config::new(
            self.handle.auth_base_url(),
            self.handle.banking_base_url(),
            IssuerId::parse(&self.keys.issuer_id).unwrap(),
        );
        c.client_identity = Some(d1_client::ClientIdentity::from_pem(
            &self.pki.client_cert_pem,
            &self.pki.client_key_pem,
        ));
        c.extra_ca_pem = Some(self.pki.ca_cert_pem.clone());
        c.trust_only_extra_ca = true;
        c.retry = RetryPolicy {
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            budget: Duration::from_millis(80),
        };
        c
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_jwk_json(Zeroizing::new(self.keys.signing_private_jwk.to_string()))
            .unwrap()
    }

    fn client(&self) -> D1Client {
        D1Client::new(self.config(), self.signing_key()).unwrap()
    }

    fn order(&self) -> PreparedOrder {
        self.order_for("BRANCH-PS-01", &self.enc)
    }

    fn order_for(&self, station: &str, enc: &EncryptionKey) -> PreparedOrder {
        PreparedOrder::prepare(
            request(station, "DEMO_DEBIT", "VIS_163"),
            card(),
            enc,
            OrderIds::generate(),
        )
        .unwrap()
    }

    async fn finish(self, errors: &[String]) {
        assert_no_secrets(&self.capture, errors);
        self.handle.stop().await;
    }
}

fn accepted(outcome: OrderOutcome) -> (String, u32) {
    match outcome {
        OrderOutcome::Accepted {
            operation_id,
            attempts,
            ..
        } => (operation_id.to_string(), attempts),
        other => panic!("expected Accepted, got {other:?}"),
    }
}

#[tokio::test]
async fn order_is_accepted_and_production_is_followed_to_done() {
    let env = start().await;
    let client = env.client();
    let order = env.order();
    let (operation_id, attempts) = accepted(client.order_card(&order).await.unwrap());
    assert_eq!(attempts, 1);
    let cid = CorrelationId::generate();
    let op = client
        .production_status(order.card_id(), &cid)
        .await
        .unwrap();
    assert_eq!(op.operation_id, operation_id);
    assert_eq!(op.card_id, order.card_id().as_str());
    assert_eq!(
        op.issuer_request_id.as_ref().map(|id| id.as_str()),
        Some(order.issuer_request_id().as_str())
    );
    assert_eq!(op.status, OperationStatus::Pending);
    assert_eq!(op.details.status, DetailsStatus::CardProdRequested);
    env.control.advance_production();
    let op = client
        .production_status(order.card_id(), &cid)
        .await
        .unwrap();
    assert_eq!(op.details.status, DetailsStatus::CardProdReady);
    env.control.advance_production();
    let op = client
        .production_status(order.card_id(), &cid)
        .await
        .unwrap();
    assert_eq!(op.details.status, DetailsStatus::CardProdDone);
    assert_eq!(op.status, OperationStatus::Successful);
    env.finish(&[]).await;
}

#[tokio::test]
async fn one_token_serves_many_orders_and_concurrent_callers_share_one_fetch() {
    let env = start().await;
    let client = env.client();
    for _ in 0..5 {
        accepted(client.order_card(&env.order()).await.unwrap());
    }
    client
        .production_status(&CardId::generate(), &CorrelationId::generate())
        .await
        .unwrap_err();
    assert_eq!(env.control.tokens_issued(), 1);
    assert_eq!(client.tokens_fetched(), 1);
    assert_eq!(env.control.orders_accepted(), 5);

    // A fresh client, eight orders at once: still a single token fetch.
    let client = env.client();
    let orders: Vec<PreparedOrder> = (0..8).map(|_| env.order()).collect();
    let results = futures_join(orders.iter().map(|o| client.order_card(o))).await;
    for r in results {
        accepted(r.unwrap());
    }
    assert_eq!(
        env.control.tokens_issued(),
        2,
        "one more token for the second client only"
    );
    env.finish(&[]).await;
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_order_goes_through() {
    let env = start().await;
    let client = env.client();
    accepted(client.order_card(&env.order()).await.unwrap());
    env.control.expire_tokens();
    accepted(client.order_card(&env.order()).await.unwrap());
    assert_eq!(env.control.tokens_issued(), 2);
    assert_eq!(env.control.orders_accepted(), 2);
    env.finish(&[]).await;
}

#[tokio::test]
async fn tokens_that_never_work_end_in_unauthorized_after_one_refresh() {
    let env = start_with(|mut c| {
        c.faults.token_actual_lifetime_secs = Some(0);
        c
    })
    .await;
    let client = env.client();
    let order = env.order();
    let e = client.order_card(&order).await.unwrap_err();
    assert_eq!(e.kind(), "unauthorized");
    assert_eq!(e.correlation_id(), Some(order.correlation_id()));
    assert_eq!(env.control.tokens_issued(), 2);
    let r = render(&e);
    env.finish(&[r]).await;
}

#[tokio::test]
async fn a_503_is_retried_with_the_same_card_id_and_body() {
    let env = start().await;
    let client = env.client();
    client.ensure_token().await.unwrap();
    env.control.fail_next(2, 503);
    let order = env.order();
    let (operation_id, attempts) = accepted(client.order_card(&order).await.unwrap());
    assert_eq!(attempts, 3);
    assert_eq!(env.control.orders_accepted(), 1, "one card, not three");
    let op = client
        .production_status(order.card_id(), &CorrelationId::generate())
        .await
        .unwrap();
    assert_eq!(op.operation_id, operation_id);
    assert_eq!(op.card_id, order.card_id().as_str());
    assert_eq!(
        op.issuer_request_id.as_ref().map(|id| id.as_str()),
        Some(order.issuer_request_id().as_str())
    );
    env.finish(&[]).await;
}

#[tokio::test]
async fn a_503_that_persists_and_a_500_are_reported() {
    let env = start().await;
    let client = env.client();
    client.ensure_token().await.unwrap();
    env.control.fail_next(10_000, 503);
    let e = client.order_card(&env.order()).await.unwrap_err();
    assert!(
        matches!(e, D1Error::Unavailable { attempts, endpoint: d1_client::Endpoint::Order, .. } if attempts >= 2),
        "retried until the budget ended: {e:?}"
    );
    env.control.clear_faults();
    env.control.fail_next(1, 500);
    let e2 = client.order_card(&env.order()).await.unwrap_err();
    assert_eq!(e2.kind(), "internal_error");
    assert_eq!(env.control.orders_accepted(), 0);
    let rendered = [render(&e), render(&e2)];
    env.finish(&rendered).await;
}

#[tokio::test]
async fn a_dropped_connection_after_sending_is_unknown_then_reconciled() {
    let env = start().await;
    let client = env.client();
    client.ensure_token().await.unwrap();
    env.control.drop_after_read_next(1);
    let order = env.order();
    let outcome = client.order_card(&order).await.unwrap();
    let OrderOutcome::Unknown {
        card_id,
        issuer_request_id,
        correlation_id,
        reason,
    } = outcome
    else {
        panic!("expected Unknown, got {outcome:?}");
    };
    assert_eq!(reason, UnknownReason::ConnectionLost);
    assert_eq!(&card_id, order.card_id());
    assert_eq!(&issuer_request_id, order.issuer_request_id());
    assert_eq!(&correlation_id, order.correlation_id());
    assert_eq!(
        env.control.orders_accepted(),
        1,
        "D1 got it; the client did not resend"
    );
    // Reconcile: the order exists at D1.
    let op = client
        .production_status(&card_id, &correlation_id)
        .await
        .unwrap();
    assert_eq!(
        op.issuer_request_id.as_ref().map(|id| id.as_str()),
        Some(issuer_request_id.as_str())
    );
    assert_eq!(op.details.status, DetailsStatus::CardProdRequested);
    // A blind resend of the same card would be refused by D1's duplicate guard.
    let e = client.order_card(&order).await.unwrap_err();
    assert_eq!(e.kind(), "operation_not_allowed");
    assert_eq!(env.control.orders_accepted(), 1);
    let r = render(&e);
    env.finish(&[r]).await;
}

#[tokio::test]
async fn d1_errors_from_the_sandbox_are_typed() {
    let env = start().await;
    let client = env.client();
    let mut rendered = Vec::new();
    // Unknown station: FIELD_INVALID_VALUE.
    let e = client
        .order_card(&env.order_for("NO-SUCH-STATION", &env.enc))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "field_invalid_value");
    rendered.push(render(&e));
    // Card data encrypted for another key under D1's kid: CRYPTO_ERROR.
    let other = josekit::jwe::ECDH_ES
        .generate_ec_key_pair(josekit::jwk::alg::ec::EcCurve::P256)
        .unwrap();
    let mut jwk = other.to_jwk_public_key();
    jwk.set_key_id(env.keys.encryption_kid.clone());
    let wrong = EncryptionKey::from_jwk_json(&jwk.to_string()).unwrap();
    let e = client
        .order_card(&env.order_for("BRANCH-PS-01", &wrong))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "crypto_error");
    rendered.push(render(&e));
    // No operation for this card: 404 on productionStatus.
    let e = client
        .production_status(&CardId::generate(), &CorrelationId::generate())
        .await
        .unwrap_err();
    assert!(matches!(e, D1Error::NotFound { .. }), "{e:?}");
    rendered.push(render(&e));
    // A signing key D1 does not know: the token request is refused.
    let unknown_key = signing_pair().0;
    let stranger = D1Client::new(env.config(), unknown_key).unwrap();
    let e = stranger.ensure_token().await.unwrap_err();
    assert_eq!(e.kind(), "token_rejected");
    // D1's own reason is kept for IT (`doctor` prints it).
    assert!(e.detail().is_some_and(|d| d.contains("assertion")), "{e:?}");
    rendered.push(render(&e));
    assert_eq!(env.control.orders_accepted(), 0);
    env.finish(&rendered).await;
}

#[tokio::test]
async fn production_exceptions_come_back_with_their_reason() {
    let env = start().await;
    let client = env.client();
    env.control
        .data_exception_next(1, "track 2 does not match the PAN");
    let order = env.order();
    accepted(client.order_card(&order).await.unwrap());
    env.control.advance_production();
    env.control.advance_production();
    let op = client
        .production_status(order.card_id(), &CorrelationId::generate())
        .await
        .unwrap();
    assert_eq!(op.details.status, DetailsStatus::DataException);
    assert_eq!(op.status, OperationStatus::Failed);
    assert!(op.details.reason.is_some());
    env.finish(&[]).await;
}

#[tokio::test]
async fn tls_failures_are_reported_as_tls() {
    let env = start().await;
    let mut rendered = Vec::new();
    // The server's CA is not trusted.
    let mut c = env.config();
    c.extra_ca_pem = Some(TestPki::generate().ca_cert_pem);
    let e = D1Client::new(c, env.signing_key())
        .unwrap()
        .ensure_token()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "tls", "{e:?}");
    rendered.push(render(&e));
    // No client certificate while the server requires one (mTLS).
    let mut c = env.config();
    c.client_identity = None;
    let e = D1Client::new(c, env.signing_key())
        .unwrap()
        .ensure_token()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "tls", "{e:?}");
    rendered.push(render(&e));
    assert_eq!(env.control.tokens_issued(), 0);
    env.finish(&rendered).await;
}

#[tokio::test]
async fn a_slow_d1_times_out_and_the_order_outcome_is_unknown() {
    let env = start().await;
    let mut c = env.config();
    c.read_timeout = Duration::from_millis(300);
    let client = D1Client::new(c, env.signing_key()).unwrap();
    client.ensure_token().await.unwrap();
    env.control.set_latency(Duration::from_secs(2));
    let order = env.order();
    match client.order_card(&order).await.unwrap() {
        OrderOutcome::Unknown { reason, .. } => assert_eq!(reason, UnknownReason::Timeout),
        other => panic!("expected Unknown, got {other:?}"),
    }
    let e = client
        .production_status(order.card_id(), &CorrelationId::generate())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "timeout");
    env.control.set_latency(Duration::ZERO);
    let r = render(&e);
    env.finish(&[r]).await;
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_budget() {
    let env = start().await;
    let mut config = env.config();
    config.retry = RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        budget: Duration::from_millis(2500),
    };
    let client = D1Client::new(config, env.signing_key()).unwrap();
    client.ensure_token().await.unwrap();
    // D1 asks for 1 s between attempts: a budget of 2.5 s leaves room for attempts at about
    // 0, 1, 2 and 2.5 s — four in all, where the 5–20 ms backoff alone would make a hundred.
    env.control.fail_next_retry_after(10_000, 503, 1);
    let e = client.order_card(&env.order()).await.unwrap_err();
    match e {
        D1Error::Unavailable { attempts, .. } => {
            assert!((2..=4).contains(&attempts), "{attempts} attempts")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.control.orders_received(),
        0,
        "503s answered before the order handler"
    );
    env.finish(&[]).await;
}

#[tokio::test]
async fn a_gateway_status_on_the_order_is_an_error_the_caller_must_reconcile() {
    let env = start().await;
    let client = env.client();
    client.ensure_token().await.unwrap();
    for (status, forwards) in [(502, false), (504, true)] {
        env.control.gateway_next(1, status, forwards);
        let order = env.order();
        let e = client.order_card(&order).await.unwrap_err();
        assert!(
            matches!(e, D1Error::UnexpectedStatus { status: s, endpoint: d1_client::Endpoint::Order, .. } if s == status),
            "{e:?}"
        );
        // The gateway's answer says nothing about D1: only productionStatus can tell.
        let found = client
            .production_status(order.card_id(), &CorrelationId::generate())
            .await;
        assert_eq!(found.is_ok(), forwards, "{status}: {found:?}");
    }
    assert_eq!(env.control.orders_accepted(), 1);
    env.finish(&[]).await;
}
