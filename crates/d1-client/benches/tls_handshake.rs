//! One TLS 1.3 + mTLS handshake to the D1 sandbox on loopback, as the desk makes it to D1: a
//! fresh HTTPS client (rustls on aws-lc-rs, P-256 certificates, client certificate) connects and
//! makes one small request, so the server has checked the client certificate before the answer
//! comes back. Both ends run in this process, so the time is both sides' crypto plus loopback.
//! The clients are built before the clock starts; each is used once.
//!
//! `cargo bench -p d1-client --bench tls_handshake [-- N]` (default N = 300). Prints one line:
//! `tls_mtls_handshake: n=… median=… p95=… min=… max=…` and a `RESULT|…` line (µs) for
//! `scripts/bench-all.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{ProductionClock, Sandbox, SandboxConfig};

fn client(pki: &TestPki) -> reqwest::Client {
    let identity = reqwest::Identity::from_pem(pki.client_identity_pem().as_bytes()).unwrap();
    let ca = reqwest::Certificate::from_pem(pki.ca_cert_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(identity)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let keys = TestKeys::generate();
        let pki = TestPki::generate();
        let sandbox = Sandbox::start(
            SandboxConfig::training()
                .with_keys(&keys)
                .with_clock(ProductionClock::Stepped)
                .with_tls(pki.server_tls(true)),
        )
        .await
        .unwrap();
        // A path the sandbox answers at once (404) without touching its state.
        let url = format!("{}/bench/handshake", sandbox.origin());
        let warm = n / 10 + 5;
        let clients: Vec<reqwest::Client> = (0..n + warm).map(|_| client(&pki)).collect();
        let mut times = Vec::with_capacity(n);
        for (i, c) in clients.iter().enumerate() {
            let t = Instant::now();
            let status = c.get(&url).send().await.unwrap().status();
            let elapsed = t.elapsed();
            assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
            if i >= warm {
                times.push(elapsed);
            }
        }
        sandbox.stop().await;
        times.sort();
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        let us = |d: Duration| format!("{:.0}µs", d.as_secs_f64() * 1e6);
        println!(
            "tls_mtls_handshake: n={n} median={} p95={} min={} max={}",
            us(at(0.5)),
            us(at(0.95)),
            us(at(0.0)),
            us(at(1.0))
        );
        let raw = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "RESULT|tls_mtls_handshake|{n}|{:.1}|{:.1}|{:.1}|{:.1}",
            raw(at(0.5)),
            raw(at(0.95)),
            raw(at(0.0)),
            raw(at(1.0))
        );
    });
}
