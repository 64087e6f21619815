//! TLS and mTLS for real: rustls server with WebPki client verification, reqwest clients.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use d1_sandbox::ProductionClock;
use d1_sandbox::testkit::TestPki;

fn client(pki: &TestPki, identity: Option<&TestPki>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(pki.ca_cert_pem.as_bytes()).unwrap();
    let mut b = reqwest::Client::builder().tls_certs_only([ca]);
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.client_identity_pem().as_bytes()).unwrap());
    }
    b.build().unwrap()
}

async fn start(pki: &TestPki, require_client_cert: bool) -> Env {
    let tls = pki.server_tls(require_client_cert);
    Env::start_with(move |c| c.with_clock(ProductionClock::Stepped).with_tls(tls)).await
}

#[tokio::test]
async fn mtls_refuses_a_client_without_certificate_and_serves_one_with_the_test_cert() {
    let pki = TestPki::generate();
    let mut env = start(&pki, true).await;
    assert!(
        env.sandbox
            .auth_base_url()
            .starts_with("https://127.0.0.1:")
    );
    assert!(
        env.sandbox
            .banking_base_url()
            .starts_with("https://127.0.0.1:")
    );

    // No client certificate: the handshake is refused, nothing is issued.
    env.http = client(&pki, None);
    let url = format!("{}/oauth2/token", env.sandbox.auth_base_url());
    let a = assertion(&env.keys);
    let refused = env
        .http
        .post(&url)
        .form(&[("grant_type", GRANT), ("assertion", a.as_str())])
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a client without certificate must be refused"
    );
    assert_eq!(env.sandbox.control().tokens_issued(), 0);

    // A certificate from another CA: refused too.
    let stranger = TestPki::generate();
    let mut foreign = client(&pki, Some(&stranger));
    std::mem::swap(&mut env.http, &mut foreign);
    assert!(
        env.http
            .post(&url)
            .form(&[("grant_type", GRANT), ("assertion", a.as_str())])
            .send()
            .await
            .is_err()
    );

    // The test client certificate: token, order and status all work.
    env.http = client(&pki, Some(&pki));
    let token = env.token().await;
    let card = card_id();
    let r = env.order(&token, &card, &body(&env.keys)).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(env.status(&token, &card).await.status, 200);
    assert_eq!(env.sandbox.control().tokens_issued(), 1);
}

#[tokio::test]
async fn tls_without_client_auth_and_untrusted_server_is_refused_by_the_client() {
    let pki = TestPki::generate();
    let mut env = start(&pki, false).await;
    env.http = client(&pki, None);
    env.token().await;

    // A client that trusts another CA refuses the sandbox's certificate.
    let other = TestPki::generate();
    let distrustful = client(&other, None);
    let url = format!("{}/_sandbox/counters", env.sandbox.origin());
    assert!(distrustful.get(&url).send().await.is_err());

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = url.replacen("https://", "http://", 1);
    let r = reqwest::Client::new().get(&plain).send().await;
    assert!(r.is_err() || !r.unwrap().status().is_success());
}

#[tokio::test]
async fn bad_tls_material_is_a_clear_start_error() {
    let pki = TestPki::generate();
    let mut tls = pki.server_tls(true);
    tls.cert_pem = "not a certificate".into();
    let err = d1_sandbox::Sandbox::start(d1_sandbox::SandboxConfig::training().with_tls(tls))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("tls.cert_pem"), "{err}");

    let mut tls = pki.server_tls(false);
    tls.key_pem =
        d1_sandbox::Secret::new("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    let err = d1_sandbox::Sandbox::start(d1_sandbox::SandboxConfig::training().with_tls(tls))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("tls."), "{err}");
    assert!(!err.to_string().contains("AAAA"), "{err}");
}
