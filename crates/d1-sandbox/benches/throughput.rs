//! Orders per second the sandbox sustains on loopback.
//!
//! One token, then many orders with distinct cardIds, each with a real JWE made here with
//! josekit (prepared before the clock starts, so the number is the sandbox's work: HTTP, token
//! check, schema validation, ECDH-ES decryption, card checks, recording). Client and server
//! share this process and the machine's cores.
//!
//! `cargo bench -p d1-sandbox --bench throughput` (env: ORDERS=4000, CONCURRENCY=16)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{ProductionClock, Sandbox, SandboxConfig};
use josekit::jwe::{ECDH_ES, JweHeader};
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::JwtPayload;
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn jwk(v: &serde_json::Value) -> Jwk {
    Jwk::from_map(v.as_object().unwrap().clone()).unwrap()
}

fn assertion(keys: &TestKeys) -> String {
    let signer = ES256
        .signer_from_jwk(&jwk(&keys.signing_private_jwk))
        .unwrap();
    let mut header = JwsHeader::new();
    header.set_key_id(&keys.signing_kid);
    let mut p = JwtPayload::new();
    p.set_issuer(&keys.issuer_id);
    p.set_subject(&keys.issuer_id);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    p.set_claim("exp", Some(json!(now + 600))).unwrap();
    josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap()
}

fn bodies(keys: &TestKeys, n: usize) -> Vec<(String, String)> {
    let encrypter = ECDH_ES
        .encrypter_from_jwk(&jwk(&keys.encryption_public_jwk))
        .unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_key_id(&keys.encryption_kid);
    (0..n)
        .map(|i| {
            let card = json!({"pan": "4000056655665556", "exp": "4012", "name": "BENCH CARD"});
            let jwe =
                josekit::jwe::serialize_compact(card.to_string().as_bytes(), &header, &encrypter)
                    .unwrap();
            let body = json!({
                "distributionChannel": "INSTANT",
                "cardProductId": "DEMO_DEBIT",
                "persoStation": "BRANCH-PS-01",
                "issuerRequestId": format!("bench-{i}"),
                "services": {"issuance": "CREATION", "priority": "STANDARD"},
                "encryptedData": jwe,
                "paymentApplication": {"config": "VIS_163"},
                "cardDesign": {"customLines": ["BRANCH 42"]}
            });
            (format!("bench-card-{i}"), body.to_string())
        })
        .collect()
}

async fn run(label: &str, tls: Option<&TestPki>, orders: usize, concurrency: usize) {
    let keys = TestKeys::generate();
    let mut config = SandboxConfig::training()
        .with_keys(&keys)
        .with_clock(ProductionClock::Stepped);
    let mut client = reqwest::Client::builder().pool_max_idle_per_host(concurrency);
    if let Some(pki) = tls {
        config = config.with_tls(pki.server_tls(true));
        client = client
            .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_cert_pem.as_bytes()).unwrap()])
            .identity(reqwest::Identity::from_pem(pki.client_identity_pem().as_bytes()).unwrap());
    }
    let client = client.build().unwrap();
    let sandbox = Sandbox::start(config).await.unwrap();
    let token: serde_json::Value = client
        .post(format!("{}/oauth2/token", sandbox.auth_base_url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion(&keys).as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let base = format!(
        "{}/issuers/{}/physicalCards",
        sandbox.banking_base_url(),
        keys.issuer_id
    );

    let work = Arc::new(std::sync::Mutex::new(bodies(&keys, orders)));
    let mut latencies = Vec::with_capacity(orders);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (work, client, token, base) = (
            Arc::clone(&work),
            client.clone(),
            token.clone(),
            base.clone(),
        );
        tasks.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some((card, body)) = work.lock().unwrap().pop() else {
                    break;
                };
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/{card}/operations:production"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202);
                let _ = r.bytes().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        });
    }
    while let Some(lat) = tasks.join_next().await {
        latencies.extend(lat.unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(sandbox.control().orders_accepted(), orders);
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{label}: {orders} orders, concurrency {concurrency}: {:.0} orders/s (elapsed {:.2?}; latency p50 {:.2?}, p95 {:.2?}, p99 {:.2?})",
        orders as f64 / elapsed.as_secs_f64(),
        elapsed,
        pct(0.50),
        pct(0.95),
        pct(0.99),
    );
    sandbox.stop().await;
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs a tiny smoke pass.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let orders = if smoke { 50 } else { env_usize("ORDERS", 4000) };
    let concurrency = env_usize("CONCURRENCY", 16);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run("plain HTTP", None, orders, concurrency).await;
        let pki = TestPki::generate();
        run("HTTPS + mTLS", Some(&pki), orders, concurrency).await;
    });
}
